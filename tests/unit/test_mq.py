# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import mq


# -- values precedence ------------------------------------------------------------------------

@pytest.mark.parametrize("enabled, expected", [
    (("pulsar",), ["pulsar-v2"]),
    (("pulsarv3",), ["pulsar-v3"]),
    (("woodpecker",), ["woodpecker"]),
    (("kafka",), ["kafka"]),
    (("externalPulsar",), ["external-pulsar"]),
    (("externalKafka",), ["external-kafka"]),
    # first chain: externalPulsar > pulsar > woodpecker > pulsarv3
    (("externalPulsar", "pulsar", "pulsarv3"), ["external-pulsar"]),
    (("pulsar", "pulsarv3"), ["pulsar-v2"]),
    (("woodpecker", "pulsarv3"), ["woodpecker"]),
    (("pulsar", "woodpecker"), ["pulsar-v2"]),
    # second chain: externalKafka > kafka
    (("externalKafka", "kafka"), ["external-kafka"]),
    # both chains emit: two MQs
    (("pulsarv3", "kafka"), ["pulsar-v3", "kafka"]),
    (("pulsar", "externalKafka"), ["pulsar-v2", "external-kafka"]),
    ((), []),
])
def test_from_values_precedence(enabled, expected):
    assert mq.from_values(f.mq_values(*enabled)) == expected


def test_from_values_missing_keys_mean_false():
    # a 4.1.x chart has no pulsarv3 / woodpecker keys at all
    assert mq.from_values({"pulsar": {"enabled": True}, "kafka": {}}) == ["pulsar-v2"]
    assert mq.from_values({}) == []


def test_from_values_uses_go_template_truthiness():
    # --set-string pulsar.enabled=false stores the string "false", which the chart's `if` treats as true
    assert mq.from_values({"pulsar": {"enabled": "false"}, "pulsarv3": {"enabled": True}}) == ["pulsar-v2"]
    assert mq.from_values({"pulsar": {"enabled": ""}, "pulsarv3": {"enabled": True}}) == ["pulsar-v3"]
    assert mq.from_values({"pulsar": {"enabled": 0}, "kafka": {"enabled": 1}}) == ["kafka"]


# -- ConfigMap -----------------------------------------------------------------------------------

def test_top_level_blocks_keeps_duplicates():
    text = f.default_yaml(("pulsar-v3", "kafka"))
    keys = [k for k, _ in mq.top_level_blocks(text)]
    assert keys.count("mq") == 2
    mq_blocks = [value for key, value in mq.top_level_blocks(text) if key == "mq"]
    assert mq_blocks == [{"type": "pulsar"}, {"type": "kafka"}]


@pytest.mark.parametrize("kind", ["pulsar-v2", "pulsar-v3", "kafka", "woodpecker", "external-pulsar",
                                  "external-kafka"])
def test_from_configmap_single(kind):
    kinds, evidence = mq.from_configmap(f.configmap((kind,)), "rel")
    assert kinds == [kind]
    assert any("mq.type=" in e for e in evidence)


def test_from_configmap_release_name_matters():
    # the Pulsar v2 address of *another* release is an external Pulsar for this one
    kinds, _ = mq.from_configmap(f.configmap(("pulsar-v2",), release="other"), "rel")
    assert kinds == ["external-pulsar"]


def test_from_configmap_two_mq_blocks():
    kinds, evidence = mq.from_configmap(f.configmap(("pulsar-v3", "kafka")), "rel")
    assert kinds == ["pulsar-v3", "kafka"]
    assert any("2 top-level mq blocks" in e for e in evidence)


def test_from_configmap_user_yaml_overrides():
    user = "mq:\n  type: kafka\nkafka:\n  brokerList: broker.example.com:9092\n"
    kinds, evidence = mq.from_configmap(f.configmap(("pulsar-v2",), user_yaml=user), "rel")
    assert kinds == ["external-kafka"]
    assert any("user.yaml sets mq.type=kafka" in e for e in evidence)


def test_from_configmap_user_yaml_pulsar_address_override():
    user = "pulsar:\n  address: pulsar://pulsar.corp.example:6650\n"
    kinds, _ = mq.from_configmap(f.configmap(("pulsar-v2",), user_yaml=user), "rel")
    assert kinds == ["external-pulsar"]


def test_from_configmap_address_forms():
    text = "pulsar:\n  address: pulsar://rel-pulsarv3-proxy.milvus.svc.cluster.local:6650\nmq:\n  type: pulsar\n"
    assert mq.from_configmap(f.configmap(text=text), "rel")[0] == ["pulsar-v3"]


def test_from_configmap_old_message_queue_key():
    text = "pulsar:\n  address: rel-pulsar-proxy\n  port: 6650\nmessageQueue: pulsar\n"
    kinds, evidence = mq.from_configmap(f.configmap(text=text), "rel")
    assert kinds == ["pulsar-v2"]
    assert any("messageQueue=pulsar" in e for e in evidence)


def test_from_configmap_default_type_picks_pulsar_then_kafka():
    text = "pulsar:\n  address: rel-pulsar-proxy\nkafka:\n  brokerList: rel-kafka:9092\nmq:\n  type: default\n"
    assert mq.from_configmap(f.configmap(text=text), "rel")[0] == ["pulsar-v2"]
    text = "kafka:\n  brokerList: rel-kafka:9092\n"
    assert mq.from_configmap(f.configmap(text=text), "rel")[0] == ["kafka"]


def test_from_configmap_unknown():
    assert mq.from_configmap(None, "rel")[0] is None
    text = "mq:\n  type: rocksmq\n"
    kinds, evidence = mq.from_configmap(f.configmap(text=text), "rel")
    assert kinds is None
    assert any("rocksmq" in e for e in evidence)
    kinds, evidence = mq.from_configmap(f.configmap(text="etcd:\n  rootPath: x\n"), "rel")
    assert kinds is None
    kinds, evidence = mq.from_configmap(f.configmap(text="mq: [unclosed\n"), "rel")
    assert kinds is None and "cannot parse" in evidence[0]


# -- detect --------------------------------------------------------------------------------------

def _detect(mq_kind="pulsar-v2", values=None, cm=None, sts=None, override=None, uids=None):
    flags, cm_kinds, families = f.MQ_SETUPS[mq_kind]
    return mq.detect(values if values is not None else f.all_values(mq=flags),
                     cm if cm is not None else f.configmap(cm_kinds),
                     sts if sts is not None else f.mq_statefulsets(families), "rel", override=override,
                     statefulset_uids=uids)


@pytest.mark.parametrize("kind", sorted(f.MQ_SETUPS))
def test_detect_each_kind(kind):
    result = _detect(kind)
    assert result["kind"] == kind
    assert result["conflicts"] == []
    assert result["configured"] == [kind]


def test_detect_old_default_pulsar_v2_reports_statefulsets_with_uids():
    sts = f.mq_statefulsets(("pulsar",))
    uids = f.statefulset_uids(sts)
    result = _detect("pulsar-v2", sts=sts, uids=uids)
    assert result["kind"] == "pulsar-v2"
    assert result["statefulsets"] == uids
    assert len(result["statefulsets"]) == 5
    assert any("rel-pulsar-bookie" in e for e in result["evidence"])


def test_detect_two_mqs_is_a_conflict():
    result = mq.detect(f.all_values(mq=("pulsarv3", "kafka")), f.configmap(("pulsar-v3", "kafka")),
                       f.mq_statefulsets(("pulsarv3", "kafka")), "rel")
    assert result["kind"] is None
    assert any("two message queues are enabled in the helm values" in c for c in result["conflicts"])
    assert any("ConfigMap configures two" in c for c in result["conflicts"])


def test_detect_values_and_configmap_disagree():
    result = _detect("pulsar-v2", cm=f.configmap(("pulsar-v3",)), sts=f.mq_statefulsets(("pulsar", "pulsarv3")))
    assert result["kind"] is None
    assert any("helm values say pulsar-v2 but the Milvus ConfigMap says pulsar-v3" in c for c in result["conflicts"])


def test_detect_missing_statefulsets_is_a_conflict():
    result = _detect("pulsar-v2", sts=f.mq_statefulsets(()))
    assert result["kind"] is None
    assert any("no pulsar StatefulSet" in c for c in result["conflicts"])


def test_detect_extra_statefulsets_are_a_note_not_a_conflict():
    result = _detect("kafka", sts=f.mq_statefulsets(("kafka", "pulsarv3")))
    assert result["kind"] == "kafka"
    assert result["conflicts"] == []
    assert any("pulsarv3 StatefulSets exist" in n for n in result["notes"])


def test_detect_nothing_identifiable():
    result = mq.detect({}, None, {}, "rel")
    assert result["kind"] is None
    assert any("cannot be identified" in c for c in result["conflicts"])


def test_detect_without_configmap_trusts_values_and_statefulsets():
    flags, _, families = f.MQ_SETUPS["pulsar-v3"]
    result = mq.detect(f.all_values(mq=flags), None, f.mq_statefulsets(families), "rel")
    assert result["kind"] == "pulsar-v3"
    assert result["configmap"] is None


def test_override_settles_two_mqs_when_configmap_agrees():
    result = mq.detect(f.all_values(mq=("pulsarv3", "kafka")), f.configmap(("pulsar-v3", "kafka")),
                       f.mq_statefulsets(("pulsarv3", "kafka")), "rel", override="kafka")
    assert result["kind"] == "kafka"
    assert result["conflicts"] == []
    assert any("operator message_queue=kafka agrees with the ConfigMap" in e for e in result["evidence"])


def test_override_must_agree_with_configmap():
    result = _detect("pulsar-v2", override="pulsar-v3")
    assert result["kind"] is None
    assert any("message_queue=pulsar-v3 was given but the Milvus ConfigMap configures pulsar-v2" in c
               for c in result["conflicts"])


def test_override_agreeing_with_clean_detection():
    result = _detect("pulsar-v2", override="pulsar-v2")
    assert result["kind"] == "pulsar-v2" and result["conflicts"] == []


def test_override_unknown_kind_and_unverifiable():
    assert _detect("pulsar-v2", override="rabbitmq")["kind"] is None
    result = mq.detect(f.all_values(mq=("pulsar",)), None, f.mq_statefulsets(("pulsar",)), "rel",
                       override="pulsar-v2")
    assert result["kind"] is None
    assert any("cannot be checked" in c for c in result["conflicts"])


# -- pins ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, flag", [
    ("pulsar-v2", "pulsar"), ("pulsar-v3", "pulsarv3"), ("kafka", "kafka"), ("woodpecker", "woodpecker"),
    ("external-pulsar", "externalPulsar"), ("external-kafka", "externalKafka"),
])
def test_pins_sets_all_six_flags(kind, flag):
    pins = mq.pins(kind)
    assert sorted(pins) == sorted(f.MQ_FLAGS)
    assert [k for k, v in pins.items() if v["enabled"] is True] == [flag]
    assert all(v == {"enabled": False} for k, v in pins.items() if k != flag)
    # the pinned values, fed back through the chart precedence, select exactly this kind
    assert mq.from_values(pins) == [kind]


def test_pins_rejects_unknown():
    with pytest.raises(ValueError):
        mq.pins("rocksmq")


# -- verify after a hop -------------------------------------------------------------------------

METRICS = """# HELP milvus_wal_info wal info
# TYPE milvus_wal_info gauge
milvus_wal_info{channel_name="by-dev-rootcoord-dml_0",node_id="5",wal_name="pulsar"} 1
milvus_wal_info{channel_name="by-dev-rootcoord-dml_1",node_id="5",wal_name="pulsar"} 1
milvus_other{wal_name="kafka"} 1
"""


def test_parse_wal_names():
    assert mq.parse_wal_names(METRICS) == ["pulsar"]
    assert mq.parse_wal_names("") == []
    assert mq.parse_wal_names('milvus_wal_info{wal_name="kafka"} 1\nmilvus_wal_info{wal_name="pulsar"} 1') == \
        ["kafka", "pulsar"]


def _snapshot(kind, families, suffix="a"):
    sts = f.mq_statefulsets(families)
    flags, cm_kinds, _ = f.MQ_SETUPS[kind]
    return mq.detect(f.all_values(mq=flags), f.configmap(cm_kinds), sts, "rel",
                     statefulset_uids=f.statefulset_uids(sts, suffix))


def test_verify_unchanged():
    before = _snapshot("pulsar-v2", ("pulsar",))
    after = _snapshot("pulsar-v2", ("pulsar",))
    assert mq.verify(before, after) == []
    assert mq.verify(before, after, wal_names=["pulsar"]) == []


def test_verify_switch_to_pulsar_v3_is_reported():
    before = _snapshot("pulsar-v2", ("pulsar",))
    after = _snapshot("pulsar-v3", ("pulsarv3",))
    problems = mq.verify(before, after)
    assert "message queue changed: pulsar-v2 before the hop, pulsar-v3 after" in problems
    assert any("rel-pulsar-bookie existed before the hop and is gone" in p for p in problems)
    assert any("rel-pulsarv3-bookie appeared" in p for p in problems)


def test_verify_recreated_statefulset():
    before = _snapshot("pulsar-v2", ("pulsar",), suffix="a")
    after = _snapshot("pulsar-v2", ("pulsar",), suffix="b")
    problems = mq.verify(before, after)
    assert len(problems) == 5
    assert all("was recreated" in p for p in problems)


def test_verify_wal_family():
    before = _snapshot("kafka", ("kafka",))
    after = _snapshot("kafka", ("kafka",))
    assert mq.verify(before, after, wal_names=["kafka"]) == []
    assert mq.verify(before, after, wal_names=["pulsar"]) == [
        "a streaming node opened a pulsar WAL but the message queue is kafka"]
    assert mq.verify(before, after, wal_names=[]) == [
        "no streaming node reports milvus_wal_info: the WAL in use is unknown"]
    ext = _snapshot("external-pulsar", ())
    assert mq.verify(ext, ext, wal_names=["pulsar"]) == []


def test_addresses_with_user_info_name_their_host():
    text = "mq:\n  type: pulsar\npulsar:\n  address: pulsar://ops:p@ss@rel-pulsar-proxy.milvus.svc:6650\n"
    assert mq.from_configmap(f.configmap(text=text), "rel")[0] == ["pulsar-v2"]
    text = "mq:\n  type: kafka\nkafka:\n  brokerList: u:pw@rel-kafka:9092\n"
    assert mq.from_configmap(f.configmap(text=text), "rel")[0] == ["kafka"]

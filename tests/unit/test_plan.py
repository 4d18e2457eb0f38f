# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import copy

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import mq
from ansible_collections.milvusops.cluster.plugins.module_utils.plan import (
    describe, flatten_values, merge_values, plan, show_value, values_already_applied)

V2_PINS = {"pulsar": {"enabled": True}, "pulsarv3": {"enabled": False}, "kafka": {"enabled": False},
           "woodpecker": {"enabled": False}, "externalPulsar": {"enabled": False},
           "externalKafka": {"enabled": False}}
COORD_FLAGS = {"mixCoordinator": {"enabled": True}, "rootCoordinator": {"enabled": False},
               "queryCoordinator": {"enabled": False}, "dataCoordinator": {"enabled": False},
               "indexCoordinator": {"enabled": False}}


def hop_names(result):
    return [h["name"] for h in result["hops"]]


def has(messages, *words):
    return any(all(w in m for w in words) for m in messages)


# -- acceptance scenarios of issue 2 ------------------------------------------------------------

@pytest.mark.parametrize("ordered", [False, True], ids=["all-at-once", "ordered"])
def test_2_5_10_separate_old_default_pulsar_v2_two_hops_both_pinning_v2(ordered):
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20", user_values={})
    result = plan(observed, {"ordered_rollout": ordered})
    assert result["blockers"] == []
    assert result["running_version"] == "2.5.10"
    assert result["coordinator_mode"] == "separate"
    assert result["message_queue"]["kind"] == "pulsar-v2"
    assert hop_names(result) == ["mixcoord", "streaming"]
    hop1, hop2 = result["hops"]
    assert hop1["chart_version"] == "4.2.58"
    assert hop1["image_tag"] == "v2.5.16"
    expected1 = {"image": {"all": {"repository": "milvusdb/milvus", "tag": "v2.5.16"}},
                 "streaming": {"enabled": False}, "indexNode": {"enabled": True}}
    expected1.update(COORD_FLAGS)
    expected1.update(V2_PINS)
    assert hop1["values"] == expected1
    assert hop1["expected_components"] == ["datanode", "indexnode", "mixcoord", "proxy", "querynode"]
    assert set(hop1["removed_components"]) >= {"rootcoord", "querycoord", "datacoord", "indexcoord"}
    assert hop2["chart_version"] == "5.0.0"
    assert hop2["image_tag"] == "v2.6.4"
    expected2 = {"image": {"all": {"repository": "milvusdb/milvus", "tag": "v2.6.4"}},
                 "streaming": {"enabled": True}, "indexNode": {"enabled": False}}
    expected2.update(COORD_FLAGS)
    expected2.update(V2_PINS)
    assert hop2["expected_components"] == ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
    assert result["up_to_date"] is False
    assert hop1["resume_order"] == [] and hop1["kept_components"] == []
    # one hop 2 either way: its values remove the index node
    assert hop2["values"] == expected2
    assert "indexnode" in hop2["removed_components"] and "indexnode" not in hop2["expected_components"]
    if not ordered:
        assert hop2["resume_order"] == [] and hop2["kept_components"] == []
        return
    # ordered: the index node, there after hop 1, is kept on 2.5 until the rest rolled out
    assert hop2["resume_order"] == ["mixcoord", "streamingnode", "querynode", "datanode", "proxy"]
    assert hop2["kept_components"] == ["indexnode"]


def test_2_5_14_mixcoord_pulsar_v3_image_only_hop1_then_hop2():
    observed = f.observed("v2.5.14", "mixcoord", "pulsar-v3", chart="4.2.50")
    result = plan(observed)
    assert result["blockers"] == []
    assert result["coordinator_mode"] == "mixcoord"
    assert hop_names(result) == ["mixcoord", "streaming"]
    hop1 = result["hops"][0]
    assert hop1["image_tag"] == "v2.5.16"
    assert hop1["chart_version"] == "4.2.58"
    # nothing changes but the image: the coordinator flags and the MQ equal what runs
    assert hop1["values"]["pulsarv3"] == {"enabled": True}
    assert hop1["values"]["pulsar"] == {"enabled": False}
    assert hop1["values"]["mixCoordinator"] == {"enabled": True}
    assert mq.from_values(hop1["values"]) == ["pulsar-v3"]
    assert mq.from_values(result["hops"][1]["values"]) == ["pulsar-v3"]
    assert not has(result["warnings"], "short coordinator outage")


def test_2_5_16_mixcoord_gets_hop2_only():
    result = plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58"))
    assert result["blockers"] == []
    assert hop_names(result) == ["streaming"]
    assert result["hops"][0]["image_tag"] == "v2.6.4"


def test_2_5_18_separate_hop1_keeps_its_own_tag():
    result = plan(f.observed("v2.5.18", "separate", "pulsar-v3", chart="4.2.62"))
    assert hop_names(result) == ["mixcoord", "streaming"]
    hop1 = result["hops"][0]
    assert hop1["image_tag"] == "v2.5.18"
    # chart is the higher of the current and the intermediate chart
    assert hop1["chart_version"] == "4.2.62"


def test_2_5_18_mixcoord_needs_no_hop1():
    result = plan(f.observed("v2.5.18", "mixcoord", "pulsar-v3", chart="4.2.62"))
    assert hop_names(result) == ["streaming"]


def test_hop1_chart_never_goes_below_the_current_chart():
    result = plan(f.observed("v2.5.10", "separate", "pulsar-v3", chart="4.2.60"))
    assert result["hops"][0]["chart_version"] == "4.2.60"
    result = plan(f.observed("v2.5.10", "separate", "pulsar-v3", chart="4.2.9"))
    assert result["hops"][0]["chart_version"] == "4.2.58"


def test_2_6_0_rc1_is_blocked_pointing_to_issue_43538():
    result = plan(f.observed("v2.6.0-rc1", "mixcoord", "pulsar-v3", chart="5.0.0"))
    assert result["hops"] == []
    assert result["up_to_date"] is False
    assert has(result["blockers"], "prod-eu-1", "v2.6.0-rc1", "43538", "3112808997",
               "repair wal-recovery-storage")


def test_2_6_0_rc1_gpu_is_blocked_too():
    result = plan(f.observed("v2.6.0-rc1-gpu", "mixcoord", "pulsar-v3", chart="5.0.0"))
    assert has(result["blockers"], "43538")


def test_other_prerelease_is_blocked():
    result = plan(f.observed("v2.5.0-beta", "mixcoord", "pulsar-v3", chart="4.2.27"))
    assert has(result["blockers"], "pre-release")


@pytest.mark.parametrize("version", ["v2.4.17", "v2.3.21", "v1.1.0"])
def test_below_2_5_is_blocked(version):
    result = plan(f.observed(version, "separate", "pulsar-v2", chart="4.1.36"))
    assert result["hops"] == []
    assert has(result["blockers"], "prod-eu-1", version, "below 2.5.0", "2.5.x first")


def test_pending_upgrade_is_blocked_with_rollback_remedy():
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", status="pending-upgrade",
                          previous=[("superseded", "4.2.10", "2.4.5", "Install complete"),
                                    ("deployed", "4.2.20", "2.4.16", "Upgrade complete")])
    result = plan(observed)
    assert result["hops"] == []
    assert has(result["blockers"], "prod-eu-1", "pending-upgrade", "revision 3", "helm history rel -n milvus",
               "helm rollback rel 2 -n milvus")


@pytest.mark.parametrize("status", ["pending-install", "pending-rollback"])
def test_other_pending_states_are_blocked(status):
    result = plan(f.observed(status=status))
    assert has(result["blockers"], status, "helm history")


def test_rollback_hint_falls_back_to_superseded():
    observed = f.observed(status="pending-upgrade",
                          previous=[("superseded", "4.2.10", "2.4.5", "Install complete"),
                                    ("superseded", "4.2.20", "2.4.16", "Upgrade complete")])
    assert has(plan(observed)["blockers"], "helm rollback rel 2 -n milvus")


def test_failed_revision_of_ours_is_resumable_with_warning():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v2", chart="4.2.58", status="failed",
                          description="milvusops.cluster: hop streaming to chart 5.0.0 image v2.6.4",
                          previous=[("deployed", "4.2.58", "2.5.16", "Upgrade complete")])
    result = plan(observed)
    assert result["blockers"] == []
    assert hop_names(result) == ["streaming"]
    assert has(result["warnings"], "revision 2 failed during a hop of this collection", "re-applies")


def test_failed_revision_of_someone_else_is_blocked():
    observed = f.observed(status="failed", description="Upgrade \"rel\" failed: timed out waiting",
                          previous=[("deployed", "4.2.20", "2.4.16", "Install complete")])
    result = plan(observed)
    assert has(result["blockers"], "prod-eu-1", "failed", "not made by milvusops.cluster", "helm rollback rel 1")


@pytest.mark.parametrize("status", ["uninstalling", "superseded", "unknown"])
def test_other_states_are_blocked(status):
    assert has(plan(f.observed(status=status))["blockers"], "not deployed")


def test_non_semver_tag_is_blocked():
    observed = f.observed("latest", "separate", "pulsar-v2")
    result = plan(observed)
    assert result["hops"] == []
    assert has(result["blockers"], "prod-eu-1", "milvusdb/milvus:latest", "no semantic version", "source_version")


def test_digest_image_is_blocked():
    observed = f.observed("v2.5.10", "mixcoord", "pulsar-v3",
                          images={"proxy": "milvusdb/milvus@sha256:" + "b" * 64})
    assert has(plan(observed)["blockers"], "sha256", "source_version")


def test_non_semver_tag_with_source_version_plans():
    observed = f.observed("master-20250101-abcdef0", "separate", "pulsar-v2")
    result = plan(observed, {"source_version": "v2.5.10"})
    assert result["blockers"] == []
    assert result["running_version"] == "2.5.10"
    assert hop_names(result) == ["mixcoord", "streaming"]
    assert result["hops"][0]["image_tag"] == "v2.5.16"
    assert has(result["warnings"], "planning from source_version v2.5.10")


def test_invalid_source_version_is_blocked():
    observed = f.observed("custom-build", "separate", "pulsar-v2")
    assert has(plan(observed, {"source_version": "2.5"})["blockers"], "source_version")


def test_two_mqs_are_blocked():
    observed = f.observed("v2.5.10", "separate", (("pulsarv3", "kafka"), ("pulsar-v3", "kafka"),
                                                  ("pulsarv3", "kafka")))
    result = plan(observed)
    assert result["hops"] == []
    assert result["message_queue"]["kind"] is None
    assert has(result["blockers"], "prod-eu-1", "two message queues", "message_queue")


def test_two_mqs_settled_by_override_agreeing_with_configmap():
    observed = f.observed("v2.5.16", "mixcoord", (("pulsarv3", "kafka"), ("pulsar-v3", "kafka"),
                                                  ("pulsarv3", "kafka")))
    result = plan(observed, {"message_queue": "kafka"})
    assert result["blockers"] == []
    assert result["message_queue"]["kind"] == "kafka"
    assert mq.from_values(result["hops"][0]["values"]) == ["kafka"]


def test_override_disagreeing_with_configmap_is_blocked():
    result = plan(f.observed("v2.5.16", "mixcoord", "pulsar-v2"), {"message_queue": "pulsar-v3"})
    assert has(result["blockers"], "message_queue=pulsar-v3", "ConfigMap")


def test_mq_evidence_disagreeing_is_blocked():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v2")
    observed["configmap"] = f.configmap(("pulsar-v3",))
    assert has(plan(observed)["blockers"], "helm values say pulsar-v2 but the Milvus ConfigMap says pulsar-v3")


def test_unknown_mq_is_blocked():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v2")
    observed["all_values"] = {}
    observed["configmap"] = f.configmap(text="etcd:\n  rootPath: by-dev\n")
    assert has(plan(observed)["blockers"], "cannot be identified")


def test_2_6_2_gets_hop2_only():
    result = plan(f.observed("v2.6.2", "streaming", "pulsar-v3", chart="5.0.0"))
    assert result["blockers"] == []
    assert hop_names(result) == ["streaming"]   # no index node to hold: no last step
    assert result["hops"][0]["image_tag"] == "v2.6.4"
    assert result["hops"][0]["chart_version"] == "5.0.0"
    assert result["hops"][0]["values"]["streaming"] == {"enabled": True}


def test_hop2_never_downgrades_the_chart():
    result = plan(f.observed("v2.6.2", "streaming", "pulsar-v3", chart="5.0.3"))
    assert result["blockers"] == []
    assert result["hops"][0]["chart_version"] == "5.0.3"
    assert result["hops"][0]["image_tag"] == "v2.6.4"
    assert has(result["warnings"], "keeps the release's chart 5.0.3", "never a chart downgrade")


@pytest.mark.parametrize("version, chart", [("v2.6.4", "5.0.6"), ("v2.6.9", "5.0.12")])
def test_at_or_above_target_is_up_to_date(version, chart):
    result = plan(f.observed(version, "streaming", "pulsar-v3", chart=chart))
    assert result["blockers"] == []
    assert result["hops"] == []
    assert result["up_to_date"] is True


def test_above_target_is_never_a_downgrade():
    result = plan(f.observed("v2.6.9", "streaming", "pulsar-v3", chart="5.0.12"))
    assert has(result["warnings"], "newer than the target", "never a downgrade")


def test_later_target_uses_same_logic():
    options = {"target_version": "v2.6.15", "target_chart": "5.0.19"}
    result = plan(f.observed("v2.6.9", "streaming", "pulsar-v3", chart="5.0.12"), options)
    assert hop_names(result) == ["streaming"]
    assert result["hops"][0]["image_tag"] == "v2.6.15"
    assert result["hops"][0]["chart_version"] == "5.0.19"
    assert not has(result["warnings"], "upgrade bugs fixed later")


def test_gpu_suffix_and_private_registry_preserved():
    repo = "registry.corp.example:5000/mirror/milvusdb/milvus"
    result = plan(f.observed("v2.5.10-gpu", "separate", "pulsar-v2", repository=repo))
    assert result["blockers"] == []
    assert result["image"] == {"repository": repo, "tag": "v2.5.10-gpu", "suffix": "-gpu"}
    hop1, hop2 = result["hops"]
    assert hop1["values"]["image"]["all"] == {"repository": repo, "tag": "v2.5.16-gpu"}
    assert hop2["values"]["image"]["all"] == {"repository": repo, "tag": "v2.6.4-gpu"}
    assert hop2["image"] == repo + ":v2.6.4-gpu"


def test_tag_without_v_prefix_keeps_its_style():
    result = plan(f.observed("2.5.16", "mixcoord", "pulsar-v3"))
    assert result["hops"][0]["image_tag"] == "2.6.4"


def test_explicit_target_suffix_wins():
    result = plan(f.observed("v2.5.16-gpu", "mixcoord", "pulsar-v3"), {"target_version": "v2.6.4-cuda12"})
    assert result["hops"][0]["image_tag"] == "v2.6.4-cuda12"


@pytest.mark.parametrize("kind, flag", [("kafka", "kafka"), ("external-pulsar", "externalPulsar"),
                                        ("external-kafka", "externalKafka"), ("pulsar-v3", "pulsarv3")])
def test_mq_pins_in_every_hop(kind, flag):
    result = plan(f.observed("v2.5.10", "separate", kind))
    assert result["blockers"] == []
    assert result["message_queue"]["kind"] == kind
    assert len(result["hops"]) == 2
    for hop in result["hops"]:
        enabled = sorted(k for k in f.MQ_FLAGS if hop["values"][k]["enabled"])
        assert enabled == [flag]
        assert all(hop["values"][k] == {"enabled": False} for k in f.MQ_FLAGS if k != flag)
    assert result["message_queue"]["pins"] == mq.pins(kind)


def test_kafka_warns_about_retention():
    result = plan(f.observed("v2.5.16", "mixcoord", "kafka"))
    assert has(result["warnings"], "retention", "47802")


def test_pulsar_does_not_warn_about_kafka_retention():
    assert not has(plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3"))["warnings"], "47802")


# -- versions from containers ------------------------------------------------------------------

def test_interrupted_hop_plans_from_lowest_with_warning():
    observed = f.observed("v2.5.16", "streaming", "pulsar-v3", chart="5.0.0",
                          images={"proxy": "milvusdb/milvus:v2.6.4", "mixcoord": "milvusdb/milvus:v2.6.4"})
    result = plan(observed)
    assert result["running_version"] == "2.5.16"
    assert hop_names(result) == ["streaming"]
    assert has(result["warnings"], "different versions", "lowest", "v2.5.16")


def test_pods_on_an_older_image_than_the_deployment_count():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3")
    for pod in observed["pods"]:
        if pod["metadata"]["labels"]["component"] == "querynode":
            pod["spec"]["containers"][0]["image"] = "milvusdb/milvus:v2.5.14"
    result = plan(observed)
    assert result["running_version"] == "2.5.14"
    assert hop_names(result) == ["mixcoord", "streaming"]


def test_sidecar_and_init_containers_are_ignored():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3")
    for pod in observed["pods"]:
        pod["spec"]["containers"].append({"name": "istio-proxy", "image": "istio/proxyv2:1.20.0"})
    result = plan(observed)
    assert result["blockers"] == []
    assert result["running_version"] == "2.5.16"


def test_pulsar_proxy_pods_are_not_milvus():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v2")
    observed["pods"].append({"kind": "Pod", "metadata": {"name": "rel-pulsar-proxy-0", "labels": {
        "app": "pulsar", "release": "rel", "component": "proxy"}},
        "spec": {"containers": [{"name": "rel-pulsar-proxy", "image": "apachepulsar/pulsar:2.9.5"}]}})
    result = plan(observed)
    assert result["blockers"] == []
    assert result["running_version"] == "2.5.16"


def test_mixed_repositories_are_blocked():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3", images={"proxy": "other/milvus:v2.5.16"})
    assert has(plan(observed)["blockers"], "different image repositories", "other/milvus")


def test_mixed_suffixes_are_blocked():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3", images={"querynode": "milvusdb/milvus:v2.5.16-gpu"})
    assert has(plan(observed)["blockers"], "different suffixes")


def test_no_milvus_workloads_is_blocked():
    observed = f.observed()
    observed["deployments"] = []
    observed["pods"] = []
    assert has(plan(observed)["blockers"], "no Milvus Deployment or pod")


def test_standalone_is_blocked():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3")
    observed["deployments"] = [f.deployment("standalone", image="milvusdb/milvus:v2.5.16")]
    observed["pods"] = []
    assert has(plan(observed)["blockers"], "standalone")


# -- coordinator mode ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode, expected", [("separate", "separate"), ("mixcoord", "mixcoord"),
                                            ("mixed", "mixed"), ("streaming", "mixcoord")])
def test_coordinator_mode(mode, expected):
    result = plan(f.observed("v2.5.16", mode, "pulsar-v3"))
    assert result["coordinator_mode"] == expected
    assert result["components"] == sorted(f.COMPONENTS[mode])


def test_coordinator_mode_none():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3")
    observed["deployments"] = [d for d in observed["deployments"] if d["metadata"]["labels"]["component"] != "mixcoord"]
    result = plan(observed)
    assert result["coordinator_mode"] == "none"
    assert has(result["warnings"], "no coordinator Deployment")


def test_2_5_16_with_a_leftover_separate_coordinator_gets_hop1():
    result = plan(f.observed("v2.5.16", "mixed", "pulsar-v3"))
    assert hop_names(result) == ["mixcoord", "streaming"]
    assert result["hops"][0]["image_tag"] == "v2.5.16"
    assert has(result["warnings"], "interrupted hop 1")


def test_2_6_with_separate_coordinators_gets_hop2_that_removes_them():
    result = plan(f.observed("v2.6.2", "separate", "pulsar-v3", chart="5.0.0"))
    assert hop_names(result) == ["streaming"]
    assert result["hops"][0]["values"]["rootCoordinator"] == {"enabled": False}
    assert has(result["warnings"], "separate coordinators", "hop 2 removes them")


def test_up_to_date_with_leftovers_warns():
    result = plan(f.observed("v2.6.4", "separate", "pulsar-v3", chart="5.0.6"))
    assert result["up_to_date"] is True
    assert has(result["warnings"], "rootcoord", "indexnode")


def test_hop1_on_a_2_6_chart_keeps_streaming_off():
    result = plan(f.observed("v2.5.14", "mixcoord", "pulsar-v3", chart="5.0.0"))
    assert result["blockers"] == []
    hop1 = result["hops"][0]
    assert hop1["chart_version"] == "5.0.0"
    assert hop1["values"]["streaming"] == {"enabled": False}
    assert hop1["values"]["indexNode"] == {"enabled": True}
    assert has(result["warnings"], "2.6 chart")


# -- tools, release ------------------------------------------------------------------------------

def test_helm_too_old():
    result = plan(f.observed(helm_version="3.13.3"))
    assert result["hops"] == []
    assert has(result["blockers"], "prod-eu-1", "helm 3.13.3", "3.14.0", "reset-then-reuse-values")


def test_helm_with_build_metadata_is_fine():
    assert plan(f.observed(helm_version="v3.17.3+ge4da497"))["blockers"] == []


def test_kube_too_old_and_vendor_versions():
    assert has(plan(f.observed(kube_version="1.19.16"))["blockers"], "Kubernetes 1.19.16", "1.20.0")
    assert plan(f.observed(kube_version="1.29.3-eks-adc7111"))["blockers"] == []
    assert plan(f.observed(kube_version="v1.30.1+k3s1"))["blockers"] == []


def test_unreadable_tool_versions_are_blocked():
    result = plan(f.observed(helm_version="", kube_version="garbage"))
    assert has(result["blockers"], "helm version", "cannot be read")
    assert has(result["blockers"], "Kubernetes version", "cannot be read")


def test_minimums_are_options():
    assert has(plan(f.observed(helm_version="3.17.3"), {"min_helm_version": "3.18.0"})["blockers"], "3.18.0")


def test_release_not_found():
    observed = f.observed()
    observed["release"] = None
    observed["release_name"] = "vectors"
    observed["namespace"] = "ai"
    result = plan(observed)
    assert result["hops"] == [] and result["up_to_date"] is False
    assert has(result["blockers"], "prod-eu-1", "release vectors in namespace ai", "not found", "helm list -A")


def test_not_a_milvus_chart():
    result = plan(f.observed(chart_name="postgresql"))
    assert has(result["blockers"], "prod-eu-1", "'postgresql'", "not the Milvus chart")


def test_every_blocker_names_the_cluster():
    observed = f.observed("v2.4.17", helm_version="3.12.0", status="pending-upgrade", cluster="edge-7")
    result = plan(observed)
    assert len(result["blockers"]) >= 3
    assert all(b.startswith("cluster edge-7: release rel in namespace milvus: ") for b in result["blockers"])


def test_invalid_options_are_blocked():
    assert has(plan(f.observed(), {"target_version": "v2.5.20"})["blockers"], "target_version", "2.6.x")
    assert has(plan(f.observed(), {"intermediate_version": "v2.5.10"})["blockers"], "at least 2.5.16")
    assert has(plan(f.observed(), {"target_chart": "4.2.58"})["blockers"], "target_chart")
    assert has(plan(f.observed(), {"intermediate_chart": "5.0.0"})["blockers"], "intermediate_chart")
    assert has(plan(f.observed(), {"target_version": "latest"})["blockers"], "invalid upgrade option")


def test_options_none_values_fall_back_to_defaults():
    result = plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3"), {"target_version": None, "source_version": None})
    assert result["hops"][0]["image_tag"] == "v2.6.4"


def test_observed_is_not_mutated():
    observed = f.observed()
    before = copy.deepcopy(observed)
    plan(observed)
    assert observed == before


# -- warnings ------------------------------------------------------------------------------------

def test_warns_below_2_5_22():
    result = plan(f.observed("v2.5.10", "separate", "pulsar-v2"))
    assert has(result["warnings"], "2.5.16", "2.5.22", "data-loss", "2.5.21", "CVE")
    result = plan(f.observed("v2.5.10", "separate", "pulsar-v2"),
                  {"intermediate_version": "v2.5.22", "intermediate_chart": "4.2.60"})
    assert not has(result["warnings"], "data-loss")
    assert result["hops"][0]["image_tag"] == "v2.5.22"


def test_warns_about_later_2_6_fixes_for_2_6_4():
    result = plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3"))
    assert has(result["warnings"], "2.6.4", "2.6.6", "2.6.7", "2.6.11", "47693", "2.6.13")
    result = plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3"), {"target_version": "v2.6.11",
                                                                    "target_chart": "5.0.15"})
    assert has(result["warnings"], "2.6.13")
    assert not has(result["warnings"], "2.6.7 fixes")


def test_warns_hop2_is_a_maintenance_window():
    assert has(plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3"))["warnings"], "maintenance window", "writes")
    assert not has(plan(f.observed("v2.6.4", "streaming", "pulsar-v3", chart="5.0.6"))["warnings"],
                   "maintenance window")


def test_warns_4_1_pulsar_init_jobs():
    result = plan(f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.1.36"))
    assert has(result["warnings"], "4.1.36", "immutable", "rel-pulsar-bookie-init", "rel-pulsar-pulsar-init")
    assert not has(plan(f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20"))["warnings"], "immutable")


def test_warns_coordinator_outage_for_separate():
    assert has(plan(f.observed("v2.5.10", "separate", "pulsar-v2"))["warnings"], "coordinator outage")


def test_no_warnings_when_up_to_date():
    result = plan(f.observed("v2.6.4", "streaming", "pulsar-v3", chart="5.0.6"))
    assert result["warnings"] == []


# -- values helpers ------------------------------------------------------------------------------

def test_values_already_applied():
    hop = {"image": {"all": {"tag": "v2.6.4"}}, "streaming": {"enabled": True}}
    assert values_already_applied({"image": {"all": {"tag": "v2.6.4", "repository": "x"}},
                                   "streaming": {"enabled": True}, "other": 1}, hop)
    assert not values_already_applied({"image": {"all": {"tag": "v2.5.16"}}, "streaming": {"enabled": True}}, hop)
    assert not values_already_applied({"image": {"all": {"tag": "v2.6.4"}}}, hop)
    assert not values_already_applied({"image": {"all": {"tag": "v2.6.4"}}, "streaming": {"enabled": "true"}}, hop)
    assert not values_already_applied({"image": "v2.6.4", "streaming": {"enabled": True}}, hop)
    assert not values_already_applied({}, hop)
    assert values_already_applied({}, {})


def test_values_already_applied_after_merge_of_a_planned_hop():
    result = plan(f.observed("v2.5.10", "separate", "pulsar-v2", user_values={}))
    hop1 = result["hops"][0]
    stored = merge_values({"image": {"all": {"tag": "v2.5.10"}}, "proxy": {"replicas": 2}}, hop1["values"])
    assert values_already_applied(stored, hop1["values"])
    assert stored["proxy"] == {"replicas": 2}
    assert not values_already_applied(stored, result["hops"][1]["values"])


def test_merge_values_does_not_mutate():
    base = {"a": {"b": 1}}
    merged = merge_values(base, {"a": {"c": 2}})
    assert merged == {"a": {"b": 1, "c": 2}}
    assert base == {"a": {"b": 1}}


def test_flatten_values():
    flat = flatten_values({"image": {"all": {"tag": "v2.6.4"}}, "extraConfigFiles": {"user.yaml": "x"},
                           "list": [{"a": 1}, 2], "empty": {}, "none": None})
    assert flat == {"image.all.tag": "v2.6.4", "extraConfigFiles.user\\.yaml": "x", "list[0].a": 1, "list[1]": 2,
                    "empty": {}, "none": None}


def test_build_plan_is_plan():
    from ansible_collections.milvusops.cluster.plugins.module_utils.plan import build_plan
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3")
    assert build_plan(observed, {"message_queue": "", "source_version": ""}) == plan(observed)


# -- where the chart puts things: the evidence a hop will be verified with must exist before it -------

from ansible_collections.milvusops.cluster.plugins.module_utils.names import release_layout  # noqa: E402


def _custom_configmap(observed, name="ops-config"):
    observed["all_values"]["customConfigMap"] = name
    observed["layout"] = release_layout("rel", observed["all_values"])
    for dep in observed["deployments"]:
        dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] = name
    observed["configmap"]["metadata"]["name"] = name
    return observed


def test_custom_configmap_is_planned_and_the_layout_returned():
    result = plan(_custom_configmap(f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58")))
    assert result["blockers"] == []
    assert hop_names(result) == ["streaming"]
    assert result["layout"] == {"fullname": "rel-milvus", "name": "milvus", "configmap": "ops-config",
                                "custom_configmap": True}


def test_missing_configmap_blocks_before_any_hop():
    # values, StatefulSets and the running version all agree: today's detection would pass, and the wait after the
    # hop would then find no ConfigMap and call the queue changed. It must fail now, with nothing changed.
    observed = _custom_configmap(f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58"))
    observed["configmap"] = None
    result = plan(observed)
    assert result["hops"] == []
    assert has(result["blockers"], "customConfigMap ops-config", "was not found",
               "could not be verified after a hop", "nothing was changed")


def test_configmap_naming_no_queue_blocks_before_any_hop():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58")
    observed["configmap"] = f.configmap(text="etcd:\n  rootPath: by-dev\n")
    result = plan(observed)
    assert result["hops"] == []
    assert has(result["blockers"], "the chart's ConfigMap rel-milvus", "does not say which message queue",
               "could not be verified after a hop")


def test_configmap_the_pods_do_not_mount_blocks():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58")
    observed["all_values"]["customConfigMap"] = "ops-config"   # stored, but the Deployments still mount rel-milvus
    observed["layout"] = release_layout("rel", observed["all_values"])
    observed["configmap"]["metadata"]["name"] = "ops-config"
    result = plan(observed)
    assert result["hops"] == []
    assert has(result["blockers"], "ops-config (customConfigMap)", "rel-milvus-proxy mounts rel-milvus",
               "not the one Milvus reads")


def test_name_override_release_is_read_through_its_own_chart_name():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58")
    for obj in observed["deployments"] + observed["pods"]:
        obj["metadata"]["labels"]["app.kubernetes.io/name"] = "vdb"
    observed["all_values"]["nameOverride"] = "vdb"
    for dep in observed["deployments"]:
        dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] = "rel-vdb"
    observed["configmap"]["metadata"]["name"] = "rel-vdb"
    observed["layout"] = release_layout("rel", observed["all_values"])
    result = plan(observed)
    assert result["blockers"] == [] and hop_names(result) == ["streaming"]
    assert result["components"] == ["datanode", "indexnode", "mixcoord", "proxy", "querynode"]
    assert result["running_version"] == "2.5.16"
    # read with the default chart name, the same objects are not Milvus': that was the refusal
    observed["layout"] = release_layout("rel", {})
    assert has(plan(observed)["blockers"], "no Milvus Deployment or pod", "app.kubernetes.io/name=milvus")


# -- the summary says what really happens ---------------------------------------------------------

def _plan_result(components, hops, warnings=()):
    return {"cluster": "c1", "release": "rel", "namespace": "milvus", "running_version": "2.5.16",
            "image": {"tag": "v2.5.16"}, "chart_version": "4.2.58", "coordinator_mode": "mixcoord",
            "message_queue": {"kind": "pulsar-v3"}, "blockers": [], "up_to_date": False,
            "components": components, "hops": hops, "warnings": list(warnings)}


def _hop(name, expected, removed, values=None):
    return {"name": name, "chart_version": "5.0.0", "image_tag": "v2.6.4", "expected_components": expected,
            "removed_components": removed, "values": values or {}}


def test_summary_lists_only_components_a_hop_really_adds_and_removes():
    hop2 = _hop("streaming", ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"],
                ["indexnode", "streamingnode-old"])
    lines = describe(_plan_result(["datanode", "indexnode", "mixcoord", "proxy", "querynode"], [hop2]))
    assert "hop 1 (streaming): chart 5.0.0, image v2.6.4; adds streamingnode; removes indexnode" in lines


def test_summary_of_two_hops_counts_hop_1_as_done_for_hop_2():
    hop1 = _hop("mixcoord", ["datanode", "indexnode", "mixcoord", "proxy", "querynode"],
                ["datacoord", "indexcoord", "querycoord", "rootcoord"])
    hop2 = _hop("streaming", ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"], ["indexnode"])
    running = ["datacoord", "datanode", "indexcoord", "indexnode", "proxy", "querycoord", "querynode", "rootcoord"]
    lines = describe(_plan_result(running, [hop1, hop2]))
    assert ("hop 1 (mixcoord): chart 5.0.0, image v2.6.4; adds mixcoord; "
            "removes datacoord, indexcoord, querycoord, rootcoord") in lines
    assert "hop 2 (streaming): chart 5.0.0, image v2.6.4; adds streamingnode; removes indexnode" in lines


def test_summary_never_removes_what_does_not_run():
    hop = _hop("streaming", ["mixcoord", "streamingnode"], ["indexnode", "streamingnode"])
    lines = describe(_plan_result(["mixcoord", "streamingnode"], [hop]))
    assert any(line.endswith("adds -; removes streamingnode") for line in lines)
    lines = describe(_plan_result(["mixcoord"], [_hop("streaming", ["mixcoord"], ["streamingnode"])]))
    assert any(line.endswith("adds -; removes -") for line in lines)


@pytest.mark.parametrize("value,shown", [(True, "true"), (False, "false"), (None, "null"), (3, "3"),
                                         ("v2.6.4", "v2.6.4"), (["a", "b"], '["a", "b"]'), ({}, "{}"),
                                         ({"b": 1, "a": None}, '{"a": null, "b": 1}')])
def test_values_in_the_summary_are_json_not_python_reprs(value, shown):
    assert show_value(value) == shown
    if not value or not isinstance(value, (list, dict)):    # non-empty containers are flattened to dotted keys
        lines = describe(_plan_result([], [_hop("streaming", [], [], {"x": {"y": value}})]))
        assert "  sets x.y=%s" % shown in lines


def test_each_warning_is_shown_once():
    lines = describe(_plan_result([], [], warnings=["w1", "w2", "w1"]))
    assert [line for line in lines if "warning" in line] == ["  warning: w1", "  warning: w2"]

# -*- coding: utf-8 -*-
"""plugins/module_utils/hop.py: the decisions of one helm hop."""
from __future__ import absolute_import, division, print_function

import json

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import mq
from ansible_collections.milvusops.cluster.plugins.module_utils.hop import (
    PENDING_STATES, describe_image_changes, diff_text, hop_state, object_changes, removals_refused, removal_cause,
    statefulset_image_changes, summary)

OURS = "milvusops.cluster: hop mixcoord to chart 4.2.58"
HOP1_VALUES = {"image": {"all": {"repository": "milvusdb/milvus", "tag": "v2.5.16"}},
               "mixCoordinator": {"enabled": True}, "rootCoordinator": {"enabled": False},
               "queryCoordinator": {"enabled": False}, "dataCoordinator": {"enabled": False},
               "indexCoordinator": {"enabled": False}, "streaming": {"enabled": False},
               "indexNode": {"enabled": True}}
HOP1_VALUES.update(mq.pins("pulsar-v2"))


def hist(*rows):
    return f.history(list(rows))


INSTALLED = ("superseded", "4.2.20", "2.4.16", "Install complete")


# -- hop_state --------------------------------------------------------------------------------

def test_deployed_not_applied_on_older_chart():
    history = hist(("deployed", "4.2.20", "2.4.16", "Install complete"))
    state = hop_state(history, {}, "4.2.58", HOP1_VALUES)
    assert state == {"revision": 1, "user_values": {}, "applied": False, "refusal": None}


def test_deployed_and_applied():
    stored = dict(HOP1_VALUES, etcd={"replicaCount": 3})
    history = hist(INSTALLED, ("deployed", "4.2.58", "2.5.16", OURS))
    state = hop_state(history, stored, "4.2.58", HOP1_VALUES)
    assert state["applied"] is True
    assert state["refusal"] is None
    assert state["revision"] == 2
    assert state["user_values"] is stored


def test_right_chart_but_a_value_missing_is_not_applied():
    stored = dict(HOP1_VALUES)
    del stored["kafka"]
    history = hist(INSTALLED, ("deployed", "4.2.58", "2.5.16", OURS))
    assert hop_state(history, stored, "4.2.58", HOP1_VALUES)["applied"] is False


def test_right_chart_but_a_value_differs_in_type_is_not_applied():
    stored = json.loads(json.dumps(HOP1_VALUES))
    stored["pulsar"]["enabled"] = "true"  # a string is not the bool the hop sets
    history = hist(INSTALLED, ("deployed", "4.2.58", "2.5.16", OURS))
    assert hop_state(history, stored, "4.2.58", HOP1_VALUES)["applied"] is False


def test_values_in_place_but_other_chart_is_not_applied():
    history = hist(INSTALLED, ("deployed", "4.2.20", "2.4.16", "Upgrade complete"))
    assert hop_state(history, dict(HOP1_VALUES), "4.2.58", HOP1_VALUES)["applied"] is False


def test_none_user_values_are_empty():
    state = hop_state(hist(("deployed", "4.2.20", "2.4.16", "Install complete")), None, "4.2.58", HOP1_VALUES)
    assert state["user_values"] == {}
    assert state["applied"] is False


@pytest.mark.parametrize("status", PENDING_STATES)
def test_pending_states_are_refused_with_remedy(status):
    history = hist(INSTALLED, (status, "4.2.58", "2.5.16", "Preparing upgrade"))
    state = hop_state(history, dict(HOP1_VALUES), "4.2.58", HOP1_VALUES)
    assert state["applied"] is False
    assert status in state["refusal"]
    assert "revision 2" in state["refusal"]
    assert "helm rollback" in state["refusal"]
    assert "helm history" in state["refusal"]


def test_failed_revision_of_ours_is_resumable():
    history = hist(INSTALLED, ("failed", "4.2.58", "2.5.16", OURS))
    state = hop_state(history, dict(HOP1_VALUES), "4.2.58", HOP1_VALUES)
    assert state["refusal"] is None
    assert state["applied"] is False  # a failed revision is never "applied": the hop runs again
    assert state["revision"] == 2


def test_failed_revision_of_someone_else_is_refused():
    description = "Upgrade \"rel\" failed: context deadline exceeded"
    history = hist(INSTALLED, ("failed", "4.2.58", "2.5.16", description))
    state = hop_state(history, {}, "4.2.58", HOP1_VALUES)
    assert state["applied"] is False
    assert "failed outside this collection" in state["refusal"]
    assert description in state["refusal"]
    assert "revision 2" in state["refusal"]


def test_failed_with_no_description_is_foreign():
    history = hist(INSTALLED, ("failed", "4.2.58", "2.5.16", ""))
    history[-1]["description"] = None
    assert "outside this collection" in hop_state(history, {}, "4.2.58", HOP1_VALUES)["refusal"]


@pytest.mark.parametrize("status", ["uninstalling", "uninstalled", "superseded", "unknown"])
def test_other_states_are_refused(status):
    history = hist(INSTALLED, (status, "4.2.58", "2.5.16", "x"))
    state = hop_state(history, dict(HOP1_VALUES), "4.2.58", HOP1_VALUES)
    assert status in state["refusal"]
    assert state["applied"] is False


def test_newer_chart_is_refused_never_a_downgrade():
    history = hist(INSTALLED, ("deployed", "5.0.0", "2.6.4", "milvusops.cluster: hop streaming to chart 5.0.0"))
    state = hop_state(history, {"image": {"all": {"tag": "v2.6.4"}}}, "4.2.58", HOP1_VALUES)
    assert "chart 5.0.0, newer than this hop's chart 4.2.58" in state["refusal"]
    assert "never downgrades" in state["refusal"]
    assert state["applied"] is False


def test_newer_stored_image_tag_is_refused():
    history = hist(INSTALLED, ("deployed", "4.2.58", "2.5.16", "Upgrade complete"))
    stored = {"image": {"all": {"tag": "v2.5.22"}}}
    state = hop_state(history, stored, "4.2.58", HOP1_VALUES)
    assert "stored image tag v2.5.22 is newer than this hop's v2.5.16" in state["refusal"]


def test_failed_revision_of_ours_on_a_newer_chart_is_refused():
    history = hist(INSTALLED, ("failed", "5.0.0", "2.6.4", "milvusops.cluster: hop streaming to chart 5.0.0"))
    assert "never downgrades" in hop_state(history, {}, "4.2.58", HOP1_VALUES)["refusal"]


@pytest.mark.parametrize("stored_tag", ["v2.5.10", "v2.5.16", "latest", "v2.5.10-20250101-abcdef0", 2510, None])
def test_older_equal_or_unreadable_stored_tags_are_not_a_downgrade(stored_tag):
    history = hist(("deployed", "4.2.20", "2.4.16", "Install complete"))
    stored = {"image": {"all": {"tag": stored_tag}}}
    assert hop_state(history, stored, "4.2.58", HOP1_VALUES)["refusal"] is None


def test_same_or_older_chart_is_not_a_downgrade():
    for chart in ("4.2.20", "4.2.58"):
        history = hist(("deployed", chart, "2.4.16", "Install complete"))
        assert hop_state(history, {}, "4.2.58", HOP1_VALUES)["refusal"] is None


# -- object_changes ---------------------------------------------------------------------------

LIVE = """---
# Source: milvus/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: rel-milvus
data:
  default.yaml: |
    mq:
      type: pulsar
---
# Source: milvus/templates/rootcoord-deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-milvus-rootcoord
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: rootcoord
          image: milvusdb/milvus:v2.5.10
      volumes:
        - name: milvus-config
          configMap:
            name: rel-milvus
---
# Source: milvus/templates/proxy-deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-milvus-proxy
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: proxy
          image: milvusdb/milvus:v2.5.10
---
# Source: milvus/charts/pulsar/templates/bookkeeper-statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: rel-pulsar-bookie
spec:
  serviceName: rel-pulsar-bookie
  volumeClaimTemplates:
    - metadata:
        name: journal
      spec:
        resources:
          requests:
            storage: 10Gi
"""

RENDERED_HOP1 = """---
apiVersion: v1
kind: ConfigMap
metadata:
  name: rel-milvus
data:
  default.yaml: |
    mq:
      type: pulsar
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-milvus-proxy
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: proxy
          image: milvusdb/milvus:v2.5.16
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-milvus-mixcoord
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: mixcoord
          image: milvusdb/milvus:v2.5.16
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: rel-pulsar-bookie
spec:
  serviceName: rel-pulsar-bookie
  volumeClaimTemplates:
    - metadata:
        name: journal
      spec:
        resources:
          requests:
            storage: 10Gi
"""

# what the 5.x chart defaults would render with no MQ pinned: pulsar v2 gone, pulsarv3 new
RENDERED_SWITCH = RENDERED_HOP1.replace("rel-pulsar-bookie", "rel-pulsarv3-bookie")


def test_object_changes_of_a_normal_hop():
    changes = object_changes(LIVE, RENDERED_HOP1)
    assert changes["added"] == [{"kind": "Deployment", "name": "rel-milvus-mixcoord"}]
    assert changes["removed"] == [{"kind": "Deployment", "name": "rel-milvus-rootcoord"}]
    assert [(c["kind"], c["name"]) for c in changes["changed"]] == [("Deployment", "rel-milvus-proxy")]
    assert changes["changed"][0]["paths"] == ["spec.template.spec.containers[0].image"]
    assert changes["unchanged"] == 2  # the ConfigMap and the bookie StatefulSet
    assert changes["dangerous"] == []  # a Deployment removal holds no data
    assert removals_refused(changes, False) is None


def test_statefulset_removal_is_dangerous():
    changes = object_changes(LIVE, RENDERED_SWITCH)
    assert {"kind": "StatefulSet", "name": "rel-pulsar-bookie"} in changes["removed"]
    assert {"kind": "StatefulSet", "name": "rel-pulsarv3-bookie"} in changes["added"]
    assert changes["dangerous"] == [{"kind": "StatefulSet", "name": "rel-pulsar-bookie", "reason": "StatefulSet"}]
    # the Deployment removed alongside is not
    assert {"kind": "Deployment", "name": "rel-milvus-rootcoord"} in changes["removed"]
    assert all(d["kind"] != "Deployment" for d in changes["dangerous"])


def test_removals_refused_names_the_statefulset_unless_allowed():
    changes = object_changes(LIVE, RENDERED_SWITCH)
    message = removals_refused(changes, False)
    assert "StatefulSet/rel-pulsar-bookie (StatefulSet)" in message
    assert "rel-milvus-rootcoord" not in message
    assert "allow_statefulset_removal" in message
    assert removals_refused(changes, True) is None


def test_removals_refused_names_the_cause_and_the_replacement():
    changes = object_changes(LIVE, RENDERED_SWITCH)
    values = {"pulsar": {"enabled": False}, "pulsarv3": {"enabled": True}, "image": {"all": {"tag": "v2.5.16"}}}
    message = removals_refused(changes, False, values, "milvus_allow_statefulset_removal")
    assert "StatefulSet/rel-pulsar-bookie (StatefulSet): this hop sets pulsar.enabled=false" in message
    assert "adds StatefulSet rel-pulsarv3-bookie instead: a deletion and a re-creation" in message
    assert "set milvus_allow_statefulset_removal if" in message


def test_removal_cause_prefers_the_longest_values_key_in_the_name():
    changes = {"added": [], "dangerous": []}
    entry = {"kind": "StatefulSet", "name": "rel-pulsarv3-bookie"}
    cause = removal_cause(entry, changes, {"pulsar": {"enabled": True}, "pulsarv3": {"enabled": False}})
    assert cause == "this hop sets pulsarv3.enabled=false, so the chart no longer renders it"
    assert "although this hop sets pulsarv3.enabled=true" in removal_cause(entry, changes,
                                                                           {"pulsarv3": {"enabled": True}})
    assert removal_cause(entry, changes, {}).startswith("the chart no longer renders it (a stored value")


def test_deployment_with_a_pvc_volume_is_dangerous():
    live = LIVE.replace("""            name: rel-milvus
---
# Source: milvus/templates/proxy""", """            name: rel-milvus
        - name: data
          persistentVolumeClaim:
            claimName: rel-milvus-rootcoord-data
---
# Source: milvus/templates/proxy""")
    changes = object_changes(live, RENDERED_HOP1)
    assert changes["dangerous"] == [{"kind": "Deployment", "name": "rel-milvus-rootcoord",
                                     "reason": "mounts PersistentVolumeClaim rel-milvus-rootcoord-data"}]
    assert "rel-milvus-rootcoord" in removals_refused(changes, False)


def test_object_changes_of_identical_manifests():
    changes = object_changes(LIVE, LIVE)
    assert changes["added"] == changes["removed"] == changes["changed"] == changes["dangerous"] == []
    assert changes["unchanged"] == 4


def test_summary():
    assert summary(object_changes(LIVE, RENDERED_HOP1)) == {
        "added": ["Deployment/rel-milvus-mixcoord"],
        "removed": ["Deployment/rel-milvus-rootcoord"],
        "changed": ["Deployment/rel-milvus-proxy"],
    }


# -- diff_text --------------------------------------------------------------------------------

def test_diff_text_content():
    before = {"image": {"all": {"tag": "v2.5.10"}}}
    after = {"image": {"all": {"tag": "v2.5.16"}}, "mixCoordinator": {"enabled": True}}
    diff = diff_text(before, after, object_changes(LIVE, RENDERED_HOP1))
    assert set(diff) == {"before", "after", "before_header", "after_header"}
    assert diff["before"] == (
        "# stored values\n" + json.dumps(before, indent=2, sort_keys=True) + "\n"
        "# objects\n"
        "* Deployment/rel-milvus-proxy\n"
        "- Deployment/rel-milvus-rootcoord\n")
    assert diff["after"] == (
        "# stored values\n" + json.dumps(after, indent=2, sort_keys=True) + "\n"
        "# objects\n"
        "+ Deployment/rel-milvus-mixcoord\n"
        "* Deployment/rel-milvus-proxy\n")
    assert "v2.5.10" in diff["before"] and "v2.5.10" not in diff["after"]
    assert "added" in diff["after_header"] and "removed" in diff["after_header"]


def test_diff_text_without_object_changes():
    diff = diff_text({}, {"a": 1}, object_changes(LIVE, LIVE))
    assert diff["before"] == "# stored values\n{}\n# objects\n"
    assert diff["after"] == "# stored values\n{\n  \"a\": 1\n}\n# objects\n"


def _sts(name, images, kind="StatefulSet"):
    return {"kind": kind, "metadata": {"name": name}, "spec": {"template": {"spec": {
        "containers": [{"name": c, "image": i} for c, i in images.items()]}}}}


def test_a_data_store_image_change_is_named_with_both_images():
    live = [_sts("rel-etcd", {"etcd": "milvusdb/etcd:3.5.5"}), _sts("rel-minio", {"minio": "minio:2023"}),
            _sts("rel-milvus-proxy", {"proxy": "milvus:v2.5.16"}, kind="Deployment")]
    rendered = [_sts("rel-etcd", {"etcd": "milvusdb/etcd:3.5.18"}), _sts("rel-minio", {"minio": "minio:2023"}),
                _sts("rel-milvus-proxy", {"proxy": "milvus:v2.6.4"}, kind="Deployment"),
                _sts("rel-new", {"x": "y:1"})]
    changes = statefulset_image_changes(live, rendered)
    assert changes == [{"name": "rel-etcd", "container": "etcd", "before": "milvusdb/etcd:3.5.5",
                        "after": "milvusdb/etcd:3.5.18"}]
    [line] = describe_image_changes(changes)
    assert "StatefulSet/rel-etcd container etcd: milvusdb/etcd:3.5.5 -> milvusdb/etcd:3.5.18" in line
    assert describe_image_changes([]) == []


def test_object_changes_carry_the_data_store_images_and_the_diff_shows_them():
    changes = object_changes(LIVE, LIVE)
    assert changes["data_store_images"] == []
    changes["data_store_images"] = [{"name": "rel-etcd", "container": "etcd", "before": "a:1", "after": "a:2"}]
    text = diff_text({}, {}, changes)["after"]
    assert "! the hop changes the image of data store StatefulSet/rel-etcd container etcd: a:1 -> a:2" in text


# -- values folders of killed hops (issue 12, class 9) ------------------------------------------------

def test_only_our_folders_of_gone_processes_and_old_legacy_ones_are_stale():
    from ansible_collections.milvusops.cluster.plugins.module_utils.values_folders import stale_values_folders
    entries = [
        ("milvusops-hop-100-abc", 1000, 0.0),       # ours, process gone
        ("milvusops-hop-200-def", 1000, 0.0),       # ours, process alive
        ("milvusops-hop-100-ghi", 0, 0.0),          # another user's
        ("milvusops-hop-xyz123", 1000, 80000.0),    # legacy name, recent
        ("milvusops-hop-old999", 1000, 0.0),        # legacy name, over a day old
        ("something-else", 1000, 0.0),
    ]
    assert stale_values_folders(entries, 1000, 90000.0, lambda pid: pid == 200) == [
        "milvusops-hop-100-abc", "milvusops-hop-old999"]


def test_the_sweep_removes_a_killed_hops_folder_and_keeps_a_live_one(tmp_path):
    import os
    from ansible_collections.milvusops.cluster.plugins.module_utils.values_folders import sweep_values_folders
    dead = tmp_path / "milvusops-hop-4194305-aaaa"     # above pid_max's default: no such process
    live = tmp_path / ("milvusops-hop-%d-bbbb" % os.getpid())
    for folder in (dead, live):
        folder.mkdir()
        (folder / "values.json").write_text("{}")
    assert sweep_values_folders(str(tmp_path)) == [dead.name]
    assert not dead.exists() and (live / "values.json").exists()

"""Pure pieces: protobuf decoding, strategic merge patch directives, selectors, pod-template hash."""

import base64
import types

import pytest

from tests.kubesim import protobuf as pb
from tests.kubesim.controllers import Controllers, owner_ref, template_hash
from tests.kubesim.kubelet import normalize_image
from tests.kubesim.patch import PatchError, strategic_merge
from tests.kubesim.selectors import SelectorError, match_labels, parse_label_selector
from tests.kubesim.store import Store


def meta(name, ns="", labels=None):
    out = pb.enc_field(1, name) + pb.enc_field(3, ns) + pb.enc_field(6, "") + pb.enc_field(7, 0)
    return out + pb.enc_map(11, labels or {})


def test_decode_secret_configmap_deleteoptions():
    raw = pb.enc_field(1, meta("sh.helm.release.v1.r.v1", "", {"owner": "helm"})) + \
        pb.enc_map(2, {"release": b"\x00\x01bin"}) + pb.enc_field(3, "helm.sh/release.v1")
    obj = pb.decode(pb.envelope("v1", "Secret", raw))
    assert obj["metadata"] == {"name": "sh.helm.release.v1.r.v1", "labels": {"owner": "helm"}}
    assert base64.b64decode(obj["data"]["release"]) == b"\x00\x01bin" and obj["type"] == "helm.sh/release.v1"
    cm = pb.decode(pb.envelope("v1", "ConfigMap", pb.enc_field(1, meta("c", "ns")) + pb.enc_map(2, {"a": "b"})))
    assert cm["metadata"] == {"name": "c", "namespace": "ns"} and cm["data"] == {"a": "b"}
    opts = pb.decode(pb.envelope("meta.k8s.io/v1", "DeleteOptions", pb.enc_field(4, "Background")))
    assert opts["propagationPolicy"] == "Background"
    with pytest.raises(pb.ProtobufError):
        pb.decode(b"{}")
    with pytest.raises(pb.ProtobufError):
        pb.decode(pb.envelope("apps/v1", "Deployment", b""))


def test_strategic_merge_directives():
    dep = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                    "template": {"spec": {
                        "containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"},
                                                                             {"name": "Y", "value": "2"}],
                                        "args": ["--x"]},
                                       {"name": "b", "image": "b:1"}],
                        "volumes": [{"name": "v", "emptyDir": {}}]}}}}
    patch = {"spec": {
        "strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None},
        "template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "a:2", "args": ["--y"],
                            "$setElementOrder/env": [{"name": "Y"}, {"name": "Z"}],
                            "env": [{"name": "X", "$patch": "delete"}, {"name": "Z", "value": "3"}]}],
            "volumes": [{"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}]}}}}
    out = strategic_merge(dep, patch, "Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["b", "a"]
    assert containers[1] == {"name": "a", "image": "a:2", "args": ["--y"],
                             "env": [{"name": "Y", "value": "2"}, {"name": "Z", "value": "3"}]}
    assert out["spec"]["template"]["spec"]["volumes"] == [{"name": "v", "configMap": {"name": "cm"}}]
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"      # input untouched
    svc = strategic_merge({"spec": {"ports": [{"port": 80, "name": "a"}, {"port": 90}]}},
                          {"spec": {"ports": [{"port": 90, "name": "b"}]}}, "Service")
    assert svc["spec"]["ports"] == [{"port": 80, "name": "a"}, {"port": 90, "name": "b"}]
    # Lists without a merge key are replaced; for ConfigMaps nothing merges by key.
    assert strategic_merge({"rules": [1, 2]}, {"rules": [3]}, "Role") == {"rules": [3]}
    assert strategic_merge({"a": {"b": 1}}, {"a": {"$patch": "replace", "c": 2}}, "ConfigMap") == {"a": {"c": 2}}
    with pytest.raises(PatchError):
        strategic_merge({}, {"spec": {"containers": [{"image": "x"}]}}, "Pod")


def test_label_selectors():
    labels = {"app": "m", "tier": "db"}
    for sel, want in [("app=m", True), ("app==m", True), ("app!=m", False), ("app in (x, m)", True),
                      ("app notin (m)", False), ("tier", True), ("!tier", False), ("!nope,app=m", True),
                      ("app=m,tier=web", False), ("", True)]:
        assert match_labels(parse_label_selector(sel), labels) is want, sel
    with pytest.raises(SelectorError):
        parse_label_selector("a b c")


def test_store_resource_versions_and_noop():
    s = Store()
    a = s.create("configmaps", "default", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    rv = s.resource_version
    same = s.update("configmaps", "default", "a", a)
    assert same["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"] and s.resource_version == rv
    b = s.update("configmaps", "default", "a", {"metadata": {"name": "a"}, "data": {"x": "2"}})
    assert int(b["metadata"]["resourceVersion"]) > int(rv) and b["metadata"]["uid"] == a["metadata"]["uid"]


def test_template_hash_and_images():
    h = template_hash({"spec": {"containers": [{"image": "a"}]}})
    assert len(h) >= 8 and set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert h != template_hash({"spec": {"containers": [{"image": "b"}]}})
    assert normalize_image("milvusdb/milvus:v2.5.16-gpu") == "docker.io/milvusdb/milvus:v2.5.16-gpu"
    assert normalize_image("busybox") == "docker.io/library/busybox:latest"
    assert normalize_image("registry.local:5000/m/milvus:v2") == "registry.local:5000/m/milvus:v2"


def test_a_milvus_pod_with_name_override_is_still_milvus():
    from tests.kubesim.milvus import is_milvus
    renamed = {"metadata": {"labels": {"app.kubernetes.io/name": "vdb", "component": "proxy"}},
               "spec": {"containers": [{"name": "proxy", "args": ["milvus", "run", "proxy"]}]}}
    pulsar_proxy = {"metadata": {"labels": {"app": "pulsar", "component": "proxy"}},
                    "spec": {"containers": [{"name": "proxy", "args": ["bin/pulsar", "proxy"]}]}}
    assert is_milvus(renamed) and not is_milvus(pulsar_proxy)


def _cm(name, owners=()):
    refs = [{"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"],
             "uid": o["metadata"]["uid"]} for o in owners]
    meta = {"name": name, "ownerReferences": refs} if refs else {"name": name}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


@pytest.mark.parametrize("owners_gone", [(True,), (True, True), (True, False), (False,), (False, False)])
def test_an_object_created_for_owners_already_gone_is_collected_like_the_garbage_collector_does(owners_gone):
    """A controller that read its owner just before the owner's deletion creates a dependent the cascade
    never saw: with every owner gone it is deleted, with some left only the dangling references go."""
    store = Store()
    owners = [store.create("configmaps", "default", _cm("owner-%d" % i)) for i in range(len(owners_gone))]
    for owner, gone in zip(owners, owners_gone):
        if gone:
            store.delete("configmaps", "default", owner["metadata"]["name"])
    store.create("configmaps", "default", _cm("dependent", owners))
    dependent = store.get("configmaps", "dependent", "default")
    alive = [o["metadata"]["uid"] for o, gone in zip(owners, owners_gone) if not gone]
    if not alive:
        assert dependent is None
    else:
        assert [r["uid"] for r in dependent["metadata"]["ownerReferences"]] == alive


def test_an_owner_recreated_under_the_same_name_does_not_adopt_a_dependent_of_the_old_one():
    store = Store()
    old = store.create("configmaps", "default", _cm("owner"))
    store.delete("configmaps", "default", "owner")
    store.create("configmaps", "default", _cm("owner"))
    store.create("configmaps", "default", _cm("dependent", [old]))
    assert store.get("configmaps", "dependent", "default") is None


def test_an_owner_of_a_kind_kubesim_does_not_serve_counts_as_present():
    store = Store()
    foreign = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "uid": "u-1"}}
    store.create("configmaps", "default", _cm("dependent", [foreign]))
    assert store.get("configmaps", "dependent", "default")["metadata"]["ownerReferences"][0]["uid"] == "u-1"


def test_a_rollout_counts_the_pods_an_old_replicaset_still_runs_in_its_surge_budget():
    """maxSurge bounds pods, not specs: with the old ReplicaSet's spec lowered to 3 but its 4 pods not yet scaled
    down, the new one may not grow (4 + 2 would be 6 pods for 4 replicas and a surge of 1)."""
    store = Store()
    labels = {"app": "web"}
    d = store.create("deployments", "default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 4, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "m", "image": "x:2"}]}}}})
    new_hash = template_hash(d["spec"]["template"])

    def replicaset(template_hash_label, spec_replicas, running):
        template = {"metadata": {"labels": dict(labels, **{"pod-template-hash": template_hash_label})},
                    "spec": d["spec"]["template"]["spec"]}
        store.create("replicasets", "default", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-" + template_hash_label, "labels": template["metadata"]["labels"],
                         "ownerReferences": [owner_ref(d)]},
            "spec": {"replicas": spec_replicas, "selector": {"matchLabels": template["metadata"]["labels"]},
                     "template": template},
            "status": {"replicas": running, "readyReplicas": running, "availableReplicas": running}},
            keep_status=True)
    replicaset("old", 3, 4)
    replicaset(new_hash, 1, 1)
    manager = types.SimpleNamespace(store=store, cluster=None, enqueue=lambda *keys: None,
                                    schedule=lambda *args: None)
    Controllers(manager).deployment("default", "web")
    assert store.get("replicasets", "web-" + new_hash, "default")["spec"]["replicas"] == 1

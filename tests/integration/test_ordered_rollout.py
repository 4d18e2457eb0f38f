"""Hop 2 in the order Milvus engineers give (issue 15), on the real control plane: the real Deployment
controller's pause semantics, helm's three-way merge keeping spec.paused, kwok playing the pods.

The order is read back from the objects themselves: each component's 2.6 ReplicaSet is created by the
Deployment controller only when the Deployment is resumed, and pods of 2.6 start 3 s late (a kwok stage),
so one component's ReplicaSet is at least that much younger than the previous component's. The index node,
which hop 2 removes, is kept by helm (helm.sh/resource-policy: keep on the live object) and deleted by the wait
once the proxy runs 2.6: a run that stops before leaves it running on 2.5, outside the release.
"""

import time
from datetime import datetime

import pytest

from tests.harness import rollout_held

CLUSTERS = [
    ("ordered", "v2510-separate-pulsar2"),   # both hops: hop 1 keeps the index node, hop 2 removes it last
    ("stopped", "v2516-mixcoord"),
    ("crashing", "v2516-mixcoord"),
    ("foreign", "v2516-mixcoord"),
]
CONFIRM = {"milvus_upgrade_confirm": True}
TARGET = "milvusdb/milvus:v2.6.4"
# the Deployments hop 2 changes that wait for another; mixcoord, first in the order, rolls out with helm's write
PAUSED_BY_HOP_2 = ["querynode", "datanode", "proxy"]
START_DELAY = 3   # seconds a 2.6 pod takes to start (kwok)
FAIL_FAST_TIMEOUT = 900


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    if getattr(h.fleet, "backend", "kubesim") != "real":
        pytest.skip("the real Deployment controller's pause semantics are the point")
    h.inventory(extra_host_vars={"stopped": {"milvus_wait_timeout": 30},
                                 "crashing": {"milvus_wait_timeout": FAIL_FAST_TIMEOUT}}, ordered_rollout=True)
    return h


def run(harness, limit, *args, **extra_vars):
    return harness.playbook("upgrade", "--limit", limit, *args, inventory=harness.workdir / "inventory.yml",
                            extra_vars=dict(CONFIRM, **extra_vars))


def stamp(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def component(obj):
    return obj["metadata"]["labels"].get("component")


def new_replicasets(harness, name):
    """{component: creation time} of the Milvus ReplicaSets whose pods run the target image."""
    found = {}
    for rs in harness.objects(name, "ReplicaSet").values():
        containers = rs["spec"]["template"]["spec"]["containers"]
        if rs["metadata"]["labels"].get("app.kubernetes.io/name") == "milvus" and containers[0]["image"] == TARGET:
            found[component(rs)] = stamp(rs["metadata"]["creationTimestamp"])
    return found


def ready_since(harness, name):
    """{component: when its target-image pod turned Ready} (the Ready condition's own transition time)."""
    found = {}
    for pod in harness.objects(name, "Pod").values():
        if pod["spec"]["containers"][0]["image"] != TARGET or not component(pod):
            continue
        for condition in pod["status"].get("conditions") or []:
            if condition["type"] == "Ready" and condition["status"] == "True":
                found[component(pod)] = stamp(condition["lastTransitionTime"])
    return found


def milvus_deployments(harness, name):
    return dict((component(d), d) for d in harness.objects(name, "Deployment").values()
                if d["metadata"]["labels"].get("app.kubernetes.io/name") == "milvus")


def paused(harness, name):
    return sorted(c for c, d in milvus_deployments(harness, name).items() if d["spec"].get("paused"))


def assert_index_node_kept_outside_the_release(harness, name):
    """The index node as a stopped hop 2 leaves it: running 2.5, kept by helm, no longer in the release."""
    indexnode = milvus_deployments(harness, name)["indexnode"]
    annotations = indexnode["metadata"]["annotations"]
    assert annotations.get("helm.sh/resource-policy") == "keep", annotations
    assert annotations.get("milvusops.cluster/kept-until-rolled-out") == "hop streaming", annotations
    assert indexnode["spec"]["template"]["spec"]["containers"][0]["image"] == "milvusdb/milvus:v2.5.16"
    assert indexnode["status"].get("readyReplicas") == indexnode["spec"]["replicas"], indexnode["status"]
    manifest = harness.helm_json(name, "status", harness.fleet[name].release)["manifest"]
    assert milvus_deployments(harness, name)["proxy"]["metadata"]["name"] in manifest
    assert indexnode["metadata"]["name"] not in manifest, "helm still renders the index node"


def test_check_mode_shows_what_is_paused_and_the_order_and_pauses_nothing(harness):
    result = run(harness, "ordered", "--check", "--diff")
    assert result.rc == 0, result.output[-3000:]
    assert "rolls out in order" in result.output and \
        "mixcoord -> streamingnode -> querynode -> datanode -> proxy" in result.output
    assert "indexnode kept on the old version until they are rolled out, then deleted" in result.output
    assert paused(harness, "ordered") == []
    assert "helm.sh/resource-policy" not in milvus_deployments(harness, "ordered")["indexnode"]["metadata"]["annotations"]
    assert result.cluster_report("ordered")["planned_hops"] == ["mixcoord", "streaming"]


def test_hop_2_resumes_its_deployments_one_at_a_time_in_the_milvus_order(harness):
    revision = harness.history("ordered")[-1]["revision"]
    generations = dict((c, d["metadata"]["generation"]) for c, d in milvus_deployments(harness, "ordered").items())
    harness.fleet["ordered"].cluster.faults.add({"type": "slowstart", "seconds": START_DELAY, "image": "v2.6.4"})
    try:
        result = run(harness, "ordered")
    finally:
        harness.fleet["ordered"].cluster.faults.clear()
    assert result.rc == 0, result.output[-3000:]
    assert harness.milvus_images("ordered") == [TARGET]
    deployments = milvus_deployments(harness, "ordered")
    assert sorted(deployments) == ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
    assert paused(harness, "ordered") == []
    assert not any("milvusops.cluster/paused-for" in (d["metadata"].get("annotations") or {})
                   for d in deployments.values())
    # hop 1's template (or mixcoord's creation), then hop 2's pause, new template and resume: the controller
    # observed each of them
    for name in PAUSED_BY_HOP_2:
        meta, status = deployments[name]["metadata"], deployments[name]["status"]
        assert status["observedGeneration"] == meta["generation"] >= generations.get(name, 0) + 4, (name, meta)
    # mixcoord: created by hop 1, then hop 2's template, and never paused (a pause and a resume are two more)
    meta, status = deployments["mixcoord"]["metadata"], deployments["mixcoord"]["status"]
    assert status["observedGeneration"] == meta["generation"] == generations.get("mixcoord", 0) + 2, meta

    created, ready = new_replicasets(harness, "ordered"), ready_since(harness, "ordered")
    # helm's write started mixcoord and created the streaming node running; everything else waited for its turn,
    # until every component before it in the order was ready
    order = ["mixcoord", "streamingnode", "querynode", "datanode", "proxy"]
    for position, after in enumerate(order):
        for before in order[:position] if after in PAUSED_BY_HOP_2 else ():
            assert created[after] >= ready[before], (after, "resumed before", before, "was ready", created, ready)
    resumed = [c for c in sorted(created, key=created.get) if c in PAUSED_BY_HOP_2]
    assert resumed == PAUSED_BY_HOP_2, created
    assert max(created["mixcoord"], created["streamingnode"]) <= created[resumed[0]], created
    for before, after in zip(resumed, resumed[1:]):
        assert (created[after] - created[before]).total_seconds() >= START_DELAY - 1, created

    report = result.cluster_report("ordered")
    hops = dict((hop["name"], hop) for hop in report["hops_applied"])
    assert list(hops) == ["mixcoord", "streaming"]
    assert harness.history("ordered")[-1]["revision"] == revision + 2      # one helm upgrade per hop
    # the index node is not paused: helm removes it from the release, but keeps it as it is
    assert [p["component"] for p in hops["streaming"]["paused_before_helm"]] == PAUSED_BY_HOP_2
    timeline = hops["streaming"]["rollout"]["components"]
    assert [c for c in sorted(timeline, key=lambda c: timeline[c]["resumed"] or 1e9) if timeline[c]["resumed"]] \
        == PAUSED_BY_HOP_2
    assert timeline["mixcoord"]["resumed"] is None and timeline["mixcoord"]["ready"] <= timeline["querynode"]["resumed"]
    assert all(timeline[c]["ready"] >= timeline[c]["resumed"] for c in PAUSED_BY_HOP_2)
    assert hops["streaming"]["rollout"]["write_outage_seconds"] >= 2 * START_DELAY
    assert hops["streaming"]["rollout"]["still_paused"] == [] and hops["streaming"]["rollout"]["still_kept"] == []
    # deleted by the wait, once the proxy was ready on 2.6 (and so after every other component)
    deleted = hops["streaming"]["rollout"]["deleted"]
    assert [(entry["component"], entry["deployment"]) for entry in deleted] == [("indexnode", "rel-milvus-indexnode")]
    assert deleted[0]["seconds"] >= timeline["proxy"]["ready"] >= max(timeline[c]["ready"] for c in PAUSED_BY_HOP_2)
    assert report["status"] == "upgraded"


def test_a_run_stopped_half_way_names_what_is_paused_and_the_next_run_resumes_in_order(harness):
    member = harness.fleet["stopped"]
    with rollout_held(member.cluster, image="v2.6.4", component="querynode"):   # the wait times out on it
        stopped = run(harness, "stopped")
        assert stopped.rc != 0
        report = stopped.cluster_report("stopped")
        error = report["error"]
        assert "not ready after" in error and "querynode" in error, error
        assert "Still paused: rel-milvus-datanode (datanode), rel-milvus-proxy (proxy)" in error, error
        assert "next run resumes them in order" in error
        assert "rel-milvus-indexnode (indexnode) is kept on the old version" in error, error
        assert [p["component"] for p in report["still_paused"]] == ["datanode", "proxy"]
        assert [p["component"] for p in report["still_kept"]] == ["indexnode"]
        # the cluster as it was left: querynode was resumed, datanode and proxy still on 2.5 and paused, the
        # index node still serving on 2.5
        assert paused(harness, "stopped") == ["datanode", "proxy"]
        assert sorted(new_replicasets(harness, "stopped")) == ["mixcoord", "querynode", "streamingnode"]
        assert_index_node_kept_outside_the_release(harness, "stopped")

    again = run(harness, "stopped")
    assert again.rc == 0, again.output[-3000:]
    assert "were paused by an ordered hop that stopped" in again.output   # preflight says so first
    assert "were kept on the old version by an ordered hop that stopped" in again.output
    assert paused(harness, "stopped") == []
    assert harness.milvus_images("stopped") == [TARGET]
    created = new_replicasets(harness, "stopped")
    assert created["datanode"] <= created["proxy"]
    assert ready_since(harness, "stopped")["datanode"] <= created["proxy"]
    assert "indexnode" not in milvus_deployments(harness, "stopped")
    report = again.cluster_report("stopped")
    assert [hop["name"] for hop in report["hops_applied"]] == ["streaming"]
    hop = report["hops_applied"][0]
    assert hop["changed"] is False     # helm had applied hop 2 already: only the resume and the deletion
    assert hop["revision_before"] == hop["revision_after"]
    assert [entry["component"] for entry in hop["rollout"]["deleted"]] == ["indexnode"]
    assert hop["rollout"]["deleted"][0]["seconds"] >= hop["rollout"]["components"]["proxy"]["ready"]


def test_a_crash_half_way_fails_fast_and_leaves_the_rest_paused_and_named(harness):
    member = harness.fleet["crashing"]
    member.cluster.faults.add({"type": "crashloop", "component": "datanode", "image": "v2.6.4"})
    started = time.monotonic()
    try:
        result = run(harness, "crashing")
        elapsed = time.monotonic() - started
        assert result.rc != 0
        report = result.cluster_report("crashing")
        assert "CrashLoopBackOff" in report["error"] and "rel-milvus-datanode" in report["error"], report["error"]
        assert "Still paused: rel-milvus-proxy (proxy)" in report["error"], report["error"]
        assert [p["component"] for p in report["still_paused"]] == ["proxy"]
        assert elapsed < FAIL_FAST_TIMEOUT / 2, "found by the timeout, not by the crash"
        # the proxy never left 2.5: its pods run the old image and it has no 2.6 ReplicaSet
        assert paused(harness, "crashing") == ["proxy"]
        assert_index_node_kept_outside_the_release(harness, "crashing")
        assert "proxy" not in new_replicasets(harness, "crashing")
        proxy_pods = [p for p in harness.objects("crashing", "Pod").values() if component(p) == "proxy"
                      and p["metadata"]["labels"].get("app.kubernetes.io/name") == "milvus"]
        assert proxy_pods and all(p["spec"]["containers"][0]["image"] == "milvusdb/milvus:v2.5.16" for p in proxy_pods)
    finally:
        member.cluster.faults.clear()
    again = run(harness, "crashing")
    assert again.rc == 0, again.output[-3000:]
    assert paused(harness, "crashing") == [] and harness.milvus_images("crashing") == [TARGET]
    assert "indexnode" not in milvus_deployments(harness, "crashing")


def test_a_deployment_paused_by_someone_else_is_refused_before_anything_changes(harness):
    member = harness.fleet["foreign"]
    proxy = milvus_deployments(harness, "foreign")["proxy"]["metadata"]["name"]
    member.cluster.store.patch("Deployment", member.namespace, proxy, "merge", {"spec": {"paused": True}})
    history = harness.history("foreign")
    try:
        result = run(harness, "foreign")
        assert result.rc != 0
        error = result.cluster_report("foreign")["error"]
        assert "%s are paused, and not by milvusops.cluster" % proxy in error, error
        assert "kubectl rollout resume deployment %s -n %s" % (proxy, member.namespace) in error
        assert harness.history("foreign") == history and paused(harness, "foreign") == ["proxy"]
    finally:
        member.cluster.store.patch("Deployment", member.namespace, proxy, "merge", {"spec": {"paused": None}})
    assert run(harness, "foreign").rc == 0

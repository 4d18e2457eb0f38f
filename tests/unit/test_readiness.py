# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import copy

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import readiness as r

NEW = "milvusdb/milvus:v2.6.4"
OLD = "milvusdb/milvus:v2.5.16"
HOP2 = ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
HOP2_REMOVED = ["datacoord", "indexcoord", "indexnode", "querycoord", "rootcoord"]


def after_hop2(replicas=1, image=NEW):
    return f.rollout(f.COMPONENTS["streaming"], image=image, replicas=replicas)


def assess(deps, rss, pods, image=NEW, expected=HOP2, removed=HOP2_REMOVED, **kw):
    return r.assess(deps, rss, pods, image, expected, removed, **kw)


def find(objs, component):
    return [o for o in objs if o["metadata"]["labels"]["component"] == component]


def test_ready_after_hop2():
    deps, rss, pods = after_hop2(replicas=2)
    result = assess(deps, rss, pods)
    assert result["state"] == "ready"
    assert result["failures"] == [] and result["waiting_for"] == []
    assert sorted(result["components"]) == HOP2
    assert result["components"]["querynode"]["state"] == "ready"
    assert result["components"]["querynode"]["ready"] == 2
    assert result["components"]["querynode"]["image"] == NEW


def test_snapshot_wrapper():
    deps, rss, pods = after_hop2()
    result = r.assess_snapshot({"deployments": deps, "replicasets": rss, "pods": pods, "expected_image": NEW,
                                "expected_components": HOP2, "removed_components": HOP2_REMOVED})
    assert result["state"] == "ready"


def test_docker_hub_spelling_of_the_expected_image():
    deps, rss, pods = after_hop2()
    assert assess(deps, rss, pods, image="docker.io/" + NEW)["state"] == "ready"


def test_partially_updated_is_rolling():
    deps, rss, pods = after_hop2(replicas=2)
    qn = find(deps, "querynode")[0]
    qn["status"].update({"updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1, "replicas": 3})
    result = assess(deps, rss, pods)
    assert result["state"] == "rolling"
    assert result["components"]["querynode"]["state"] == "rolling"
    assert any(w.startswith("querynode: ") and "1/2 updated" in w for w in result["waiting_for"])
    assert any("3 replicas exist, 2 desired" in w for w in result["waiting_for"])


def test_generation_not_observed_is_rolling():
    deps, rss, pods = after_hop2()
    find(deps, "proxy")[0]["status"]["observedGeneration"] = 1
    result = assess(deps, rss, pods)
    assert result["state"] == "rolling"
    assert any("proxy: rollout not observed yet" in w for w in result["waiting_for"])


def test_missing_expected_component():
    deps, rss, pods = after_hop2()
    deps = [d for d in deps if d["metadata"]["labels"]["component"] != "streamingnode"]
    pods = [p for p in pods if p["metadata"]["labels"]["component"] != "streamingnode"]
    result = assess(deps, rss, pods)
    assert result["state"] == "rolling"
    assert result["components"]["streamingnode"]["state"] == "missing"
    assert "streamingnode: Deployment not created yet" in result["waiting_for"]


def test_removed_component_still_present():
    deps, rss, pods = after_hop2()
    idx_deps, idx_rss, idx_pods = f.rollout(["indexnode"], image=OLD)
    result = assess(deps + idx_deps, rss + idx_rss, pods + idx_pods)
    assert result["state"] == "rolling"
    assert result["components"]["indexnode"]["state"] == "removing"
    assert any(w.startswith("indexnode: Deployment rel-milvus-indexnode still present") for w in result["waiting_for"])


def test_removed_component_pods_linger():
    deps, rss, pods = after_hop2()
    _, _, idx_pods = f.rollout(["indexnode"], image=OLD)
    idx_pods[0]["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    result = assess(deps, rss, pods + idx_pods)
    assert result["state"] == "rolling"
    assert any("indexnode: 1 pod(s) still present" in w for w in result["waiting_for"])


def test_crashing_removed_component_is_not_a_failure():
    deps, rss, pods = after_hop2()
    _, _, idx_pods = f.rollout(["indexnode"], image=OLD)
    idx_pods[0] = f.pod("indexnode", image=OLD, waiting="CrashLoopBackOff", restarts=4)
    result = assess(deps, rss, pods + idx_pods)
    assert result["state"] == "rolling"
    assert result["failures"] == []


def test_pod_on_old_image_from_old_replicaset():
    deps, rss, pods = after_hop2(replicas=2)
    qn = find(deps, "querynode")[0]
    old_rs = f.replicaset(qn, revision=1, image=OLD)
    new_rs = f.replicaset(qn, revision=2, image=NEW)
    pods = [p for p in pods if p["metadata"]["labels"]["component"] != "querynode"]
    pods += [f.pod("querynode", image=NEW, rs=new_rs, index=0), f.pod("querynode", image=NEW, rs=new_rs, index=1),
             f.pod("querynode", image=OLD, rs=old_rs, index=2)]
    rss = [rs for rs in rss if rs["metadata"]["ownerReferences"][0]["name"] != qn["metadata"]["name"]]
    result = assess(deps, rss + [old_rs, new_rs], pods)
    assert result["state"] == "rolling"
    waiting = [w for w in result["waiting_for"] if w.startswith("querynode: ")]
    assert any("1 pod(s) of an old ReplicaSet" in w for w in waiting)
    assert any("not on milvusdb/milvus:v2.6.4" in w for w in waiting)


def test_old_replicaset_pod_even_on_same_image_is_waited_for():
    deps, rss, pods = after_hop2()
    proxy = find(deps, "proxy")[0]
    rs1 = f.replicaset(proxy, revision=1, image=NEW)
    rs1["metadata"]["name"] += "-old"
    rs2 = f.replicaset(proxy, revision=2, image=NEW)
    pods = [p for p in pods if p["metadata"]["labels"]["component"] != "proxy"]
    pods += [f.pod("proxy", image=NEW, rs=rs2), f.pod("proxy", image=NEW, rs=rs1, index=1)]
    result = assess(deps, rss + [rs1, rs2], pods)
    assert result["state"] == "rolling"
    assert any("proxy: 1 pod(s) of an old ReplicaSet" in w for w in result["waiting_for"])


def test_terminating_pod_is_waited_for():
    deps, rss, pods = after_hop2()
    extra = copy.deepcopy(find(pods, "mixcoord")[0])
    extra["metadata"]["name"] += "-old"
    extra["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    result = assess(deps, rss, pods + [extra])
    assert result["state"] == "rolling"
    assert any(w.startswith("mixcoord: 1 pod(s) terminating") for w in result["waiting_for"])


def test_template_on_other_image():
    deps, rss, pods = after_hop2(image=OLD)
    result = assess(deps, rss, pods)
    assert result["state"] == "rolling"
    assert any("Deployment template runs milvusdb/milvus:v2.5.16, expected milvusdb/milvus:v2.6.4" in w
               for w in result["waiting_for"])


@pytest.mark.parametrize("reason", ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull",
                                    "CreateContainerConfigError", "InvalidImageName"])
def test_fails_fast_on_waiting_reasons(reason):
    deps, rss, pods = after_hop2()
    sn_rs = [rs for rs in rss if "streamingnode" in rs["metadata"]["name"]][0]
    pods = [p for p in pods if p["metadata"]["labels"]["component"] != "streamingnode"]
    bad = f.pod("streamingnode", image=NEW, rs=sn_rs, waiting=reason, waiting_message="details here", restarts=3,
                last_terminated={"reason": "Error", "exitCode": 1})
    find(deps, "streamingnode")[0]["status"].update({"readyReplicas": 0, "availableReplicas": 0})
    result = assess(deps, rss, pods + [bad])
    assert result["state"] == "failed"
    assert result["components"]["streamingnode"]["state"] == "failed"
    failure = result["failures"][0]
    assert failure["pod"] == bad["metadata"]["name"]
    assert failure["container"] == "streamingnode"
    assert failure["reason"] == reason
    assert "details here" in failure["message"]
    assert "restarts 3" in failure["message"]


def test_fails_fast_on_oomkilled_last_termination():
    deps, rss, pods = after_hop2()
    qn_rs = [rs for rs in rss if "querynode" in rs["metadata"]["name"]][0]
    pods = [p for p in pods if p["metadata"]["labels"]["component"] != "querynode"]
    bad = f.pod("querynode", image=NEW, rs=qn_rs, restarts=2,
                last_terminated={"reason": "OOMKilled", "exitCode": 137})
    result = assess(deps, rss, pods + [bad])
    assert result["state"] == "failed"
    assert result["failures"][0]["reason"] == "OOMKilled"
    assert "exit code 137" in result["failures"][0]["message"]


def test_crashloop_after_oom_reports_oomkilled():
    deps, rss, pods = after_hop2()
    qn_rs = [rs for rs in rss if "querynode" in rs["metadata"]["name"]][0]
    bad = f.pod("querynode", image=NEW, rs=qn_rs, waiting="CrashLoopBackOff", restarts=5, index=9,
                last_terminated={"reason": "OOMKilled", "exitCode": 137})
    result = assess(deps, rss, pods + [bad])
    assert [x["reason"] for x in result["failures"]] == ["OOMKilled"]


def test_init_container_failure():
    deps, rss, pods = after_hop2()
    pods[0]["status"]["initContainerStatuses"] = [{"name": "config", "restartCount": 0, "image": "x",
                                                   "state": {"waiting": {"reason": "ImagePullBackOff"}}}]
    result = assess(deps, rss, pods)
    assert result["state"] == "failed"
    assert result["failures"][0]["container"] == "config"


def test_old_pod_crashing_is_not_a_failure():
    deps, rss, pods = after_hop2()
    proxy = find(deps, "proxy")[0]
    old_rs = f.replicaset(proxy, revision=0, image=OLD)
    old = f.pod("proxy", image=OLD, rs=old_rs, waiting="CrashLoopBackOff", restarts=7, index=5)
    result = assess(deps, rss + [old_rs], pods + [old])
    assert result["state"] == "rolling"
    assert result["failures"] == []


def test_transient_waiting_is_not_a_failure():
    deps, rss, pods = after_hop2()
    qn_rs = [rs for rs in rss if "querynode" in rs["metadata"]["name"]][0]
    starting = f.pod("querynode", image=NEW, rs=qn_rs, waiting="ContainerCreating", index=3)
    find(deps, "querynode")[0]["status"].update({"replicas": 2, "readyReplicas": 1})
    result = assess(deps, rss, pods + [starting])
    assert result["state"] == "rolling"
    assert result["failures"] == []
    # the slow pod is named with where it stands, beside the component's count
    name = starting["metadata"]["name"]
    assert any(w == "querynode: pod %s Pending (ContainerCreating)" % name or
               w == "querynode: pod %s Running (ContainerCreating)" % name for w in result["waiting_for"]), \
        result["waiting_for"]


def test_a_not_ready_pod_alone_does_not_hold_a_component_that_is_ready():
    deps, rss, pods = after_hop2()
    qn_rs = [rs for rs in rss if "querynode" in rs["metadata"]["name"]][0]
    surplus = f.pod("querynode", image=NEW, rs=qn_rs, waiting="ContainerCreating", index=3)
    result = assess(deps, rss, pods + [surplus])   # the Deployment itself reports every replica ready
    assert result["state"] == "ready", result["waiting_for"]


def test_unschedulable_pod_is_reported_in_waiting():
    deps, rss, pods = after_hop2()
    qn_rs = [rs for rs in rss if "querynode" in rs["metadata"]["name"]][0]
    pending = f.pod("querynode", image=NEW, rs=qn_rs, unschedulable=True, index=4)
    find(deps, "querynode")[0]["status"].update({"replicas": 2})
    result = assess(deps, rss, pods + [pending])
    assert result["state"] == "rolling"
    assert any("unschedulable" in w and "Insufficient memory" in w for w in result["waiting_for"])


def test_unexpected_milvus_deployment_must_also_be_rolled_out():
    deps, rss, pods = after_hop2()
    extra_deps, extra_rss, extra_pods = f.rollout(["standalone"], image=OLD)
    result = assess(deps + extra_deps, rss + extra_rss, pods + extra_pods)
    assert result["state"] == "rolling"
    assert result["components"]["standalone"]["expected"] is False


def test_expected_none_means_every_present_deployment():
    deps, rss, pods = after_hop2()
    result = r.assess(deps, rss, pods, NEW)
    assert result["state"] == "ready"
    assert sorted(result["components"]) == HOP2


def test_other_release_and_pulsar_objects_are_ignored():
    deps, rss, pods = after_hop2()
    other_deps, other_rss, other_pods = f.rollout(["querynode"], release="other", image=OLD)
    pulsar_proxy = {"kind": "Pod", "metadata": {"name": "rel-pulsar-proxy-0", "labels": {
        "app": "pulsar", "release": "rel", "component": "proxy"}},
        "spec": {"containers": [{"name": "proxy", "image": "apachepulsar/pulsar:2.9.5"}]},
        "status": {"containerStatuses": [{"name": "proxy", "restartCount": 9,
                                          "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    result = assess(deps + other_deps, rss + other_rss, pods + other_pods + [pulsar_proxy], release="rel")
    assert result["state"] == "ready"


def test_zero_replicas_component_is_ready():
    deps, rss, pods = after_hop2()
    qn = find(deps, "querynode")[0]
    qn["spec"]["replicas"] = 0
    qn["status"] = {"observedGeneration": 2}
    pods = [p for p in pods if p["metadata"]["labels"]["component"] != "querynode"]
    assert assess(deps, rss, pods)["state"] == "ready"


def test_component_of():
    dep = f.deployment("querynode")
    assert r.component_of(dep) == "querynode"
    assert r.component_of(dep, release="rel") == "querynode"
    assert r.component_of(dep, release="other") is None
    assert r.component_of({"metadata": {"labels": {"app": "pulsar", "component": "proxy"}}}) is None
    assert r.component_of({}) is None


def test_newest_replicaset():
    dep = f.deployment("proxy")
    rs1, rs3, rs2 = f.replicaset(dep, 1, OLD), f.replicaset(dep, 3, NEW), f.replicaset(dep, 2, "x/y:v1.0.0")
    other = f.replicaset(f.deployment("querynode"), 9)
    assert r.newest_replicaset(dep, [rs1, rs3, rs2, other])["metadata"]["name"] == rs3["metadata"]["name"]
    assert r.newest_replicaset(dep, [other]) is None


def test_assess_with_a_name_override_judges_the_renamed_components_only():
    deployments, replicasets, pods = f.rollout(["proxy", "mixcoord"], image="milvusdb/milvus:v2.5.16")
    for obj in deployments + pods:
        obj["metadata"]["labels"]["app.kubernetes.io/name"] = "vdb"
    verdict = r.assess(deployments, replicasets, pods, "milvusdb/milvus:v2.5.16", ["proxy", "mixcoord"], [], "rel", "vdb")
    assert verdict["state"] == "ready" and sorted(verdict["components"]) == ["mixcoord", "proxy"]
    verdict = r.assess(deployments, replicasets, pods, "milvusdb/milvus:v2.5.16", ["proxy", "mixcoord"], [], "rel")
    assert verdict["state"] == "rolling"
    assert verdict["components"]["proxy"]["reason"] == "Deployment not created yet"


# -- where each new pod of a slow rollout stands -------------------------------------------------------

def _pod_status(phase, conditions=(), waiting=(), init_waiting=()):
    return {"status": {"phase": phase, "conditions": [{"type": t, "status": s} for t, s in conditions],
                       "containerStatuses": [{"name": "c%d" % i, "state": {"waiting": {"reason": r}}}
                                             for i, r in enumerate(waiting)],
                       "initContainerStatuses": [{"name": "i%d" % i, "state": {"waiting": {"reason": r}}}
                                                 for i, r in enumerate(init_waiting)]}}


@pytest.mark.parametrize("pod,state", [
    (_pod_status("Pending"), "Pending (not scheduled yet)"),
    (_pod_status("Pending", [("PodScheduled", "True")]), "Pending (scheduled, containers not started yet)"),
    (_pod_status("Pending", [("PodScheduled", "True")], ["ContainerCreating"]), "Pending (ContainerCreating)"),
    (_pod_status("Pending", [("PodScheduled", "True")], init_waiting=["PodInitializing"]), "Pending (PodInitializing)"),
    (_pod_status("Running", [("Ready", "False")]), "Running, not ready"),
    (_pod_status("Running", [("Ready", "True")]), None),
    ({}, "Pending (not scheduled yet)"),
])
def test_pod_not_ready_state(pod, state):
    assert r.pod_not_ready_state(pod) == state

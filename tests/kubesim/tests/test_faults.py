"""Pod faults look like a real kubelet's reports and recover when cleared; API faults; control API."""

import json
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from .test_client import api_client
from .test_controllers import deployment, rollout_done
from .util import wait_for


def pods(cluster, app):
    return cluster.store.list("pods", "default", f"app={app}")


def cstatus(pod):
    return (pod.get("status") or {}).get("containerStatuses", [{}])[0]


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions", []))


def control(cluster, method, path, body=None):
    req = urllib.request.Request(cluster.url + "/kubesim/" + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("fault,check", [
    ("crashloop", lambda p, cs: p["status"]["phase"] == "Running" and cs["restartCount"] >= 2 and
     cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" and
     cs["lastState"]["terminated"]["reason"] == "Error" and cs["lastState"]["terminated"]["exitCode"] == 1),
    ("oomkilled", lambda p, cs: cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" and
     cs["lastState"]["terminated"]["reason"] == "OOMKilled" and cs["restartCount"] >= 1),
    ("imagepull", lambda p, cs: p["status"]["phase"] == "Pending" and
     cs["state"]["waiting"]["reason"] == "ImagePullBackOff" and cs["restartCount"] == 0),
    ("configerror", lambda p, cs: p["status"]["phase"] == "Pending" and
     cs["state"]["waiting"]["reason"] == "CreateContainerConfigError"),
    ("neverready", lambda p, cs: p["status"]["phase"] == "Running" and "running" in cs["state"] and
     cs["ready"] is False and cs["started"] is True),
])
def test_pod_fault_and_recovery(kubesim, fault, check):
    kubesim.set_config(restart_interval=0.1)
    rule = kubesim.faults.add({"type": fault, "image": "bad:"})
    apps = client.AppsV1Api(api_client(kubesim))
    apps.create_namespaced_deployment("default", deployment("f", "bad:1", replicas=2))
    seen_pull_error = []

    def faulty():
        ps = pods(kubesim, "f")
        for p in ps:
            if (cstatus(p).get("state") or {}).get("waiting", {}).get("reason") == "ErrImagePull":
                seen_pull_error.append(True)
        # a pod the kubelet has not reported on yet has no container status to judge
        return len(ps) == 2 and all(cstatus(p).get("state") and check(p, cstatus(p)) and not ready(p) for p in ps)
    wait_for(faulty, timeout=10, what=f"{fault} pod state")
    if fault == "imagepull":
        assert seen_pull_error, "ErrImagePull comes before ImagePullBackOff"
    d = kubesim.store.get("deployments", "f", "default")
    assert d["status"].get("availableReplicas") is None and d["status"]["unavailableReplicas"] == 2
    assert kubesim.store.get("deployments", "f", "default")["status"]["conditions"][0]["status"] == "False"
    kubesim.faults.remove(rule["id"])
    wait_for(lambda: rollout_done(kubesim, "f"), timeout=10, what="recovery after clearing the rule")
    assert all(ready(p) and cstatus(p)["state"].get("running") for p in pods(kubesim, "f"))
    if fault in ("crashloop", "oomkilled"):
        assert all(cstatus(p)["restartCount"] >= 1 for p in pods(kubesim, "f"))


def test_fault_by_component_only_hits_that_component(kubesim):
    kubesim.faults.add({"type": "crashloop", "component": "querynode"})
    apps = client.AppsV1Api(api_client(kubesim))
    for comp in ("querynode", "datanode"):
        d = deployment(comp, "milvusdb/milvus:v2.5.16", replicas=1)
        for obj in (d["spec"]["selector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"]):
            obj["component"] = comp
        apps.create_namespaced_deployment("default", d)
    wait_for(lambda: rollout_done(kubesim, "datanode"), what="datanode ready")
    wait_for(lambda: pods(kubesim, "querynode") and
             cstatus(pods(kubesim, "querynode")[0]).get("state", {}).get("waiting", {}).get("reason")
             == "CrashLoopBackOff", what="querynode crash loop")
    cs = cstatus(pods(kubesim, "datanode")[0])
    assert cs["image"] == "docker.io/milvusdb/milvus:v2.5.16" and cs["imageID"].startswith(
        "docker.io/milvusdb/milvus@sha256:")


def test_api_error_rate_latency_and_outage(kubesim):
    core = client.CoreV1Api(api_client(kubesim))
    rule = kubesim.faults.add({"type": "error", "rate": 1.0, "code": 503, "verb": "list", "path": "configmaps"})
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map("default")
    assert e.value.status == 503
    assert core.read_namespace("default").metadata.name == "default"     # filter: other requests pass
    kubesim.faults.remove(rule["id"])
    core.list_namespaced_config_map("default")
    # A partial rate with a seed fails about that fraction.
    kubesim.faults.add({"type": "error", "rate": 0.5, "code": 500, "seed": 7, "path": "namespaces"})
    failures = 0
    for _ in range(40):
        try:
            core.read_namespace("default")
        except ApiException as err:
            assert err.status == 500
            failures += 1
    assert 8 <= failures <= 32
    kubesim.faults.clear()
    kubesim.faults.add({"type": "latency", "ms": 150})
    t = time.monotonic()
    core.read_namespace("default")
    assert time.monotonic() - t >= 0.15
    kubesim.faults.clear()
    # Outage window: 503 now, recovers after its duration.
    kubesim.faults.add({"type": "outage", "duration": 0.6})
    with pytest.raises(ApiException) as e:
        core.read_namespace("default")
    assert e.value.status == 503
    wait_for(lambda: _ok(core), timeout=5, interval=0.1, what="outage over")
    # Refused connections, starting after a delay.
    kubesim.faults.add({"type": "outage", "mode": "refuse", "delay": 0.3, "duration": 0.6})
    assert _ok(core)
    time.sleep(0.35)   # the scheduled start of the window, not a wait for a result
    with pytest.raises(Exception) as e:
        urllib.request.urlopen(kubesim.url + "/version", timeout=2)
    assert not isinstance(e.value, urllib.error.HTTPError)
    wait_for(lambda: _ok(core), timeout=5, interval=0.1, what="refuse window over")
    assert "outage" not in json.dumps(kubesim.faults.list())


def _ok(core):
    try:
        core.read_namespace("default", _request_timeout=2)
        return True
    except Exception:
        return False


def test_control_api(kubesim):
    core = client.CoreV1Api(api_client(kubesim))
    assert control(kubesim, "GET", "healthz")[1]["ok"] is True
    control(kubesim, "DELETE", "counters")
    core.list_namespaced_pod("default")
    core.list_namespaced_pod("default")
    core.read_namespace("default")
    counters = control(kubesim, "GET", "counters")[1]["counters"]
    assert counters["list pods"] == 2 and counters["get namespaces"] == 1
    assert control(kubesim, "DELETE", "counters")[1] == {"counters": {}}
    code, body = control(kubesim, "POST", "faults", {"type": "crashloop", "component": "proxy"})
    assert code == 201 and body["faults"][0]["id"]
    assert control(kubesim, "POST", "faults", {"type": "bogus"})[0] == 400
    fid = body["faults"][0]["id"]
    assert [f["id"] for f in control(kubesim, "GET", "faults")[1]["faults"]] == [fid]
    assert control(kubesim, "DELETE", f"faults/{fid}")[0] == 200
    assert control(kubesim, "GET", "faults")[1]["faults"] == []
    assert control(kubesim, "PUT", "config", {"pod_start_delay": 0.3})[1]["pod_start_delay"] == 0.3
    assert control(kubesim, "GET", "config")[1]["pod_start_delay"] == 0.3
    assert control(kubesim, "PUT", "config", {"nope": 1})[0] == 400
    t0 = time.time()
    client.AppsV1Api(api_client(kubesim)).create_namespaced_deployment("default", deployment("slow", "a:1", 1))
    wait_for(lambda: rollout_done(kubesim, "slow"), what="slow rollout")
    evs = control(kubesim, "GET", f"events?since={t0}")[1]["events"]
    ready_ev = [e for e in evs if e["type"] == "PodReady"]
    assert ready_ev and ready_ev[0]["ts"] - t0 >= 0.3     # pod_start_delay honoured
    assert [e for e in evs if e["type"] == "DeploymentRolloutComplete" and e["name"] == "slow"]
    assert control(kubesim, "GET", f"events?since={time.time() + 1}")[1]["events"] == []


def test_crash_loop_restarts_at_the_configured_pace(kubesim):
    kubesim.set_config(restart_interval=0.2)
    kubesim.faults.add({"type": "crashloop", "image": "bad:"})
    kubesim.store.create("deployments", "default", deployment("pace", "bad:1", replicas=1))
    wait_for(lambda: pods(kubesim, "pace") and cstatus(pods(kubesim, "pace")[0]).get("restartCount", 0) >= 1,
             what="first restart")
    t0, rv0 = time.monotonic(), int(kubesim.store.resource_version)
    wait_for(lambda: cstatus(pods(kubesim, "pace")[0])["restartCount"] >= 3, what="two more restarts")
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.3, "restarts must not spin faster than restart_interval"
    assert int(kubesim.store.resource_version) - rv0 < 20


def test_progress_deadline_exceeded(kubesim):
    kubesim.set_config(restart_interval=0.2)
    kubesim.faults.add({"type": "imagepull", "image": "missing:"})
    d = deployment("stuck", "missing:1", replicas=1)
    d["spec"]["progressDeadlineSeconds"] = 1
    kubesim.store.create("deployments", "default", d)

    def exceeded():
        conds = {c["type"]: c for c in (kubesim.store.get("deployments", "stuck", "default").get("status") or {})
                 .get("conditions", [])}
        p = conds.get("Progressing", {})
        return p.get("status") == "False" and p.get("reason") == "ProgressDeadlineExceeded"
    wait_for(exceeded, timeout=6, what="ProgressDeadlineExceeded")

"""The real control plane itself: pinned versions, isolation, kwok's lifecycle, the Milvus endpoints
through the API server's proxies, volumes, pod faults and an API server that stops and starts."""

import json
import os
import socket
import subprocess

import pytest

from tests.controlplane import netns
from tests.controlplane.cluster import versions
from tests.harness import HELM
from tests.kubesim.tests.util import wait_for

NS = "cp-selftest"


def deployment(name, image, labels):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": dict(labels, app=name)},
                                  "spec": {"containers": [{"name": "main", "image": image,
                                                           "ports": [{"containerPort": 9091, "name": "metrics"}]}]}}}}


@pytest.fixture(scope="module")
def api(control_plane):
    control_plane.api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    yield control_plane.api
    control_plane.api.request("DELETE", "/api/v1/namespaces/" + NS)


def pods_of(api, app):
    return api.get("/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s" % (NS, app))["items"]


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def test_runs_the_pinned_version_inside_an_isolated_namespace(control_plane):
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
    netns.require_isolated()
    assert control_plane.api.get("/version")["gitVersion"] == versions()["KUBERNETES_VERSION"]
    nodes = control_plane.api.get("/api/v1/nodes")["items"]
    assert nodes and all(n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake" for n in nodes)


def test_a_deployment_rolls_out_and_its_pod_answers_through_the_service_proxy(api):
    labels = {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": "selftest", "component": "proxy"}
    api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("proxy", "milvusdb/milvus:v2.5.16", labels))
    api.ensure("/api/v1/namespaces/%s/services" % NS, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "proxy"},
        "spec": {"selector": {"app": "proxy"}, "ports": [{"name": "metrics", "port": 9091, "targetPort": "metrics"}]}})
    pod = wait_for(lambda: [p for p in pods_of(api, "proxy") if ready(p)], 60, 0.2, "the proxy pod Ready")[0]
    assert pod["status"]["podIP"].startswith("10.244.")
    assert pod["spec"]["nodeName"].startswith("fake-node-")      # placed by the real scheduler
    status, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(
        api.request("GET", "/api/v1/namespaces/%s/services/proxy:9091/proxy/healthz" % NS)), 60, 0.2,
        "the service proxy to answer")
    assert body == "OK"
    status, body = api.request("GET", "/api/v1/namespaces/%s/pods/%s:9091/proxy/metrics" % (NS, pod["metadata"]["name"]))
    assert status == 200 and 'milvus_build_info{built="kubesim",git_commit="0000000",version="v2.5.16"}' in body


def test_a_statefulset_claim_is_bound_and_its_pod_runs(api):
    api.ensure("/apis/apps/v1/namespaces/%s/statefulsets" % NS, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "store"},
        "spec": {"serviceName": "store", "replicas": 1, "selector": {"matchLabels": {"app": "store"}},
                 "template": {"metadata": {"labels": {"app": "store"}},
                              "spec": {"containers": [{"name": "main", "image": "minio/minio:1"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data", "annotations": None},
                                           "spec": {"accessModes": ["ReadWriteOnce"],
                                                    "resources": {"requests": {"storage": "1Gi"}}}}]}})
    wait_for(lambda: [p for p in pods_of(api, "store") if ready(p)], 90, 0.2, "the StatefulSet's pod Ready")
    claim = api.get("/api/v1/namespaces/%s/persistentvolumeclaims/data-store-0" % NS)
    assert claim["status"]["phase"] == "Bound"


@pytest.mark.parametrize("kind, reason", [("crashloop", "CrashLoopBackOff"), ("imagepull", "ImagePullBackOff")])
def test_a_pod_fault_is_played_for_the_matching_image_only_and_clears(control_plane, api, kind, reason):
    from tests.controlplane.faults import Faults
    faults = Faults(control_plane, NS)
    faults.add({"type": kind, "image": "v9.9.9"})
    try:
        name = "faulty-" + kind
        api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment(name, "milvusdb/milvus:v9.9.9", {}))
        api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment(name + "-ok", "milvusdb/milvus:v1.0.0", {}))

        def waiting_reason():
            for pod in pods_of(api, name):
                for status in pod.get("status", {}).get("containerStatuses") or []:
                    if (status.get("state", {}).get("waiting") or {}).get("reason") == reason:
                        return pod
        pod = wait_for(waiting_reason, 60, 0.2, "%s on the faulty pod" % reason)
        assert not ready(pod)
        wait_for(lambda: [p for p in pods_of(api, name + "-ok") if ready(p)], 60, 0.2, "the other image Ready")
    finally:
        faults.clear()
    wait_for(lambda: [p for p in pods_of(api, name) if ready(p)], 60, 0.2, "the pod Ready once the fault is gone")


def test_cordoned_nodes_leave_new_pods_pending_as_unschedulable(control_plane, api):
    from tests.controlplane.faults import Faults
    faults = Faults(control_plane, NS)
    faults.add({"type": "unschedulable"})
    try:
        api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("unplaced", "busybox:1", {}))

        def unschedulable():
            for pod in pods_of(api, "unplaced"):
                for c in pod.get("status", {}).get("conditions", []):
                    if c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable":
                        return pod
        assert wait_for(unschedulable, 60, 0.2, "the scheduler's Unschedulable")["status"]["phase"] == "Pending"
    finally:
        faults.clear()
    wait_for(lambda: [p for p in pods_of(api, "unplaced") if ready(p)], 60, 0.2, "scheduled once uncordoned")


def test_the_api_server_stops_and_starts_with_its_state(control_plane, api):
    before = api.get("/apis/apps/v1/namespaces/%s/deployments/proxy" % NS)
    control_plane.stop_apiserver()
    with pytest.raises(OSError):
        api.request("GET", "/version", timeout=2)
    control_plane.start_apiserver()
    after = api.get("/apis/apps/v1/namespaces/%s/deployments/proxy" % NS)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]


def test_a_start_delay_holds_the_pods_of_its_namespace_only_and_lets_waiting_pods_start_when_cleared(
        control_plane, api):
    import time
    from tests.controlplane.faults import Faults
    other = NS + "-prompt"
    api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    faults = Faults(control_plane, NS)
    faults.set_start_delay(6)
    try:
        started = time.monotonic()
        api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("slow", "busybox:1", {}))
        api.ensure("/apis/apps/v1/namespaces/%s/deployments" % other, dict(
            deployment("prompt", "busybox:1", {}), metadata={"name": "prompt", "namespace": other}))
        prompt = "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dprompt" % other
        wait_for(lambda: [p for p in api.get(prompt)["items"] if ready(p)], 60, 0.1, "the other namespace's pod")
        bound = wait_for(lambda: [p for p in pods_of(api, "slow") if p["spec"].get("nodeName")], 60, 0.1,
                         "the delayed pod bound")
        assert not ready(bound[0])
        wait_for(lambda: [p for p in pods_of(api, "slow") if ready(p)], 60, 0.1, "the delayed pod Ready")
        assert time.monotonic() - started >= 6      # kwok played the delay, from binding on
        # a pod bound while the delay is set keeps it when the delay is cleared (as the simulator does)
        api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("slower", "busybox:1", {}))
        wait_for(lambda: [p for p in pods_of(api, "slower") if p["spec"].get("nodeName")], 60, 0.1,
                 "the second delayed pod bound")
    finally:
        faults.set_start_delay(0)
        api.request("DELETE", "/api/v1/namespaces/" + other)
    wait_for(lambda: [p for p in pods_of(api, "slower") if ready(p)], 60, 0.1, "the waiting pod Ready")
    assert api.get("/apis/kwok.x-k8s.io/v1alpha1/stages/" + faults.start_delay_name) is None


def test_a_restart_written_as_the_kubelet_writes_it_is_kept(control_plane, api):
    from tests.controlplane.api import Store
    store = Store(control_plane.api)
    api.ensure("/apis/apps/v1/namespaces/%s/deployments" % NS, deployment("restarting", "busybox:1", {}))
    pod = wait_for(lambda: [p for p in pods_of(api, "restarting") if ready(p)], 60, 0.1, "the pod Ready")[0]

    def restart(obj):
        status = obj["status"]["containerStatuses"][0]
        status["restartCount"] = status.get("restartCount", 0) + 1
        status["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                              "startedAt": "2025-01-01T00:00:00Z", "finishedAt": "2025-01-01T00:00:01Z"}}
    written = store.mutate("pods", NS, pod["metadata"]["name"], restart, subresource="status")
    assert written["status"]["containerStatuses"][0]["restartCount"] == 1
    after = store.get("Pod", pod["metadata"]["name"], NS)
    assert after["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert ready(after) and after["spec"] == pod["spec"]


def test_helms_client_side_openapi_check_leaves_field_validation_to_the_server(control_plane, api, tmp_path):
    """What milvus_helm_hop's render guard relies on from 1.27 (module_utils/helm.py client_side_openapi_check):
    helm's OpenAPI check of a render validates nothing against this API server, which validates fields itself."""
    bad = deployment("unknown-fields", "busybox:1", {})
    bad["spec"]["notAField"] = 3
    bad["spec"]["template"]["spec"]["containers"][0]["bogus"] = True
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: unknown-fields\nversion: 0.1.0\n")
    (chart / "templates" / "deployment.yaml").write_text(json.dumps(bad))
    env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(control_plane.admin_kubeconfig))
    for check in ([], ["--disable-openapi-validation"]):
        proc = subprocess.run([HELM, "install", "unknown-fields", str(chart), "--namespace", NS, "--dry-run=server", *check],
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr      # with helm's check as without it: nothing was checked
    status, body = api.request("POST", "/apis/apps/v1/namespaces/%s/deployments?dryRun=All&fieldValidation=Strict" % NS,
                               bad)
    assert status in (400, 422), (status, body)
    assert "notAField" in json.dumps(body) and "bogus" in json.dumps(body)

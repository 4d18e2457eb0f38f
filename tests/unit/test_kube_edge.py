"""The collection's Kubernetes edge (plugins/module_utils/kube.py) against a live kubesim API server.

It builds its own requests on the kubernetes client's connection pool, so paths, query strings, auth
headers, status handling and the watch stream are checked here against a server, not a mock.
"""

import sys
import threading
from pathlib import Path

import pytest

from ansible_collections.milvusops.cluster.plugins.module_utils.kube import Conflict, Kube, KubeError

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.kubesim.server import Cluster  # noqa: E402
from tests.kubesim.tests.test_controllers import deployment  # noqa: E402


@pytest.fixture
def kubesim():
    cluster = Cluster(name="edge", pod_start_delay=0.0, terminate_delay=0.1).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def params(cluster, tmp_path, **extra):
    return dict({"kubeconfig": cluster.kubeconfig(str(tmp_path / "kubeconfig"), "sim"), "context": "sim",
                 "validate_certs": True}, **extra)


def lease(name, holder, resource_version=None, seconds=60):
    meta = {"name": name}
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds}}


def test_reads_lists_by_label_and_missing_objects(kubesim, tmp_path):
    kubesim.store.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "a.b", "labels": {"app": "x"}}})
    kubesim.store.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "other", "labels": {"app": "y"}}})
    kube = Kube(params(kubesim, tmp_path))
    assert kube.server_version() == "1.31.0"
    assert kube.namespace_exists("default") and not kube.namespace_exists("nope")
    items, resource_version = kube.list("ConfigMap", "default", "app=x")
    assert [i["metadata"]["name"] for i in items] == ["a.b"] and resource_version
    assert kube.read("ConfigMap", "default", "a.b")["metadata"]["labels"] == {"app": "x"}
    assert kube.read("ConfigMap", "default", "missing") is None
    assert kube.list("Deployment", "default", "app=none") == ([], kube.list("Deployment", "default")[1])


def test_watch_streams_changes_after_the_listed_version(kubesim, tmp_path):
    kube = Kube(params(kubesim, tmp_path))
    _, resource_version = kube.list("Deployment", "default", "app=w")
    seen = []

    def consume():
        for etype, obj in kube.watch("Deployment", "default", "app=w", resource_version, 5):
            seen.append((etype, obj["metadata"]["name"]))
            if len(seen) >= 2:
                return

    thread = threading.Thread(target=consume)
    thread.start()
    for name, labels in (("w", {"app": "w"}), ("unrelated", {"app": "u"})):
        body = deployment(name, "img:1")
        body["metadata"]["labels"] = labels
        kubesim.store.create("deployments", "default", body)
    kubesim.store.mutate("deployments", "default", "w", lambda d: d["spec"].__setitem__("replicas", 2))
    thread.join(10)
    assert not thread.is_alive()
    assert seen == [("ADDED", "w"), ("MODIFIED", "w")]


def test_lease_writes_are_optimistic(kubesim, tmp_path):
    kube = Kube(params(kubesim, tmp_path))
    created = kube.create_lease("default", lease("lk", "me"))
    with pytest.raises(Conflict):
        kube.create_lease("default", lease("lk", "someone else"))
    stale = created["metadata"]["resourceVersion"]
    renewed = kube.replace_lease("default", lease("lk", "me", stale, seconds=90))
    assert renewed["metadata"]["resourceVersion"] != stale
    with pytest.raises(Conflict):                       # written over a version we no longer hold
        kube.replace_lease("default", lease("lk", "me", stale, seconds=120))
    with pytest.raises(KubeError):                      # deleting a version someone changed is refused
        kube.delete_lease("default", "lk", stale)
    assert kube.read_lease("default", "lk")["spec"]["holderIdentity"] == "me"
    kube.delete_lease("default", "lk", renewed["metadata"]["resourceVersion"])
    assert kube.read_lease("default", "lk") is None


def test_delete_takes_only_the_object_it_saw_and_an_absent_one_is_no_error(kubesim, tmp_path):
    kube = Kube(params(kubesim, tmp_path))
    seen = kubesim.store.create("deployments", "default", deployment("kept", "img:1"))
    kubesim.store.delete("deployments", "default", "kept")
    kubesim.store.create("deployments", "default", deployment("kept", "img:2"))     # the same name, another object
    with pytest.raises(Conflict):
        kube.delete("Deployment", "default", "kept", uid=seen["metadata"]["uid"])
    now = kube.read("Deployment", "default", "kept")
    assert now["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"
    kube.delete("Deployment", "default", "kept", uid=now["metadata"]["uid"])
    assert kube.read("Deployment", "default", "kept") is None
    kube.delete("Deployment", "default", "kept", uid=now["metadata"]["uid"])      # already gone


def test_service_proxy_get(kubesim, tmp_path):
    kube = Kube(params(kubesim, tmp_path))
    status, body = kube.proxy_get("Service", "default", "absent", 9091, "/healthz")
    assert status == 404 and body


def test_errors_name_the_request_and_say_whether_they_pass(kubesim, tmp_path):
    kube = Kube(params(kubesim, tmp_path))
    kubesim.faults.add({"type": "error", "code": 403, "rate": 1.0, "verb": "list", "path": "pods", "count": 1})
    with pytest.raises(KubeError) as denied:
        kube.list("Pod", "default")
    assert "GET /api/v1/namespaces/default/pods failed with 403" in str(denied.value)
    assert not denied.value.transient
    # the client's read retries ride through a short burst of 503s on their own
    kubesim.faults.add({"type": "error", "code": 503, "rate": 1.0, "verb": "list", "path": "pods", "count": 2})
    assert kube.list("Pod", "default")[0] == []
    kubesim.faults.add({"type": "error", "code": 503, "rate": 1.0, "verb": "create", "path": "leases", "count": 1})
    with pytest.raises(KubeError) as unavailable:       # writes are not repeated blindly
        kube.create_lease("default", lease("l2", "me"))
    assert unavailable.value.transient and "failed with 503" in str(unavailable.value)
    assert kube.read_lease("default", "l2") is None


def test_token_and_tls_from_explicit_options(tmp_path):
    cluster = Cluster(name="secure", tls=True, token="s3cret").start()
    try:
        base = {"host": cluster.url, "ca_cert": cluster.ca_cert_path, "validate_certs": True}
        assert Kube(dict(base, api_key="s3cret")).namespace_exists("default")
        with pytest.raises(KubeError) as wrong:
            Kube(dict(base, api_key="wrong")).namespace_exists("default")
        assert "failed with 401" in str(wrong.value) and "s3cret" not in str(wrong.value)
        with pytest.raises(KubeError) as untrusted:
            Kube({"host": cluster.url, "api_key": "s3cret", "validate_certs": True}).server_version()
        assert "not signed by the CA" in str(untrusted.value) and not untrusted.value.transient
    finally:
        cluster.stop()

"""The kubernetes Python client against kubesim: CRUD, conflicts, three patch types, watch, TLS."""

import threading

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.kubesim.server import Cluster
from .util import wait_for


def api_client(cluster, **kw):
    cfg = client.Configuration()
    cfg.host = cluster.url
    for k, v in kw.items():
        setattr(cfg, k, v)
    return client.ApiClient(cfg)


def cm(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {"k": "v"}}


def test_crud_conflict_and_patches(kubesim):
    core = client.CoreV1Api(api_client(kubesim))
    created = core.create_namespaced_config_map("default", cm("a", {"app": "x"}))
    assert created.metadata.uid and created.metadata.resource_version
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("default", cm("a"))
    assert e.value.status == 409 and '"reason":"AlreadyExists"' in e.value.body.replace(" ", "")
    read = core.read_namespaced_config_map("a", "default")
    assert read.data == {"k": "v"}
    # Replace with the current resourceVersion works, a stale one is a 409 Conflict.
    read.data = {"k": "v2"}
    replaced = core.replace_namespaced_config_map("a", "default", read)
    assert replaced.metadata.resource_version != created.metadata.resource_version
    assert replaced.metadata.uid == created.metadata.uid
    assert replaced.metadata.creation_timestamp == created.metadata.creation_timestamp
    read.data = {"k": "stale"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("a", "default", read)
    assert e.value.status == 409 and "Conflict" in e.value.body
    # No-op replace: no new resourceVersion.
    same = core.replace_namespaced_config_map("a", "default", replaced)
    assert same.metadata.resource_version == replaced.metadata.resource_version
    # Strategic merge (dict body), JSON merge, JSON patch.
    p1 = core.patch_namespaced_config_map("a", "default", {"data": {"x": "1"}})
    assert p1.data == {"k": "v2", "x": "1"}
    p2 = core.patch_namespaced_config_map("a", "default", {"data": {"k": None}},
                                          _content_type="application/merge-patch+json")
    assert p2.data == {"x": "1"}
    p3 = core.patch_namespaced_config_map("a", "default", [{"op": "add", "path": "/data/y", "value": "2"}])
    assert p3.data == {"x": "1", "y": "2"}
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("a", "default", [{"op": "test", "path": "/data/y", "value": "9"}])
    assert e.value.status in (400, 422)
    # Lists and selectors.
    core.create_namespaced_config_map("default", cm("b", {"app": "y", "tier": "t"}))
    core.create_namespaced_config_map("default", cm("c", {"app": "z"}))
    names = lambda sel: sorted(i.metadata.name for i in core.list_namespaced_config_map(
        "default", label_selector=sel).items)
    assert names("app=x") == ["a"]
    assert names("app==y") == ["b"]
    assert names("app!=x") == ["b", "c"]
    assert names("app in (x,z)") == ["a", "c"]
    assert names("app notin (x,z)") == ["b"]
    assert names("tier") == ["b"]
    assert names("!tier") == ["a", "c"]
    assert [i.metadata.name for i in core.list_namespaced_config_map(
        "default", field_selector="metadata.name=c").items] == ["c"]
    assert {i.metadata.name for i in core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace=default").items} == {"a", "b", "c"}
    core.delete_namespaced_config_map("a", "default")
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("a", "default")
    assert e.value.status == 404 and "NotFound" in e.value.body
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("missing", cm("a"))
    assert e.value.status == 404


def test_watch_with_selectors(kubesim):
    core = client.CoreV1Api(api_client(kubesim))
    core.create_namespaced_config_map("default", cm("pre", {"app": "w"}))
    start_rv = core.list_namespaced_config_map("default").metadata.resource_version
    seen = []
    ready = threading.Event()

    def watcher():
        w = watch.Watch()
        ready.set()
        for ev in w.stream(core.list_namespaced_config_map, "default", label_selector="app=w",
                           timeout_seconds=5):
            seen.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "DELETED" and ev["object"].metadata.name == "one":
                w.stop()

    t = threading.Thread(target=watcher)
    t.start()
    ready.wait()
    wait_for(lambda: ("ADDED", "pre") in seen, what="initial ADDED")
    core.create_namespaced_config_map("default", cm("other", {"app": "nope"}))
    core.create_namespaced_config_map("default", cm("one", {"app": "w"}))
    core.patch_namespaced_config_map("one", "default", {"data": {"n": "1"}})
    # Stops matching the selector: the watcher sees DELETED.
    core.patch_namespaced_config_map("one", "default", {"metadata": {"labels": {"app": "gone"}}})
    t.join(10)
    assert seen == [("ADDED", "pre"), ("ADDED", "one"), ("MODIFIED", "one"), ("DELETED", "one")]
    # Replay from a resourceVersion.
    replay = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, "default", resource_version=start_rv, timeout_seconds=1)]
    assert replay[:2] == [("ADDED", "other"), ("ADDED", "one")]


def test_tls_and_token(tmp_path):
    cluster = Cluster(name="secure", tls=True, token="s3cret").start()
    try:
        ok = client.CoreV1Api(api_client(cluster, ssl_ca_cert=cluster.ca_cert_path,
                                         api_key={"authorization": "Bearer s3cret"}))
        assert ok.read_namespace("default").metadata.name == "default"
        no_token = client.CoreV1Api(api_client(cluster, ssl_ca_cert=cluster.ca_cert_path))
        with pytest.raises(ApiException) as e:
            no_token.read_namespace("default")
        assert e.value.status == 401
        other = Cluster(name="other", tls=True).start()
        try:
            wrong_ca = client.CoreV1Api(api_client(cluster, ssl_ca_cert=other.ca_cert_path,
                                                   api_key={"authorization": "Bearer s3cret"}))
            with pytest.raises(Exception) as e:
                wrong_ca.read_namespace("default", _request_timeout=5)
            assert "CERTIFICATE_VERIFY_FAILED" in str(e.value) or "certificate verify failed" in str(e.value)
        finally:
            other.stop()
        insecure = client.CoreV1Api(api_client(cluster, verify_ssl=False,
                                               api_key={"authorization": "Bearer s3cret"}))
        assert insecure.read_namespace("default").metadata.name == "default"
        # The kubeconfig written for the cluster carries the CA and the token.
        path = cluster.kubeconfig(str(tmp_path / "kc"), "secure-ctx")
        api = config.new_client_from_config(config_file=path, context="secure-ctx")
        assert client.CoreV1Api(api).read_namespace("kube-system").metadata.name == "kube-system"
    finally:
        cluster.stop()

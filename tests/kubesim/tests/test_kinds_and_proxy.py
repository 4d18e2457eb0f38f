"""Every served kind through raw HTTP; Milvus answers through the service and pod proxy."""

import json
import urllib.error
import urllib.request

import pytest
import yaml

from tests.kubesim import resources
from tests.kubesim.milvus import mq_from_config
from .test_controllers import deployment, rollout_done
from .util import wait_for

POD_SPEC = {"containers": [{"name": "c", "image": "img:1"}]}
TEMPLATE = {"metadata": {"labels": {"app": "k"}}, "spec": POD_SPEC}
SAMPLES = {
    "Pod": {"spec": POD_SPEC},
    "Service": {"spec": {"selector": {"app": "k"}, "ports": [{"port": 80}]}},
    "ConfigMap": {"data": {"a": "b"}},
    "Secret": {"stringData": {"a": "b"}},
    "ServiceAccount": {},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"],
                                       "resources": {"requests": {"storage": "1Gi"}}}},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/tmp/x"}}},
    "Namespace": {},
    "Event": {"involvedObject": {"kind": "Pod", "name": "x"}, "reason": "Test", "message": "m"},
    "Endpoints": {"subsets": []},
    "Node": {},
    "Deployment": {"spec": {"selector": {"matchLabels": {"app": "k"}}, "template": TEMPLATE}},
    "StatefulSet": {"spec": {"selector": {"matchLabels": {"app": "k"}}, "serviceName": "k", "template": TEMPLATE}},
    "ReplicaSet": {"spec": {"selector": {"matchLabels": {"app": "k"}}, "template": TEMPLATE}},
    "DaemonSet": {"spec": {"selector": {"matchLabels": {"app": "k"}}, "template": TEMPLATE}},
    "Job": {"spec": {"template": {"spec": dict(POD_SPEC, restartPolicy="Never")}}},
    "CronJob": {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}}},
    "Role": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "RoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                    "subjects": [{"kind": "ServiceAccount", "name": "default"}]},
    "ClusterRole": {"rules": []},
    "ClusterRoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                       "name": "r"}, "subjects": []},
    "PodDisruptionBudget": {"spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "k"}}}},
    "HorizontalPodAutoscaler": {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                            "name": "k"}, "minReplicas": 1, "maxReplicas": 3}},
    "Ingress": {"spec": {"rules": [{"host": "x.example"}]}},
    "NetworkPolicy": {"spec": {"podSelector": {}}},
    "Lease": {"spec": {"holderIdentity": "me"}},
    "StorageClass": {"provisioner": "x"},
}


def call(cluster, method, path, body=None, ctype="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(cluster.url + path, method=method, data=data, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if r.headers.get("Content-Type", "").startswith("application/json")
                              else raw.decode())
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode()


def test_samples_cover_every_kind():
    assert set(SAMPLES) == {r.kind for r in resources.RESOURCES}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_kind_create_read_patch_delete(kubesim, kind):
    res = resources.lookup(kind)
    base = f"{res.gv_path}/namespaces/default/{res.plural}" if res.namespaced else f"{res.gv_path}/{res.plural}"
    body = dict(json.loads(json.dumps(SAMPLES[kind])), apiVersion=res.api_version, kind=kind,
                metadata={"name": "k-obj", "labels": {"app": "k"}})
    code, created = call(kubesim, "POST", base, body)
    assert code == 201, created
    assert created["metadata"]["uid"] and created["kind"] == kind
    code, got = call(kubesim, "GET", f"{base}/k-obj")
    assert code == 200 and got["metadata"]["uid"] == created["metadata"]["uid"]
    code, patched = call(kubesim, "PATCH", f"{base}/k-obj", {"metadata": {"labels": {"extra": "1"}}},
                         "application/merge-patch+json")
    assert code == 200 and {"app": "k", "extra": "1"}.items() <= patched["metadata"]["labels"].items()
    code, listed = call(kubesim, "GET", f"{base}?labelSelector=extra%3D1")
    assert code == 200 and [i["metadata"]["name"] for i in listed["items"]] == ["k-obj"]
    assert listed["kind"] == kind + "List"
    code, _ = call(kubesim, "DELETE", f"{base}/k-obj", {"propagationPolicy": "Background"})
    assert code == 200
    if kind == "Pod":   # a scheduled pod terminates first
        wait_for(lambda: call(kubesim, "GET", f"{base}/k-obj")[0] == 404, what="pod gone")
    assert call(kubesim, "GET", f"{base}/k-obj")[0] == 404


def test_discovery_and_status_subresource(kubesim):
    code, doc = call(kubesim, "GET", "/apis/apps/v1")
    assert code == 200 and "deployments/status" in {r["name"] for r in doc["resources"]}
    assert call(kubesim, "GET", "/version")[1]["gitVersion"] == "v1.31.0"
    code, root = call(kubesim, "GET", "/openapi/v3")
    assert "apis/autoscaling/v2" in root["paths"]
    kubesim.store.create("deployments", "default", deployment("st", "a:1", 1))
    wait_for(lambda: rollout_done(kubesim, "st"))
    code, d = call(kubesim, "GET", "/apis/apps/v1/namespaces/default/deployments/st/status")
    assert code == 200 and d["status"]["readyReplicas"] == 1
    # A write to the main resource keeps status; spec changes bump generation.
    d["status"] = {"replicas": 99}
    d["spec"]["replicas"] = 2
    code, put = call(kubesim, "PUT", "/apis/apps/v1/namespaces/default/deployments/st", d)
    assert code == 200 and put["status"]["readyReplicas"] >= 1 and put["metadata"]["generation"] == 2
    code, err = call(kubesim, "PATCH", "/apis/apps/v1/namespaces/default/deployments/st", {"a": 1},
                     "application/apply-patch+yaml")
    assert code == 415 and err["reason"] == "UnsupportedMediaType"
    code, scale = call(kubesim, "GET", "/apis/apps/v1/namespaces/default/deployments/st/scale")
    assert code == 200 and scale["spec"]["replicas"] == 2


MILVUS_CONFIG = {"etcd": {"endpoints": ["rel-etcd:2379"]}, "mq": {"type": "pulsar"},
                 "pulsar": {"address": "rel-pulsar-proxy", "port": 6650}}


def milvus_release(cluster, user_yaml=""):
    cluster.store.create("configmaps", "default", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "rel-milvus", "labels": {"app.kubernetes.io/name": "milvus",
                                                      "app.kubernetes.io/instance": "rel"}},
        "data": {"default.yaml": yaml.safe_dump(MILVUS_CONFIG), "user.yaml": user_yaml}})
    for comp in ("proxy", "streamingnode"):
        labels = {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": "rel", "component": comp}
        d = deployment(f"rel-milvus-{comp}", "milvusdb/milvus:v2.6.4", 1)
        d["spec"]["selector"]["matchLabels"] = labels
        d["spec"]["template"]["metadata"]["labels"] = labels
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 9091, "name": "metrics"}]
        cluster.store.create("deployments", "default", d)
    cluster.store.create("services", "default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "rel-milvus"},
        "spec": {"selector": {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": "rel",
                              "component": "proxy"},
                 "ports": [{"name": "milvus", "port": 19530}, {"name": "metrics", "port": 9091,
                                                               "targetPort": "metrics"}]}})


def test_milvus_proxy_healthz_and_wal_metric(kubesim):
    kubesim.set_config(restart_interval=0.1)
    svc_health = "/api/v1/namespaces/default/services/rel-milvus:metrics/proxy/healthz"
    kubesim.faults.add({"type": "neverready", "component": "proxy"})
    milvus_release(kubesim, user_yaml=yaml.safe_dump({"mq": {"type": "woodpecker"}}))
    wait_for(lambda: rollout_done(kubesim, "rel-milvus-streamingnode"), what="streaming node ready")
    wait_for(lambda: kubesim.store.list("pods", "default", "component=proxy") and
             kubesim.store.list("pods", "default", "component=proxy")[0]["status"]["phase"] == "Running",
             what="proxy pod running")
    [proxy_pod] = kubesim.store.list("pods", "default", "component=proxy")
    pod_health = f"/api/v1/namespaces/default/pods/{proxy_pod['metadata']['name']}:9091/proxy/healthz"
    assert call(kubesim, "GET", pod_health) == (500, "Not all components are healthy, 0/1")
    code, _ = call(kubesim, "GET", svc_health)
    assert code == 503                        # no ready endpoint behind the service
    kubesim.faults.clear()
    wait_for(lambda: call(kubesim, "GET", svc_health) == (200, "OK"), what="service healthz OK")
    assert call(kubesim, "GET", pod_health) == (200, "OK")
    [sn] = kubesim.store.list("pods", "default", "component=streamingnode")
    code, text = call(kubesim, "GET", f"/api/v1/namespaces/default/pods/{sn['metadata']['name']}:9091/proxy/metrics")
    assert code == 200 and 'milvus_wal_info{wal_name="woodpecker"} 1' in text
    code, text = call(kubesim, "GET", "/api/v1/namespaces/default/services/rel-milvus:9091/proxy/metrics")
    assert code == 200 and "milvus_wal_info" not in text
    assert call(kubesim, "GET", "/api/v1/namespaces/default/services/nope:9091/proxy/healthz")[0] == 404
    assert kubesim.counters()["get services/proxy"] >= 3


def test_mq_from_config():
    assert mq_from_config(yaml.safe_dump(MILVUS_CONFIG)) == "pulsar"
    assert mq_from_config(yaml.safe_dump(MILVUS_CONFIG), "mq:\n  type: kafka\n") == "kafka"
    assert mq_from_config("mq:\n  type: default\nkafka:\n  brokerList: k:9092\n") == "kafka"
    assert mq_from_config("messageQueue: woodpecker\n") == "woodpecker"

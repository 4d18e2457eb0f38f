# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import copy

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import manifest as m


def statefulset(name, with_vct=True):
    obj = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": name, "labels": {"app": "pulsar", "release": "rel"}},
           "spec": {"serviceName": name, "replicas": 3,
                    "template": {"spec": {"containers": [{"name": "bookie", "image": "apachepulsar/pulsar:2.9.5"}]}}}}
    if with_vct:
        obj["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "journal"},
                                                "spec": {"resources": {"requests": {"storage": "10Gi"}}}}]
    return obj


def service(name, port=9091):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"name": "metrics", "port": port}]}}


def strip(obj):
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    return obj


MANIFEST = """---
# Source: milvus/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: rel-milvus
spec:
  ports:
    - name: milvus
      port: 19530
---
# Source: milvus/charts/pulsar/templates/bookkeeper-statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: rel-pulsar-bookie
spec:
  volumeClaimTemplates:
    - metadata:
        name: journal
---
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: rel-milvus
"""


def test_parse_manifest():
    objects = m.parse_manifest(MANIFEST)
    assert [m.object_key(o) for o in objects] == ["Service/rel-milvus", "StatefulSet/rel-pulsar-bookie",
                                                  "ConfigMap/rel-milvus"]
    assert m.parse_manifest("") == []


def hop1_objects(image):
    live = [strip(d) for d in f.rollout(f.COMPONENTS["separate"], image="milvusdb/milvus:v2.5.10")[0]]
    rendered = [strip(d) for d in f.rollout(f.COMPONENTS["mixcoord"], image=image)[0]]
    return live, rendered


def test_object_diff_hop1():
    live, rendered = hop1_objects("milvusdb/milvus:v2.5.16")
    live += [statefulset("rel-pulsar-bookie"), service("rel-milvus-rootcoord")]
    rendered += [statefulset("rel-pulsar-bookie"), service("rel-milvus-mixcoord")]
    diff = m.object_diff(live, rendered)
    assert diff["added"] == [{"kind": "Deployment", "name": "rel-milvus-mixcoord"},
                             {"kind": "Service", "name": "rel-milvus-mixcoord"}]
    assert sorted(e["name"] for e in diff["removed"]) == [
        "rel-milvus-datacoord", "rel-milvus-indexcoord", "rel-milvus-querycoord", "rel-milvus-rootcoord",
        "rel-milvus-rootcoord"]
    changed = dict((e["name"], e["paths"]) for e in diff["changed"])
    assert sorted(changed) == ["rel-milvus-datanode", "rel-milvus-indexnode", "rel-milvus-proxy",
                               "rel-milvus-querynode"]
    assert changed["rel-milvus-proxy"] == ["spec.template.spec.containers[0].image"]
    assert diff["unchanged"] == 1  # the Pulsar StatefulSet
    assert m.dangerous_removals(diff, live) == []


def test_status_and_volatile_metadata_are_not_changes():
    dep = f.deployment("proxy")
    live = copy.deepcopy(dep)
    live["metadata"].update({"resourceVersion": "123", "managedFields": [{"manager": "helm"}]})
    rendered = strip(dep)
    diff = m.object_diff([live], [rendered])
    assert diff["changed"] == [] and diff["unchanged"] == 1


def test_label_change_is_a_change():
    live = [strip(f.deployment("proxy", chart="4.2.20"))]
    rendered = [strip(f.deployment("proxy", chart="4.2.58"))]
    diff = m.object_diff(live, rendered)
    assert diff["changed"][0]["paths"] == ["metadata.labels.helm.sh/chart"]


def test_mq_switch_is_dangerous():
    """The trap: hop to a chart whose default MQ is Pulsar v3, without pins."""
    live = [statefulset("rel-pulsar-%s" % c) for c in ("zookeeper", "bookie", "broker", "proxy", "recovery")]
    live.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rel-pulsar-bookie"}, "data": {}})
    live.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "rel-pulsar-bookie-init"},
                 "spec": {"template": {"spec": {"containers": [{"name": "init", "image": "pulsar"}]}}}})
    rendered = [statefulset("rel-pulsarv3-%s" % c) for c in ("zookeeper", "bookie", "broker", "proxy", "recovery")]
    diff = m.object_diff(live, rendered)
    assert len(diff["added"]) == 5 and len(diff["removed"]) == 7
    dangerous = m.dangerous_removals(diff, live)
    assert sorted(d["name"] for d in dangerous) == sorted("rel-pulsar-%s" % c for c in (
        "zookeeper", "bookie", "broker", "proxy", "recovery"))
    assert all(d["reason"] == "StatefulSet" for d in dangerous)


def test_pvc_bearing_objects_are_dangerous():
    minio = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "rel-minio"},
             "spec": {"template": {"spec": {"containers": [{"name": "minio", "image": "minio/minio"}],
                                            "volumes": [{"name": "export",
                                                         "persistentVolumeClaim": {"claimName": "rel-minio"}}]}}}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "rel-minio"}, "spec": {}}
    indexnode = strip(f.deployment("indexnode"))
    live = [minio, pvc, indexnode]
    diff = m.object_diff(live, [])
    dangerous = dict((d["name"] + "/" + d["kind"], d["reason"]) for d in m.dangerous_removals(diff, live))
    assert dangerous == {"rel-minio/Deployment": "mounts PersistentVolumeClaim rel-minio",
                         "rel-minio/PersistentVolumeClaim": "PersistentVolumeClaim"}


def test_holds_storage():
    assert m.holds_storage(statefulset("x", with_vct=False)) == "StatefulSet"
    custom = {"kind": "CloneSet", "spec": {"volumeClaimTemplates": [{}]}}
    assert m.holds_storage(custom) == "has volumeClaimTemplates"
    cron = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "backup"}}]}}}}}}
    assert "backup" in m.holds_storage(cron)
    assert m.holds_storage({"kind": "Service"}) == ""
    assert m.holds_storage(f.deployment("proxy")) == ""


def test_many_changes_are_capped():
    live = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": dict(("k%d" % i, "a") for i in range(50))}
    rendered = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": dict(("k%d" % i, "b") for i in range(50))}
    diff = m.object_diff([live], [rendered])
    assert len(diff["changed"][0]["paths"]) == m.MAX_PATHS


def test_list_length_change_reports_the_list():
    live = service("s")
    rendered = copy.deepcopy(live)
    rendered["spec"]["ports"].append({"name": "grpc", "port": 19530})
    diff = m.object_diff([live], [rendered])
    assert diff["changed"][0]["paths"] == ["spec.ports"]

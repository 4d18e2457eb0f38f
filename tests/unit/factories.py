# -*- coding: utf-8 -*-
"""Factories for real-shaped Kubernetes API JSON and helm data, shared by the unit tests.

Shapes follow `kubectl get -o json` and the Milvus chart's names and labels
(../shared/facts/milvus-chart.md): Deployments `<fullname>-<component>`, labels
app.kubernetes.io/name=milvus, app.kubernetes.io/instance=<release>, component=<component>.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import copy
import hashlib
import io
import json
import os
import tarfile

try:  # ansible-core 2.19+: the supported way to hand a module its arguments
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # 2.16-2.18 read them from basic._ANSIBLE_ARGS (make test-matrix runs those)
    from unittest import mock

    from ansible.module_utils import basic as _basic
    from ansible.module_utils.common import warnings as _warnings

    @contextlib.contextmanager
    def patch_module_args(args=None):
        encoded = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        # these cores keep warnings in process-wide lists: one module run must not see the last one's
        with mock.patch.object(_basic, "_ANSIBLE_ARGS", encoded), \
                mock.patch.object(_warnings, "_global_warnings", []), \
                mock.patch.object(_warnings, "_global_deprecations", []):
            yield

def chart_package(folder, name, version, extra_members=()):
    """A chart package as helm pull leaves it: <folder>/<name>-<version>.tgz holding <name>/Chart.yaml (and a
    subchart's deeper one, whose version differs). Returns its path."""
    path = os.path.join(folder, "%s-%s.tgz" % (name, version))
    members = [("%s/Chart.yaml" % name, "apiVersion: v2\nname: %s\nversion: %s\nappVersion: 2.5.16\n" % (name, version)),
               ("%s/charts/etcd/Chart.yaml" % name, "apiVersion: v2\nname: etcd\nversion: 6.3.3\n")]
    with tarfile.open(path, "w:gz") as archive:
        for member_name, text in list(members) + list(extra_members):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


SEPARATE = ["rootcoord", "querycoord", "datacoord", "indexcoord"]
NODES_25 = ["proxy", "querynode", "datanode", "indexnode"]
COMPONENTS = {
    "separate": ["proxy"] + SEPARATE + ["querynode", "datanode", "indexnode"],
    "mixcoord": ["proxy", "mixcoord", "querynode", "datanode", "indexnode"],
    "mixed": ["proxy", "mixcoord"] + SEPARATE + ["querynode", "datanode", "indexnode"],
    "streaming": ["proxy", "mixcoord", "querynode", "datanode", "streamingnode"],
}


def _hash(*parts):
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()


def fullname(release):
    return release if "milvus" in release else "%s-milvus" % release


def milvus_labels(release, component, chart="4.2.20", app_version="2.4.16"):
    return {
        "app.kubernetes.io/name": "milvus",
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/version": app_version,
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": "milvus-%s" % chart,
        "component": component,
    }


def pod_spec(component, image, release="rel"):
    ports = [{"name": "metrics", "containerPort": 9091, "protocol": "TCP"}]
    if component == "proxy":
        ports.insert(0, {"name": "milvus", "containerPort": 19530, "protocol": "TCP"})
    return {
        "initContainers": [{"name": "config", "image": "milvusdb/milvus-config-tool:v0.1.2",
                            "command": ["/cp", "/run-helm.sh,/merge", "/milvus/tools/run-helm.sh,/milvus/tools/merge"]}],
        "containers": [{
            "name": component,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "args": ["milvus", "run", "mixture" if component == "mixcoord" else component],
            "ports": ports,
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, "initialDelaySeconds": 90},
        }],
        "volumes": [{"name": "milvus-config", "configMap": {"name": fullname(release)}}],
    }


def deployment(component, release="rel", image="milvusdb/milvus:v2.5.10", replicas=1, updated=None, ready=None,
               available=None, status_replicas=None, generation=2, observed_generation=None, chart="4.2.20",
               name=None):
    """A Milvus component Deployment; status defaults to fully rolled out."""
    name = name or "%s-%s" % (fullname(release), component)
    selector = {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": release, "component": component}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": "milvus", "uid": "uid-" + _hash(name)[:12], "generation": generation,
            "labels": milvus_labels(release, component, chart),
            "annotations": {"deployment.kubernetes.io/revision": "1", "meta.helm.sh/release-name": release},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "Recreate"} if "coord" in component else {
                "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(selector), "annotations": {"checksum/config": _hash("cfg")[:16]}},
                "spec": pod_spec(component, image, release),
            },
        },
        "status": {
            "observedGeneration": generation if observed_generation is None else observed_generation,
            "replicas": replicas if status_replicas is None else status_replicas,
            "updatedReplicas": replicas if updated is None else updated,
            "readyReplicas": replicas if ready is None else ready,
            "availableReplicas": replicas if available is None else available,
            "conditions": [{"type": "Available", "status": "True"},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}],
        },
    }


def replicaset(dep, revision=1, image=None):
    """A ReplicaSet owned by a Deployment, for one revision."""
    component = dep["metadata"]["labels"]["component"]
    image = image or dep["spec"]["template"]["spec"]["containers"][0]["image"]
    template_hash = _hash(dep["metadata"]["name"], revision, image)[:10]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "%s-%s" % (dep["metadata"]["name"], template_hash),
            "namespace": "milvus",
            "uid": "uid-rs-" + template_hash,
            "labels": dict(dep["spec"]["selector"]["matchLabels"], **{"pod-template-hash": template_hash}),
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"],
                                 "uid": dep["metadata"]["uid"], "controller": True}],
        },
        "spec": {"replicas": dep["spec"]["replicas"],
                 "template": {"metadata": {"labels": {"component": component}},
                              "spec": pod_spec(component, image)}},
        "status": {"replicas": dep["spec"]["replicas"]},
    }


def pod(component, release="rel", image="milvusdb/milvus:v2.5.10", rs=None, index=0, ready=True, waiting=None,
        waiting_message=None, last_terminated=None, terminated=None, restarts=0, deleting=False, unschedulable=False,
        name=None):
    """A Milvus pod; `rs` is the owning ReplicaSet dict (its name becomes the pod's prefix)."""
    owner_name = rs["metadata"]["name"] if rs else "%s-%s-abc123" % (fullname(release), component)
    name = name or "%s-%s" % (owner_name, "x%04d" % index)
    labels = {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": release, "component": component}
    if rs:
        labels["pod-template-hash"] = rs["metadata"]["labels"]["pod-template-hash"]
    state = {"running": {"startedAt": "2025-01-01T00:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting}}
        if waiting_message:
            state["waiting"]["message"] = waiting_message
        ready = False
    if terminated:
        state = {"terminated": {"reason": terminated, "exitCode": 137}}
        ready = False
    status = {
        "phase": "Running" if not unschedulable else "Pending",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [{
            "name": component, "image": "docker.io/" + image if image.startswith("milvusdb/") else image,
            "imageID": "docker.io/milvusdb/milvus@sha256:" + "0" * 64,
            "ready": ready, "restartCount": restarts, "started": ready, "state": state,
            "lastState": {"terminated": last_terminated} if last_terminated else {},
        }],
    }
    if unschedulable:
        status["containerStatuses"] = []
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": "0/3 nodes are available: 3 Insufficient memory."}]
    metadata = {"name": name, "namespace": "milvus", "uid": "uid-pod-" + _hash(name)[:12], "labels": labels,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner_name,
                                     "uid": rs["metadata"]["uid"] if rs else "uid-rs-x", "controller": True}]}
    if deleting:
        metadata["deletionTimestamp"] = "2025-01-01T00:05:00Z"
        metadata["deletionGracePeriodSeconds"] = 30
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec(component, image),
            "status": status}


def rollout(components, release="rel", image="milvusdb/milvus:v2.5.10", replicas=1, chart="4.2.20"):
    """(deployments, replicasets, pods) of fully rolled-out components."""
    deployments, replicasets, pods = [], [], []
    for component in components:
        dep = deployment(component, release, image, replicas=replicas, chart=chart)
        rs = replicaset(dep)
        deployments.append(dep)
        replicasets.append(rs)
        pods.extend(pod(component, release, image, rs=rs, index=i) for i in range(replicas))
    return deployments, replicasets, pods


# -- message queue -------------------------------------------------------------------------------

MQ_FLAGS = ("pulsar", "pulsarv3", "kafka", "woodpecker", "externalPulsar", "externalKafka")


def mq_values(*enabled, **extra):
    """The MQ part of `helm get values --all`: every flag present, the named ones true."""
    values = dict((flag, {"enabled": flag in enabled}) for flag in MQ_FLAGS)
    for key, value in extra.items():
        values[key] = value
    return values


def all_values(mq=("pulsar",), chart_has_woodpecker=True, **overrides):
    values = {
        "cluster": {"enabled": True},
        "image": {"all": {"repository": "milvusdb/milvus", "tag": "v2.5.10", "pullPolicy": "IfNotPresent"}},
        "mixCoordinator": {"enabled": False, "replicas": 1},
        "rootCoordinator": {"enabled": True}, "queryCoordinator": {"enabled": True},
        "dataCoordinator": {"enabled": True}, "indexCoordinator": {"enabled": True},
        "indexNode": {"enabled": True}, "streaming": {"enabled": False},
        "etcd": {"enabled": True, "replicaCount": 3}, "minio": {"enabled": True, "mode": "distributed"},
    }
    values.update(mq_values(*mq))
    values["externalPulsar"].update({"host": "localhost", "port": 6650})
    values["externalKafka"].update({"brokerList": "localhost:9092"})
    if not chart_has_woodpecker:
        del values["woodpecker"]
    values.update(overrides)
    return values


def _mq_block(kind, release):
    if kind == "pulsar-v2":
        return "pulsar:\n  address: %s-pulsar-proxy\n  port: 6650\n  maxMessageSize: 5242880\n  tenant: public\n" \
               "  namespace: default\nmq:\n  type: pulsar\n" % release
    if kind == "pulsar-v3":
        return "pulsar:\n  address: %s-pulsarv3-proxy\n  port: 6650\n  maxMessageSize: 5242880\nmq:\n  type: pulsar\n" \
            % release
    if kind == "external-pulsar":
        return "pulsar:\n  address: pulsar.example.com\n  port: 6650\n  maxMessageSize: 5242880\nmq:\n  type: pulsar\n"
    if kind == "woodpecker":
        return "woodpecker:\n  meta:\n    type: etcd\n  storage:\n    type: minio\nmq:\n  type: woodpecker\n"
    if kind == "kafka":
        return "kafka:\n  brokerList: %s-kafka:9092\n  saslUsername:\n  saslPassword:\nmq:\n  type: kafka\n" % release
    if kind == "external-kafka":
        return "kafka:\n  brokerList: kafka-0.example.com:9092,kafka-1.example.com:9092\nmq:\n  type: kafka\n"
    raise ValueError(kind)


def default_yaml(kinds=("pulsar-v2",), release="rel"):
    """default.yaml text as the chart renders it: one block per MQ chain that emitted."""
    head = ("# Copyright: rendered by the milvus chart\n"
            "etcd:\n  endpoints:\n    - %s-etcd:2379\n  rootPath: by-dev\n"
            "metastore:\n  type: etcd\n"
            "minio:\n  address: %s-minio\n  port: 9000\n  bucketName: milvus-bucket\n" % (release, release))
    tail = ("rootCoord:\n  address: localhost\n  port: 53100\n"
            "proxy:\n  port: 19530\n  http:\n    enabled: true\n"
            "common:\n  security:\n    authorizationEnabled: false\n")
    return head + "".join(_mq_block(kind, release) for kind in kinds) + tail


def configmap(kinds=("pulsar-v2",), release="rel", user_yaml="", text=None):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": fullname(release), "namespace": "milvus",
                     "labels": {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": release}},
        "data": {"default.yaml": text if text is not None else default_yaml(kinds, release), "user.yaml": user_yaml},
    }


def mq_statefulsets(families=("pulsar",), release="rel"):
    out = {"pulsar": [], "pulsarv3": [], "kafka": []}
    for family in families:
        if family in ("pulsar", "pulsarv3"):
            out[family] = sorted("%s-%s-%s" % (release, family, c)
                                 for c in ("zookeeper", "bookie", "broker", "proxy", "recovery"))
        elif family == "kafka":
            out["kafka"] = ["%s-kafka" % release]
    return out


def statefulset_uids(sts, suffix="a"):
    return dict((name, "uid-%s-%s" % (_hash(name)[:8], suffix)) for names in sts.values() for name in names)


# kind -> (values flags, configmap kinds, StatefulSet families)
MQ_SETUPS = {
    "pulsar-v2": (("pulsar",), ("pulsar-v2",), ("pulsar",)),
    "pulsar-v3": (("pulsarv3",), ("pulsar-v3",), ("pulsarv3",)),
    "kafka": (("kafka",), ("kafka",), ("kafka",)),
    "woodpecker": (("woodpecker",), ("woodpecker",), ()),
    "external-pulsar": (("externalPulsar",), ("external-pulsar",), ()),
    "external-kafka": (("externalKafka",), ("external-kafka",), ()),
}


# -- whole observed state ------------------------------------------------------------------------

def history(revisions):
    """`helm history -o json` rows from [(status, chart, app_version, description)], oldest first."""
    return [{"revision": i + 1, "updated": "2025-01-0%dT00:00:00Z" % (i + 1), "status": status,
             "chart": "milvus-%s" % chart, "app_version": app_version, "description": description}
            for i, (status, chart, app_version, description) in enumerate(revisions)]


def observed(version="v2.5.10", mode="separate", mq="pulsar-v2", chart="4.2.20", release="rel",
             repository="milvusdb/milvus", status="deployed", description=None, cluster="prod-eu-1",
             helm_version="3.17.3", kube_version="1.31.0", user_values=None, images=None, chart_name="milvus",
             replicas=1, previous=None):
    """The planner's observed state (docs/CONTRACTS.md) for a healthy release.

    images: {component: image} overrides for individual components (interrupted hops).
    previous: extra history rows before the last one.
    """
    image = "%s:%s" % (repository, version)
    deployments, pods = [], []
    for component in COMPONENTS[mode]:
        component_image = (images or {}).get(component, image)
        dep = deployment(component, release, component_image, replicas=replicas, chart=chart)
        rs = replicaset(dep)
        deployments.append(dep)
        pods.extend(pod(component, release, component_image, rs=rs, index=i) for i in range(replicas))
    flags, cm_kinds, families = MQ_SETUPS[mq] if isinstance(mq, str) else mq
    sts = mq_statefulsets(families, release)
    last_description = description or ("Upgrade complete" if previous else "Install complete")
    rows = list(previous or []) + [(status, chart, "2.4.16", last_description)]
    hist = history(rows)
    for row in hist[:-1]:
        if row["status"] == "deployed" and status == "deployed":
            row["status"] = "superseded"
    values = all_values(mq=flags)
    values["image"]["all"]["repository"] = repository
    values["image"]["all"]["tag"] = version
    return {
        "cluster": cluster,
        "helm_version": helm_version,
        "kube_version": kube_version,
        "release": {
            "name": release, "namespace": "milvus", "chart_name": chart_name, "chart_version": chart,
            "app_version": "2.4.16", "revision": len(hist), "status": status,
            "description": last_description, "history": hist,
        },
        "user_values": copy.deepcopy(user_values) if user_values is not None else {
            "image": {"all": {"tag": version}}},
        "all_values": values,
        "deployments": deployments,
        "pods": pods,
        "configmap": configmap(cm_kinds, release),
        "mq_statefulsets": sts,
        "mq_statefulset_uids": statefulset_uids(sts),
    }

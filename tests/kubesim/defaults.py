"""Admission: the defaulting and validation the real API server applies on create and update."""

import base64
import re

from . import errors

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _container_defaults(c):
    image = c.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        c["imagePullPolicy"] = "Always" if (":" not in tag or tag.endswith(":latest")) and "@" not in tag \
            else "IfNotPresent"
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")


def _pod_spec_defaults(spec, restart="Always"):
    spec.setdefault("restartPolicy", restart)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            _container_defaults(c)


def _template(obj):
    return obj.setdefault("spec", {}).setdefault("template", {})


def _default(store, res, obj, old):
    spec = obj.get("spec")
    kind = res.kind
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxSurge", "25%")
            ru.setdefault("maxUnavailable", "25%")
        _pod_spec_defaults(_template(obj).setdefault("spec", {}))
    elif kind == "ReplicaSet":
        spec.setdefault("replicas", 1)
        _pod_spec_defaults(_template(obj).setdefault("spec", {}))
    elif kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if us.get("type", "RollingUpdate") == "RollingUpdate":
            us.setdefault("type", "RollingUpdate")
            rolling = us.setdefault("rollingUpdate", {})
            rolling.setdefault("partition", 0)
            rolling.setdefault("maxUnavailable", 1)      # MaxUnavailableStatefulSet is on in 1.37
        for vct in spec.get("volumeClaimTemplates") or []:
            vct.setdefault("apiVersion", "v1")
            vct.setdefault("kind", "PersistentVolumeClaim")
            vct.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
        _pod_spec_defaults(_template(obj).setdefault("spec", {}))
    elif kind == "DaemonSet":
        spec.setdefault("revisionHistoryLimit", 10)
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if us.get("type") == "RollingUpdate":
            us.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
        _pod_spec_defaults(_template(obj).setdefault("spec", {}))
    elif kind == "Job":
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if old is None:
            uid = obj["metadata"]["uid"]
            labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name":
                      obj["metadata"]["name"], "controller-uid": uid, "job-name": obj["metadata"]["name"]}
            if not spec.get("manualSelector"):
                spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
            _template(obj).setdefault("metadata", {}).setdefault("labels", {}).update(labels)
        _pod_spec_defaults(_template(obj).setdefault("spec", {}), restart="Never")
    elif kind == "Pod":
        _pod_spec_defaults(spec)
        if old is None:
            obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
        if spec["type"] != "ExternalName":
            if old is not None and not spec.get("clusterIP"):
                # A full PUT (helm --force) without clusterIP keeps the allocated one.
                spec["clusterIP"] = old["spec"].get("clusterIP")
            if not spec.get("clusterIP"):
                store.next_ip += 1
                spec["clusterIP"] = f"10.96.{store.next_ip // 250}.{store.next_ip % 250 + 1}"
            spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if old is None:
            obj.setdefault("status", {"loadBalancer": {}})
    elif kind == "PersistentVolumeClaim":
        spec.setdefault("volumeMode", "Filesystem")
        spec.setdefault("storageClassName", "standard")
        if old is None:
            obj.setdefault("status", {"phase": "Pending"})
    elif kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        if old is None:
            obj.setdefault("status", {"phase": "Active"})
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(v.encode()).decode()
    elif kind == "ServiceAccount":
        pass


def _validate(res, obj, old):
    name = obj["metadata"]["name"]
    if res.kind not in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding") and \
            (len(name) > 253 or not _NAME_RE.match(name)):
        raise errors.invalid(res, name, [("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 '
                                          "subdomain must consist of lower case alphanumeric characters, "
                                          "'-' or '.'")])
    spec = obj.get("spec") or {}
    if res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        if not (spec.get("selector") or {}).get("matchLabels") and \
                not (spec.get("selector") or {}).get("matchExpressions"):
            raise errors.invalid(res, name, [("spec.selector", "Required value")])
        tlabels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        for k, v in spec["selector"].get("matchLabels", {}).items():
            if tlabels.get(k) != v:
                raise errors.invalid(res, name, [("spec.template.metadata.labels", "Invalid value: "
                                                  "`selector` does not match template `labels`")])
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            raise errors.invalid(res, name, [("spec.template.spec.containers", "Required value")])
    if res.kind == "Pod" and not spec.get("containers"):
        raise errors.invalid(res, name, [("spec.containers", "Required value")])
    if old is None:
        return
    ospec = old.get("spec") or {}
    if res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and \
            spec.get("selector") != ospec.get("selector"):
        raise errors.invalid(res, name, [("spec.selector", "Invalid value: field is immutable")])
    if res.kind == "StatefulSet":
        mutable = ("replicas", "ordinals", "template", "updateStrategy",
                   "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
        if {k: v for k, v in spec.items() if k not in mutable} != \
                {k: v for k, v in ospec.items() if k not in mutable}:
            raise errors.invalid(res, name, [("spec", "Forbidden: updates to statefulset spec for fields "
                                              "other than 'replicas', 'ordinals', 'template', "
                                              "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                                              "and 'minReadySeconds' are forbidden")])
    if res.kind == "Job" and spec.get("template") != ospec.get("template"):
        raise errors.invalid(res, name, [("spec.template", "Invalid value: field is immutable")])
    if res.kind == "Service" and ospec.get("clusterIP") not in (None, "") and \
            spec.get("clusterIP") != ospec.get("clusterIP"):
        raise errors.invalid(res, name, [("spec.clusterIPs[0]", "Invalid value: field is immutable")])
    if res.kind in ("Secret", "ConfigMap") and old.get("immutable") and \
            (obj.get("data") != old.get("data") or obj.get("binaryData") != old.get("binaryData")):
        raise errors.invalid(res, name, [("data", "Forbidden: field is immutable when `immutable` is set")])
    if res.kind == "PersistentVolumeClaim":
        for key in ("accessModes", "storageClassName", "volumeMode", "selector"):
            if spec.get(key) != ospec.get(key):
                raise errors.invalid(res, name, [("spec", "Forbidden: spec is immutable after creation "
                                                  "except resources.requests and volumeAttributesClassName "
                                                  "for bound claims")])


def drop_nulls(value):
    """What decoding into typed objects does to JSON nulls: a null field is an absent field
    (so a chart that renders `annotations: null` stores no annotations, as on a real server)."""
    if isinstance(value, dict):
        for key in [key for key, item in value.items() if item is None]:
            del value[key]
        for item in value.values():
            drop_nulls(item)
    elif isinstance(value, list):
        for item in value:
            drop_nulls(item)
    return value


def admit(store, res, obj, old):
    """Drop nulls, default, then validate `obj` in place; raises ApiError (422) when invalid."""
    drop_nulls(obj)
    if res.kind not in ("ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "ClusterRole",
                        "ClusterRoleBinding", "Event", "Endpoints", "Lease", "StorageClass", "Namespace"):
        obj.setdefault("spec", {})
    _default(store, res, obj, old)
    _validate(res, obj, old)

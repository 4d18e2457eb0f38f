"""The kinds kubesim serves: group/version/kind, plural names, scope and subresources."""

from dataclasses import dataclass, field

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple = ()
    status: bool = False          # has a /status subresource (status kept on main writes)
    generation: bool = False      # metadata.generation bumps on spec change
    subresources: tuple = ()      # extra subresources besides status
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gv_path(self):
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def key(self):
        """Store key: group and plural identify a resource across versions."""
        return (self.group, self.plural)

    @property
    def qualified(self):
        """`deployments.apps` as used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _r(group, version, kind, plural, **kw):
    return Resource(group, version, kind, plural, **kw)


RESOURCES = [
    _r("", "v1", "Pod", "pods", short_names=("po",), status=True, subresources=("proxy",)),
    _r("", "v1", "Service", "services", short_names=("svc",), status=True, subresources=("proxy",)),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), status=True),
    _r("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",), status=True),
    _r("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), status=True),
    _r("", "v1", "Event", "events", short_names=("ev",)),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    _r("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), status=True),
    _r("apps", "v1", "Deployment", "deployments", short_names=("deploy",), status=True,
       generation=True, subresources=("scale",)),
    _r("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), status=True,
       generation=True, subresources=("scale",)),
    _r("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), status=True,
       generation=True, subresources=("scale",)),
    _r("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), status=True, generation=True),
    _r("batch", "v1", "Job", "jobs", status=True, generation=True),
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), status=True, generation=True),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
       status=True, generation=True),
    _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
       short_names=("hpa",), status=True, generation=True),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), status=True,
       generation=True),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",),
       generation=True),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short_names=("sc",)),
]

# Group-versions in discovery order; the preferred version is the only version.
GROUP_VERSIONS = []
for _res in RESOURCES:
    if (_res.group, _res.version) not in GROUP_VERSIONS:
        GROUP_VERSIONS.append((_res.group, _res.version))

_BY_GV_PLURAL = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_NAME = {}
for _res in RESOURCES:
    for _n in (_res.kind, _res.kind.lower(), _res.plural, *_res.short_names):
        _BY_NAME.setdefault(_n, _res)


def by_path(group, version, plural):
    """The resource served at /api(s)/<group>/<version>/<plural>, or None."""
    return _BY_GV_PLURAL.get((group, version, plural))


def lookup(name):
    """Find a resource by kind, plural, short name or `plural.group`; KeyError if unknown."""
    if isinstance(name, Resource):
        return name
    if name in _BY_NAME:
        return _BY_NAME[name]
    if "." in name:
        plural, group = name.split(".", 1)
        for res in RESOURCES:
            if res.plural == plural and res.group == group:
                return res
    raise KeyError(f"unknown resource {name!r}")


def for_object(obj):
    """The resource of an object from its apiVersion and kind."""
    api_version = obj.get("apiVersion", "")
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    for res in RESOURCES:
        if res.kind == obj.get("kind") and res.group == group:
            return res
    raise KeyError(f"unknown kind {api_version} {obj.get('kind')}")

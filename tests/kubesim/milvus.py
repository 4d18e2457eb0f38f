"""What Milvus pods answer through the API server's service and pod proxy."""

import yaml

from .controllers import is_ready
from .selectors import match_labels

WAL_NAMES = ("pulsar", "kafka", "woodpecker")


def _deep_merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _load(text):
    try:
        doc = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def mq_from_config(default_yaml, user_yaml=""):
    """pulsar | kafka | woodpecker from a Milvus config, user.yaml winning; None if undecidable."""
    cfg = _deep_merge(_load(default_yaml), _load(user_yaml))
    mq = cfg.get("mq") if isinstance(cfg.get("mq"), dict) else {}
    kind = str(mq.get("type") or cfg.get("messageQueue") or "default").lower()
    if kind in WAL_NAMES:
        return kind
    if kind == "rocksmq":
        return "rocksmq"
    # mq.type "default": Milvus picks the first configured queue.
    if (cfg.get("pulsar") or {}).get("address"):
        return "pulsar"
    if (cfg.get("kafka") or {}).get("brokerList"):
        return "kafka"
    return "woodpecker" if cfg.get("woodpecker") else None


def milvus_configmap(store, pod):
    """The Milvus ConfigMap of the pod's release: one it mounts, else by name/instance labels."""
    ns = pod["metadata"]["namespace"]
    for vol in pod["spec"].get("volumes") or []:
        name = (vol.get("configMap") or {}).get("name")
        if name:
            cm = store.get("configmaps", name, ns)
            if cm and "default.yaml" in (cm.get("data") or {}):
                return cm
    labels = pod["metadata"].get("labels", {})
    # the chart name in app.kubernetes.io/name is the release's nameOverride when it has one
    sel = (f"app.kubernetes.io/name={labels.get('app.kubernetes.io/name', 'milvus')},"
           f"app.kubernetes.io/instance={labels.get('app.kubernetes.io/instance')}")
    for cm in store.list("configmaps", ns, label_selector=sel):
        if "default.yaml" in (cm.get("data") or {}):
            return cm
    return None


def is_milvus(pod):
    """A Milvus pod: labelled by the chart (app.kubernetes.io/name=milvus), or running the milvus binary
    (a release with nameOverride labels its pods with another chart name)."""
    if pod["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "milvus":
        return True
    containers = pod["spec"].get("containers") or []
    args = (containers[0].get("command") or []) + (containers[0].get("args") or []) if containers else []
    return args[:2] == ["milvus", "run"]


def pod_answer(store, pod, path):
    """(status, content_type, body) of an HTTP GET on a pod."""
    if (pod.get("status") or {}).get("phase") != "Running" or not any(
            "running" in (cs.get("state") or {}) for cs in pod["status"].get("containerStatuses") or []):
        ip = (pod.get("status") or {}).get("podIP", "10.244.0.1")
        return 503, "text/plain", f"error trying to reach service: dial tcp {ip}:9091: connect: connection refused".encode()
    path = "/" + path.lstrip("/")
    if not is_milvus(pod):
        return (200, "text/plain", b"ok") if path in ("/", "/healthz") else (404, "text/plain", b"404 page not found")
    if path.startswith("/healthz"):
        if is_ready(pod):
            return 200, "text/plain; charset=utf-8", b"OK"
        return 500, "text/plain; charset=utf-8", b"Not all components are healthy, 0/1"
    if path.startswith("/metrics"):
        return 200, "text/plain; version=0.0.4; charset=utf-8", metrics(store, pod).encode()
    return 404, "text/plain", b"404 page not found"


def metrics(store, pod):
    labels = pod["metadata"].get("labels", {})
    component = labels.get("component", "standalone")
    image = pod["spec"]["containers"][0].get("image", "")
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    lines = ["# HELP milvus_build_info Build information of milvus",
             "# TYPE milvus_build_info gauge",
             f'milvus_build_info{{built="kubesim",git_commit="0000000",version="{tag}"}} 1',
             "# HELP milvus_num_node Number of nodes and coordinates",
             "# TYPE milvus_num_node gauge",
             f'milvus_num_node{{node_id="1",role_name="{component}"}} 1']
    if component == "streamingnode":
        cm = milvus_configmap(store, pod)
        wal = mq_from_config(cm["data"].get("default.yaml"), cm["data"].get("user.yaml")) if cm else None
        if wal:
            lines += ["# HELP milvus_wal_info Current info of wal on current streaming node",
                      "# TYPE milvus_wal_info gauge",
                      f'milvus_wal_info{{wal_name="{wal}"}} 1']
    return "\n".join(lines) + "\n"


def _port_matches(pod, port):
    """Numeric ports always reach the pod; a named target port must be declared by a container."""
    if port is None or str(port).isdigit():
        return True
    for c in pod["spec"].get("containers") or []:
        for p in c.get("ports") or []:
            if str(p.get("containerPort")) == str(port) or p.get("name") == str(port):
                return True
    return False


def proxy(store, kind, ns, name_port, subpath):
    """Serve a pods/<name>[:port]/proxy or services/<name>[:port]/proxy GET."""
    parts = name_port.split(":")
    if parts[0] in ("http", "https") and len(parts) > 1:
        parts = parts[1:]
    name, port = parts[0], (parts[1] if len(parts) > 1 else None)
    if kind == "pods":
        pod = store.get("pods", name, ns)
        if pod is None:
            return 404, "application/json", None, ("pods", name)
        return (*pod_answer(store, pod, subpath), None)
    svc = store.get("services", name, ns)
    if svc is None:
        return 404, "application/json", None, ("services", name)
    target = None
    for p in svc["spec"].get("ports") or []:
        if port is None or str(p.get("port")) == port or p.get("name") == port:
            target = p.get("targetPort", p.get("port"))
            break
    else:
        return 503, "text/plain", f'no endpoints available for service "{name}"'.encode(), None
    sel = svc["spec"].get("selector") or {}
    reqs = [(k, "=", {v}) for k, v in sel.items()]
    pods = [p for p in store.list("pods", ns, raw=True) if sel and match_labels(reqs, p["metadata"].get("labels"))
            and is_ready(p) and not p["metadata"].get("deletionTimestamp") and _port_matches(p, target)]
    if not pods:
        return 503, "text/plain", f'no endpoints available for service "{name}"'.encode(), None
    return (*pod_answer(store, pods[0], subpath), None)

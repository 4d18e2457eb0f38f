"""A simulated cluster: HTTP(S) API server + store + controllers + kubelet + faults + control API.

    c = Cluster(name="c1", pod_start_delay=0.0, tls=False, token=None, kube_version="1.31.0")
    c.start(); ...; c.stop()
"""

import collections
import json
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

import yaml

from . import errors, milvus, tls as tlslib
from .faults import FaultError, Faults
from .handler import Handler
from .manager import Manager
from .store import Store

DEFAULT_CONFIG = {
    "pod_start_delay": 0.0,     # seconds from scheduling to Running+Ready
    "terminate_delay": 0.2,     # seconds a deleted pod stays Terminating
    "restart_interval": 0.5,    # seconds between crash-loop restarts / image pull retries
    "job_duration": 0.1,        # seconds a Job pod runs before it succeeds
}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, cluster, ssl_context=None):
        self.cluster = cluster
        self.ssl_context = ssl_context
        super().__init__(addr, Handler)

    def verify_request(self, request, client_address):
        # A "refuse" outage drops new connections before a byte is read.
        _, outage, _ = self.cluster.faults.api_decision("connect", "")
        return outage != "refuse"

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread so a slow client cannot block accept().
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            try:
                super().finish_request(request, client_address)
            finally:
                try:
                    request.close()
                except OSError:
                    pass
        else:
            super().finish_request(request, client_address)


class Cluster:
    """One simulated Kubernetes cluster on 127.0.0.1."""

    def __init__(self, name="kubesim", pod_start_delay=0.0, tls=False, token=None, kube_version="1.31.0",
                 port=0, host="127.0.0.1", terminate_delay=0.2, faults=None, watch_timeout=1800,
                 workdir=None):
        self.name = name
        self.kube_version = kube_version.lstrip("v")
        self.token = token
        self.tls = tls
        self.host = host
        self.port = port
        self.watch_timeout = watch_timeout
        self.config = dict(DEFAULT_CONFIG, pod_start_delay=float(pod_start_delay),
                           terminate_delay=float(terminate_delay))
        self.store = Store()
        self._seed_cluster_objects()
        self.manager = Manager(self)
        self.faults = Faults(on_change=self.manager.wake_all_pods)
        for rule in faults or []:
            self.faults.add(rule)
        self.control = ControlAPI(self)
        self.watch_queues = set()
        self.stopping = False
        self._counters = collections.Counter()
        self._counter_lock = threading.Lock()
        self._events = collections.deque(maxlen=100000)
        self._events_lock = threading.Lock()
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"kubesim-{name}-")
        self.ca_cert_path = None
        self._httpd = None
        self._thread = None

    def _seed_cluster_objects(self):
        self.store.create("nodes", None, {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "kubesim-node", "labels": {"kubernetes.io/hostname": "kubesim-node",
                                               "kubernetes.io/os": "linux"}}})
        self.store.mutate("nodes", None, "kubesim-node", lambda n: n.__setitem__("status", {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "nodeInfo": {"kubeletVersion": "v" + self.kube_version, "containerRuntimeVersion": "containerd://1.7.18",
                         "operatingSystem": "linux", "architecture": "amd64"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}]}), subresource="status")
        self.store.create("storageclasses", None, {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "kubesim.io/hostpath",
            "metadata": {"name": "standard",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})

    # ---- lifecycle --------------------------------------------------------------------
    def start(self):
        ctx = None
        if self.tls:
            paths = tlslib.write_server_files(os.path.join(self.workdir, "pki"))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(paths["server.crt"], paths["server.key"])
            self.ca_cert_path = paths["ca.crt"]
        self._httpd = _HTTPServer((self.host, self.port), self, ctx)
        self.port = self._httpd.server_address[1]
        self.manager.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"kubesim-{self.name}-http", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping = True
        for q in list(self.watch_queues):
            q.put(None)
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
        self.manager.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    # ---- observability ----------------------------------------------------------------
    def count(self, key):
        with self._counter_lock:
            self._counters[key] += 1

    def counters(self):
        """Requests per "<verb> <resource>" (e.g. "list pods") or "<method> <path>"."""
        with self._counter_lock:
            return dict(self._counters)

    def reset_counters(self):
        with self._counter_lock:
            self._counters.clear()

    def log_event(self, etype, obj, **extra):
        meta = obj.get("metadata", {})
        ev = {"ts": time.time(), "type": etype, "kind": obj.get("kind"), "namespace": meta.get("namespace"),
              "name": meta.get("name"), **extra}
        with self._events_lock:
            self._events.append(ev)

    def events(self, since=None, type=None):
        """Event log entries (dicts with ts, type, kind, namespace, name, ...), oldest first."""
        with self._events_lock:
            return [e for e in self._events if (since is None or e["ts"] > since) and
                    (type is None or e["type"] == type)]

    def set_config(self, **values):
        unknown = set(values) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        self.config.update({k: float(v) for k, v in values.items()})
        return dict(self.config)

    # ---- proxy ------------------------------------------------------------------------
    def proxy(self, kind, ns, name_port, subpath, method):
        code, ctype, body, missing = milvus.proxy(self.store, kind, ns, name_port, subpath)
        if missing:
            from .resources import lookup
            raise errors.not_found(lookup(missing[0]), missing[1])
        return code, ctype, body

    # ---- client configuration ---------------------------------------------------------
    def kubeconfig_dict(self, context_name=None, namespace=None):
        context_name = context_name or self.name
        cluster = {"server": self.url}
        if self.tls:
            cluster["certificate-authority"] = self.ca_cert_path
        user = {"token": self.token} if self.token else {}
        ctx = {"cluster": context_name, "user": context_name}
        if namespace:
            ctx["namespace"] = namespace
        return {"apiVersion": "v1", "kind": "Config", "preferences": {},
                "clusters": [{"name": context_name, "cluster": cluster}],
                "users": [{"name": context_name, "user": user}],
                "contexts": [{"name": context_name, "context": ctx}],
                "current-context": context_name}

    def kubeconfig(self, path, context_name=None, namespace=None):
        """Write a kubeconfig (mode 0600) for this cluster and return its path."""
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            yaml.safe_dump(self.kubeconfig_dict(context_name, namespace), f, sort_keys=False)
        return path


class ControlAPI:
    """JSON control endpoints under /kubesim/ (no auth: they steer the simulator, not the cluster)."""

    def __init__(self, cluster):
        self.c = cluster

    def handle(self, h, method, path, query, body):
        c = self.c
        parts = [p for p in path.split("/") if p][1:]
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return h.send_json(400, {"error": "body is not JSON"})
        try:
            if parts == ["healthz"]:
                return h.send_json(200, {"ok": True, "name": c.name, "url": c.url,
                                         "errors": len(c.manager.errors)})
            if parts == ["faults"]:
                if method == "GET":
                    return h.send_json(200, {"faults": c.faults.list()})
                if method == "POST":
                    rules = data if isinstance(data, list) else [data]
                    return h.send_json(201, {"faults": [c.faults.add(r) for r in rules]})
                if method == "DELETE":
                    c.faults.clear()
                    return h.send_json(200, {"faults": []})
            if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
                if c.faults.remove(parts[1]):
                    return h.send_json(200, {"deleted": int(parts[1])})
                return h.send_json(404, {"error": f"no fault {parts[1]}"})
            if parts == ["counters"]:
                if method == "GET":
                    return h.send_json(200, {"counters": c.counters()})
                if method == "DELETE":
                    c.reset_counters()
                    return h.send_json(200, {"counters": {}})
            if parts == ["events"] and method == "GET":
                since = float(query["since"]) if query.get("since") else None
                return h.send_json(200, {"now": time.time(),
                                         "events": c.events(since=since, type=query.get("type"))})
            if parts == ["config"]:
                if method == "GET":
                    return h.send_json(200, c.config)
                if method in ("PUT", "POST", "PATCH"):
                    return h.send_json(200, c.set_config(**(data or {})))
            if parts == ["errors"] and method == "GET":
                return h.send_json(200, {"errors": list(c.manager.errors)})
        except (FaultError, ValueError, TypeError) as e:
            return h.send_json(400, {"error": str(e)})
        return h.send_json(404, {"error": f"no control endpoint {method} {path}"})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""One real Kubernetes control plane for the integration suite, inside the test's network namespace.

    plane = ControlPlane(workdir).start()   # etcd, kube-apiserver, controller-manager, scheduler, kwok
    plane.admin_kubeconfig                   # system:masters client certificate
    plane.api                                # kubernetes.client.ApiClient as admin
    plane.stop_apiserver(); plane.start_apiserver()    # an API outage that ends
    plane.stop()

The binaries come from build.sh (pinned in versions.env). The nodes are kwok's fake nodes; pod
lifecycles are kwok Stage objects (stages/lifecycle.yaml); tests/controlplane/agent.py answers the
Milvus endpoints on every pod IP and provisions volumes. Everything binds inside the namespace.
"""

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import netns
from .api import Api
from .pki import write_pki
from .rbac import Identity, apply_rbac_manifest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
APISERVER_PORT = 6443
ETCD_PORT = 2379
FAKE_NODES = 3
# kwok's nodes send no heartbeats: the node lifecycle controller would taint them and the taint
# controller evict every pod. Node IPAM has no node CIDRs to hand out (kwok assigns pod IPs).
DISABLED_CONTROLLERS = ("node-lifecycle-controller", "taint-eviction-controller", "node-ipam-controller")
STAGE_CRD = "kwok.x-k8s.io_stages.yaml"


class ControlPlaneError(RuntimeError):
    pass


def build(timeout=4 * 3600):
    """The folder of the pinned binaries (built on first use by build.sh; its output streams)."""
    proc = subprocess.run(["bash", str(HERE / "build.sh")], stdout=subprocess.PIPE, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise ControlPlaneError("tests/controlplane/build.sh failed (exit %d); its message is above"
                                % proc.returncode)
    return Path(proc.stdout.strip().splitlines()[-1])


def versions():
    out = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


class ControlPlane:
    def __init__(self, workdir, bin_dir=None, pod_start_delay=0.0):
        netns.require_isolated()
        self.workdir = Path(workdir)
        self.bin = Path(bin_dir) if bin_dir else build()
        self.pod_start_delay = float(pod_start_delay)
        self.server = "https://127.0.0.1:%d" % APISERVER_PORT
        self.procs = {}
        self.pki = {}
        self.api = None   # an Api once the certificates exist
        self._identity = None
        self._stage_watches = 0   # kwok's watches of its Stage objects once it runs
        for sub in ("pki", "logs", "etcd", "kubeconfigs", "volumes"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)

    # -- files --------------------------------------------------------------------------------
    def kubeconfig_for(self, identity):
        return self.workdir / "kubeconfigs" / ("%s.kubeconfig" % identity)

    @property
    def admin_kubeconfig(self):
        return self.kubeconfig_for("admin")

    @property
    def ca_file(self):
        return self.pki["ca"]

    def _write_kubeconfigs(self):
        for identity in ("admin", "controller-manager", "scheduler", "kwok"):
            config = {
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": self.server,
                                                          "certificate-authority": self.pki["ca"]}}],
                "users": [{"name": identity, "user": {
                    "client-certificate": self.pki[identity + ".crt"],
                    "client-key": self.pki[identity + ".key"]}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": identity}}],
                "current-context": "test",
            }
            path = self.kubeconfig_for(identity)
            path.write_text(yaml.safe_dump(config))
            path.chmod(0o600)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self):
        started = time.monotonic()
        try:
            self.pki = write_pki(self.workdir / "pki", ["127.0.0.1", "localhost", netns.NODE_ADDRESS,
                                                        "10.96.0.1", "kubernetes", "kubernetes.default",
                                                        "kubernetes.default.svc"])
            self._write_kubeconfigs()
            self.api = Api(self.admin_kubeconfig)
            self._start("etcd", [
                "--name", "test", "--data-dir", str(self.workdir / "etcd"),
                "--listen-client-urls", "http://127.0.0.1:%d" % ETCD_PORT,
                "--advertise-client-urls", "http://127.0.0.1:%d" % ETCD_PORT,
                "--listen-peer-urls", "http://127.0.0.1:2380",
                "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                "--initial-cluster", "test=http://127.0.0.1:2380",
                "--unsafe-no-fsync", "--quota-backend-bytes", str(2 * 1024 ** 3)])
            self._wait_http("etcd", "http://127.0.0.1:%d/health" % ETCD_PORT, 60)
            self.start_apiserver()
            self._install_stage_crd()
            self._start("kube-controller-manager", self._component_flags("controller-manager", 10257) + [
                "--service-account-private-key-file", self.pki["sa.key"],
                "--root-ca-file", self.pki["ca"], "--use-service-account-credentials=true",
                "--controllers", ",".join(["*"] + ["-" + name for name in DISABLED_CONTROLLERS])])
            self._start("kube-scheduler", self._component_flags("scheduler", 10259))
            self._start("kwok", [
                "--kubeconfig", str(self.kubeconfig_for("kwok")),
                "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
                "--cidr", netns.POD_CIDR.replace(".0/", ".1/"), "--node-ip", netns.NODE_ADDRESS,
                "--enable-crds", "Stage", "--server-address", "127.0.0.1:10247"])
            self._create_lifecycle_stages()
            self._start("agent", ["--kubeconfig", str(self.admin_kubeconfig),
                                  "--volumes", str(self.workdir / "volumes")],
                        command=[sys.executable, "-m",
                                 "tests.controlplane.agent"])
            self._create_nodes()
            self._wait_until("the default ServiceAccount (controller-manager)", 120,
                             lambda: self._exists("/api/v1/namespaces/default/serviceaccounts/default"))
            self._wait_until("kwok watching its stages", 60, self._stage_watches_back)
            self._stage_watches = self._stage_watches_now()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = round(time.monotonic() - started, 1)
        return self

    def stop(self):
        for name in reversed(list(self.procs)):
            self._terminate(name)

    def start_apiserver(self):
        self._start("kube-apiserver", [
            "--etcd-servers", "http://127.0.0.1:%d" % ETCD_PORT,
            "--bind-address", "0.0.0.0", "--secure-port", str(APISERVER_PORT),
            "--advertise-address", netns.NODE_ADDRESS,
            "--tls-cert-file", self.pki["apiserver.crt"], "--tls-private-key-file", self.pki["apiserver.key"],
            "--client-ca-file", self.pki["ca"],
            "--service-cluster-ip-range", netns.SERVICE_CIDR,
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", self.pki["sa.pub"],
            "--service-account-signing-key-file", self.pki["sa.key"],
            "--authorization-mode", "Node,RBAC", "--allow-privileged=true",
            "--profiling=false", "--event-ttl", "30m"])
        self._wait_until("kube-apiserver /readyz", 180, self._apiserver_ready)
        if "kwok" in self.procs:
            # kwok sees Stage objects through watches that reconnect with a back-off after an outage:
            # until they are back, a stage a test adds (a fault, a start delay) would go unplayed
            self._wait_until("kwok watching its stages again", 120, self._stage_watches_back)

    def stop_apiserver(self):
        self._terminate("kube-apiserver")

    # -- processes ----------------------------------------------------------------------------
    def _component_flags(self, identity, port):
        kubeconfig = str(self.kubeconfig_for(identity))
        return ["--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig,
                "--authorization-kubeconfig", kubeconfig, "--leader-elect=false",
                "--bind-address", "127.0.0.1", "--secure-port", str(port)]

    def _start(self, name, args, command=None):
        log = open(self.workdir / "logs" / ("%s.log" % name), "ab")
        argv = (command or [str(self.bin / name)]) + args
        env = dict(os.environ, GOMAXPROCS=os.environ.get("GOMAXPROCS", "2"))
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            cwd=str(self.workdir))
        log.close()

    def _terminate(self, name):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _check_alive(self):
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.workdir / "logs" / ("%s.log" % name)).read_text(errors="replace")
                raise ControlPlaneError("%s exited with %s; the end of its log:\n%s"
                                        % (name, proc.returncode, "\n".join(log.splitlines()[-25:])))

    def _wait_until(self, what, timeout, ready):
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            if ready():
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError("%s not ready after %d s (logs in %s)"
                                        % (what, timeout, self.workdir / "logs"))
            time.sleep(0.2)

    def _wait_http(self, what, url, timeout):
        def ok():
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return resp.status == 200
            except (urllib.error.URLError, OSError):
                return False
        self._wait_until(what, timeout, ok)

    def admin_user(self):
        """The admin's kubeconfig user, with the certificate inline (kubeconfigs that travel)."""
        return {"client-certificate-data": base64.b64encode(Path(self.pki["admin.crt"]).read_bytes()).decode(),
                "client-key-data": base64.b64encode(Path(self.pki["admin.key"]).read_bytes()).decode()}

    def collection_identity(self):
        """The ServiceAccount the collection runs as (docs/rbac.yml applied once)."""
        if self._identity is None:
            apply_rbac_manifest(self)
            self._identity = Identity(self, "milvus-upgrader")
        return self._identity

    # -- API ----------------------------------------------------------------------------------
    def _exists(self, path):
        return self.api.request("GET", path)[0] == 200

    def _apiserver_ready(self):
        try:
            return self.api.request("GET", "/readyz", timeout=3)[0] == 200
        except OSError:
            return False

    def _stage_watches_now(self):
        """How many watches of kwok's Stage objects the API server serves (kwok is their only watcher)."""
        status, body = self.api.request("GET", "/metrics", timeout=5)
        if status != 200:
            return 0
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in body.splitlines()
                   if line.startswith("apiserver_longrunning_requests{") and 'resource="stages"' in line
                   and 'verb="WATCH"' in line)

    def _stage_watches_back(self):
        return self._stage_watches_now() >= max(self._stage_watches, 1)

    def _install_stage_crd(self):
        crd = yaml.safe_load((self.bin.parent / STAGE_CRD).read_text())
        self.api.ensure("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + crd["metadata"]["name"]

        def established():
            conditions = self.api.request("GET", path)[1].get("status", {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
        self._wait_until("the kwok Stage CRD", 60, established)

    @staticmethod
    def lifecycle_stages():
        """The kwok Stages of a pod's normal life (tests/controlplane/stages/lifecycle.yaml)."""
        return list(yaml.safe_load_all((HERE / "stages" / "lifecycle.yaml").read_text()))

    def _create_lifecycle_stages(self):
        for stage in self.lifecycle_stages():
            if stage["metadata"]["name"] == "milvusops-pod-running" and self.pod_start_delay:
                stage["spec"]["delay"] = {"durationMilliseconds": int(self.pod_start_delay * 1000)}
            self.api.ensure("/apis/kwok.x-k8s.io/v1alpha1/stages", stage)

    def _create_nodes(self):
        for index in range(FAKE_NODES):
            self.api.ensure("/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "fake-node-%d" % index,
                             "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/hostname": "fake-node-%d" % index,
                                        "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                        "type": "kwok"}},
                "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                           "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                           "nodeInfo": {"kubeletVersion": versions()["KUBERNETES_VERSION"],
                                        "architecture": "amd64", "operatingSystem": "linux"}}})

        def all_ready():
            items = self.api.request("GET", "/api/v1/nodes")[1].get("items", [])
            return len(items) == FAKE_NODES and all(
                any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
                for n in items)
        self._wait_until("%d kwok nodes Ready" % FAKE_NODES, 60, all_ready)
        # Admission taints a new node not-ready; the (disabled) node lifecycle controller would lift it.
        for index in range(FAKE_NODES):
            self.api.request("PATCH", "/api/v1/nodes/fake-node-%d" % index, {"spec": {"taints": None}},
                             content_type="application/merge-patch+json")

"""A fleet of simulated Kubernetes clusters seeded with Milvus releases in chosen starting states.

Python API (in-process, for pytest fixtures)::

    from tests.kubesim.fleet import Fleet
    fleet = Fleet(state_dir, clusters=[("c1", "v2510-separate-pulsar2"), ("c2", "v2516-mixcoord")],
                  pod_start_delay=0.0).up()
    fleet["c1"].cluster          # the tests.kubesim.server.Cluster object
    fleet["c1"].url, fleet["c1"].control_url, fleet["c1"].release, fleet["c1"].namespace
    fleet.kubeconfig             # one context per cluster (context name = cluster name)
    fleet.helm("status", "rel", "-n", "milvus", cluster="c1")   # CompletedProcess; own HOME/helm dirs
    fleet.helm_env()             # env (HOME, KUBECONFIG, HELM_*_HOME) for helm/kubectl/ansible
    fleet.reader("c1").get("/api/v1/namespaces/milvus/pods")    # small read-only API client
    fleet.wait_ready("c1", timeout=120)   # every workload of the release namespace rolled out + Ready
    fleet.down()                 # also: `with Fleet(...) as fleet:`

``clusters`` items: ``(name, state)``, ``(name, state, {"release": .., "namespace": ..})`` or
``{"name": .., "state": .., "release": .., "namespace": ..}``; states come from ``states.yaml``.

CLI (one detached daemon process holds every cluster)::

    python -m tests.kubesim fleet up --clusters N --states s1,s2,... --state-dir DIR
                                     [--pod-start-delay S] [--tls] [--token T] [--no-seed]
                                     [--seed-workers K] [--ready-timeout S]
    python -m tests.kubesim fleet status --state-dir DIR [--json]
    python -m tests.kubesim fleet down --state-dir DIR

State directory: ``fleet.json`` (per cluster: name, url, control_url, context, namespace, release,
state, chart, ...), ``kubeconfig``, ``fleet.pid``, ``fleet.log``, ``charts/`` (the served chart
repository), ``helm/`` + ``home/`` (the helm configuration used for seeding; repo ``fixture`` added).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from .chartrepo import ChartRepo, build_fixture_charts
from .states import State, load_states

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_REPO_NAME = "fixture"


class FleetError(RuntimeError):
    pass


def default_helm() -> str:
    cand = Path(sys.executable).parent / "helm"
    return str(cand) if cand.is_file() else "helm"


@dataclass
class FleetMember:
    """One simulated cluster of the fleet and the Milvus release seeded into it."""

    name: str
    state: State
    cluster: object = None            # tests.kubesim.server.Cluster once started
    kubeconfig_path: Path | None = None
    seeded: bool = False
    seed_seconds: float | None = None
    error: str | None = None

    @property
    def context(self) -> str:
        return self.name

    @property
    def release(self) -> str:
        return self.state.release

    @property
    def namespace(self) -> str:
        return self.state.namespace

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def control_url(self) -> str:
        return self.cluster.url.rstrip("/") + "/kubesim"

    def to_dict(self) -> dict:
        return {
            "name": self.name, "context": self.context,
            "url": self.url if self.cluster is not None else None,
            "control_url": self.control_url if self.cluster is not None else None,
            "namespace": self.namespace, "release": self.release,
            "state": self.state.name, "chart": self.state.chart,
            "expect": self.state.expect,
            "kubeconfig": str(self.kubeconfig_path) if self.kubeconfig_path else None,
            "seeded": self.seeded, "seed_seconds": self.seed_seconds, "error": self.error,
        }


def _normalise_specs(clusters, states: dict[str, State]) -> list[FleetMember]:
    members = []
    for spec in clusters:
        overrides = {}
        if isinstance(spec, dict):
            name, state_name = spec["name"], spec["state"]
            overrides = {k: spec.get(k) for k in ("release", "namespace")}
        elif len(spec) == 3:
            name, state_name, overrides = spec
        else:
            name, state_name = spec
        if state_name not in states:
            raise FleetError(f"unknown state {state_name!r}; known: {', '.join(states)}")
        state = states[state_name].with_target(overrides.get("release"), overrides.get("namespace"))
        members.append(FleetMember(name=str(name), state=state))
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise FleetError(f"duplicate cluster names: {names}")
    return members


class Fleet:
    """N simulated clusters in this process, a chart repository, and one seeded release each."""

    def __init__(self, state_dir, clusters, *, pod_start_delay: float = 0.0, tls: bool = False,
                 token: str | None = None, seed: bool = True, seed_workers: int = 3,
                 ready_timeout: float = 300.0, helm: str | None = None, states_file=None,
                 kube_versions: dict[str, str] | None = None):
        self.state_dir = Path(state_dir).resolve()
        self.states = load_states(states_file)
        self.members = _normalise_specs(clusters, self.states)
        self.pod_start_delay = float(pod_start_delay)
        self.tls = bool(tls)
        # the API server version some members report instead of the simulator's default, by member name
        self.kube_versions = dict(kube_versions or {})
        unknown = set(self.kube_versions) - set(m.name for m in self.members)
        if unknown:
            raise FleetError(f"kube_versions names no member of the fleet: {sorted(unknown)}")
        self.token = token
        self.seed = seed
        self.seed_workers = max(1, int(seed_workers))
        self.ready_timeout = float(ready_timeout)
        self.helm_binary = helm or default_helm()
        self.repo: ChartRepo | None = None
        self.up_seconds: float | None = None
        self.status = "new"
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- paths
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def fleet_json(self) -> Path:
        return self.state_dir / "fleet.json"

    @property
    def charts_dir(self) -> Path:
        return self.state_dir / "charts"

    @property
    def chart_repo_url(self) -> str | None:
        return self.repo.url if self.repo else None

    def __getitem__(self, name: str) -> FleetMember:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def __iter__(self):
        return iter(self.members)

    def __len__(self):
        return len(self.members)

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()

    def helm_env(self) -> dict:
        """Environment for helm/kubectl/ansible against the fleet (own HOME and helm dirs)."""
        env = dict(os.environ)
        env.update({
            "HOME": str(self.state_dir / "home"),
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(self.state_dir / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.state_dir / "helm" / "config"),
            "HELM_DATA_HOME": str(self.state_dir / "helm" / "data"),
        })
        for var in ("HELM_KUBECONTEXT", "HELM_NAMESPACE", "HELM_KUBETOKEN", "HELM_KUBEAPISERVER"):
            env.pop(var, None)
        return env

    def helm(self, *args, cluster: str | None = None, check: bool = True, timeout: float = 300):
        """Run the helm binary against one cluster's context; returns CompletedProcess (text)."""
        cmd = [self.helm_binary, *args]
        if cluster is not None:
            cmd += ["--kube-context", self[cluster].context]
        proc = subprocess.run(cmd, env=self.helm_env(), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise FleetError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def reader(self, name: str) -> "KubeReader":
        """A small read-only API client for cluster ``name`` (``.get(path) -> dict``)."""
        return KubeReader(self.kubeconfig, self[name].context)

    def wait_ready(self, name: str, timeout: float = 300.0) -> dict:
        """Wait until the release namespace of cluster ``name`` is rolled out and Ready."""
        m = self[name]
        return wait_namespace_ready(self.kubeconfig, m.context, m.namespace, timeout=timeout)

    # ---------------------------------------------------------------- lifecycle
    def up(self) -> "Fleet":
        started = time.monotonic()
        self.status = "starting"
        try:
            self._prepare_dirs()
            build_fixture_charts(self.charts_dir, helm=self.helm_binary)
            self.repo = ChartRepo(self.charts_dir).start()
            self._start_clusters()
            self._write_kubeconfig()
            self.write_fleet_json()
            if self.seed:
                self.helm("repo", "add", CHART_REPO_NAME, self.repo.url, "--force-update")
                self._seed_all()
            self.status = "ready"
            self.up_seconds = round(time.monotonic() - started, 2)
            self.write_fleet_json()
        except BaseException as exc:
            self.status = "failed"
            self.up_seconds = round(time.monotonic() - started, 2)
            try:
                self.write_fleet_json(error=str(exc))
            finally:
                self._stop_all()
            raise
        return self

    def down(self) -> None:
        self._stop_all()
        if self.status != "failed":
            self.status = "stopped"
        if self.fleet_json.exists():
            self.write_fleet_json()

    def _stop_all(self) -> None:
        for m in self.members:
            if m.cluster is not None:
                try:
                    m.cluster.stop()
                except Exception:  # noqa: BLE001 - keep stopping the others
                    pass
        if self.repo is not None:
            self.repo.stop()

    def _prepare_dirs(self) -> None:
        for sub in ("", "home", "clusters", "helm/cache", "helm/config", "helm/data"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)

    def _start_clusters(self) -> None:
        from .server import Cluster  # built by the simulator; imported late on purpose

        for m in self.members:
            versions = {"kube_version": self.kube_versions[m.name]} if m.name in self.kube_versions else {}
            m.cluster = Cluster(name=m.name, pod_start_delay=self.pod_start_delay, tls=self.tls,
                                token=self.token, **versions)
            m.cluster.start()

    def _write_kubeconfig(self) -> None:
        merged = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                  "clusters": [], "users": [], "contexts": [], "current-context": None}
        for m in self.members:
            path = self.state_dir / "clusters" / f"{m.name}.kubeconfig"
            m.cluster.kubeconfig(str(path), m.name)
            m.kubeconfig_path = path
            cfg = yaml.safe_load(path.read_text())
            ctx = _pick(cfg.get("contexts"), m.name) or _pick(cfg.get("contexts"),
                                                               cfg.get("current-context"))
            if ctx is None:
                raise FleetError(f"{path}: no context")
            cl = _pick(cfg.get("clusters"), ctx["context"]["cluster"])
            us = _pick(cfg.get("users"), ctx["context"].get("user"))
            merged["clusters"].append({"name": m.name, "cluster": cl["cluster"]})
            merged["users"].append({"name": m.name, "user": (us or {}).get("user") or {}})
            context = dict(ctx["context"], cluster=m.name, user=m.name)
            context.setdefault("namespace", m.namespace)
            merged["contexts"].append({"name": m.name, "context": context})
        merged["current-context"] = self.members[0].name if self.members else None
        _write_private(self.kubeconfig, yaml.safe_dump(merged, sort_keys=False))

    # ---------------------------------------------------------------- seeding
    def _seed_all(self) -> None:
        workers = min(self.seed_workers, len(self.members)) or 1
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="seed") as pool:
            futures = {pool.submit(self._seed_one, m): m for m in self.members}
            for fut in concurrent.futures.as_completed(futures):
                m = futures[fut]
                try:
                    fut.result()
                except Exception as exc:  # noqa: BLE001 - reported per cluster
                    m.error = str(exc)
                with self._lock:
                    self.write_fleet_json()
        failed = [m for m in self.members if m.error]
        if failed:
            raise FleetError("seeding failed: " + "; ".join(f"{m.name}: {m.error}" for m in failed))

    def _seed_one(self, m: FleetMember) -> None:
        t0 = time.monotonic()
        self.helm(*m.state.helm_install_args(f"{CHART_REPO_NAME}/milvus"), cluster=m.name)
        status = json.loads(self.helm("status", m.release, "--namespace", m.namespace,
                                      "-o", "json", cluster=m.name).stdout)
        if status["info"]["status"] != "deployed":
            raise FleetError(f"helm install of {m.release} left the release "
                             f"{status['info']['status']}: {status['info'].get('description')}")
        self.wait_ready(m.name, timeout=self.ready_timeout)
        m.seeded = True
        m.seed_seconds = round(time.monotonic() - t0, 2)

    # ---------------------------------------------------------------- report
    def describe(self, error: str | None = None) -> dict:
        return {
            "status": self.status,
            "pid": os.getpid(),
            "state_dir": str(self.state_dir),
            "kubeconfig": str(self.kubeconfig),
            "chart_repo": self.chart_repo_url,
            "chart_repo_name": CHART_REPO_NAME,
            "helm_env": {k: v for k, v in self.helm_env().items()
                         if k in ("HOME", "KUBECONFIG", "HELM_CACHE_HOME", "HELM_CONFIG_HOME",
                                  "HELM_DATA_HOME")},
            "pod_start_delay": self.pod_start_delay,
            "tls": self.tls,
            "up_seconds": self.up_seconds,
            "error": error,
            "clusters": [m.to_dict() for m in self.members],
        }

    def write_fleet_json(self, error: str | None = None) -> None:
        tmp = self.fleet_json.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.describe(error), indent=2) + "\n")
        os.replace(tmp, self.fleet_json)


def _pick(items, name):
    for item in items or []:
        if item.get("name") == name:
            return item
    return None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


# -------------------------------------------------------------------- readiness
class KubeReader:
    """Minimal read-only API client for one kubeconfig context (server, CA file/data, token)."""

    def __init__(self, kubeconfig, context: str):
        cfg = yaml.safe_load(Path(kubeconfig).read_text())
        ctx = _pick(cfg.get("contexts"), context)
        if ctx is None:
            raise FleetError(f"{kubeconfig}: no context {context!r}")
        cluster = _pick(cfg.get("clusters"), ctx["context"]["cluster"])["cluster"]
        user = (_pick(cfg.get("users"), ctx["context"].get("user")) or {}).get("user") or {}
        self.server = cluster["server"].rstrip("/")
        self.headers = {"Accept": "application/json"}
        if user.get("token"):
            self.headers["Authorization"] = f"Bearer {user['token']}"
        self.ssl = None
        if self.server.startswith("https:"):
            if cluster.get("insecure-skip-tls-verify"):
                self.ssl = ssl._create_unverified_context()  # noqa: S323 - test clusters only
            elif cluster.get("certificate-authority-data"):
                import base64
                self.ssl = ssl.create_default_context(cadata=base64.b64decode(
                    cluster["certificate-authority-data"]).decode())
            else:
                self.ssl = ssl.create_default_context(cafile=cluster.get("certificate-authority"))

    def get(self, path: str, timeout: float = 10) -> dict:
        req = urllib.request.Request(self.server + path, headers=self.headers)
        with urllib.request.urlopen(req, timeout=timeout, context=self.ssl) as resp:
            return json.loads(resp.read())



def namespace_snapshot(api: KubeReader, namespace: str) -> dict:
    """Deployments, StatefulSets and Pods of a namespace (raw API JSON)."""
    return {
        "deployments": api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments")["items"],
        "statefulsets": api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets")["items"],
        "pods": api.get(f"/api/v1/namespaces/{namespace}/pods")["items"],
    }


def not_ready_reasons(snap: dict) -> list[str]:
    """Why the namespace's workloads are not all rolled out and Ready ([] = ready)."""
    reasons = []
    if not snap["deployments"]:
        reasons.append("no Deployments yet")
    for d in snap["deployments"]:
        name, spec, st = d["metadata"]["name"], d.get("spec", {}), d.get("status", {})
        want = spec.get("replicas", 1)
        if st.get("observedGeneration", 0) < d["metadata"].get("generation", 1):
            reasons.append(f"deployment {name}: generation not observed")
        for key in ("updatedReplicas", "readyReplicas", "availableReplicas"):
            if st.get(key, 0) != want:
                reasons.append(f"deployment {name}: {key}={st.get(key, 0)} want {want}")
                break
    for s in snap["statefulsets"]:
        name, want = s["metadata"]["name"], s.get("spec", {}).get("replicas", 1)
        if s.get("status", {}).get("readyReplicas", 0) != want:
            reasons.append(f"statefulset {name}: readyReplicas="
                           f"{s.get('status', {}).get('readyReplicas', 0)} want {want}")
    for p in snap["pods"]:
        phase = p.get("status", {}).get("phase")
        if phase == "Succeeded":
            continue
        if p["metadata"].get("deletionTimestamp"):
            reasons.append(f"pod {p['metadata']['name']}: terminating")
            continue
        conds = {c.get("type"): c.get("status") for c in p.get("status", {}).get("conditions", [])}
        if conds.get("Ready") != "True":
            reasons.append(f"pod {p['metadata']['name']}: not Ready (phase {phase})")
    return reasons


def wait_namespace_ready(kubeconfig, context: str, namespace: str, timeout: float = 300.0,
                         interval: float = 0.25) -> dict:
    """Block until every workload in ``namespace`` is rolled out and Ready; return the snapshot.

    Raises FleetError with the outstanding reasons when ``timeout`` seconds pass first.
    """
    api = KubeReader(kubeconfig, context)
    deadline = time.monotonic() + timeout
    while True:
        snap = namespace_snapshot(api, namespace)
        reasons = not_ready_reasons(snap)
        if not reasons:
            return snap
        if time.monotonic() > deadline:
            raise FleetError(f"{context}: namespace {namespace} not ready after {timeout:.0f}s: "
                             + "; ".join(reasons[:8]))
        time.sleep(interval)


# -------------------------------------------------------------------- CLI
def _cluster_specs(n: int, states: list[str]) -> list[tuple[str, str]]:
    if n < 1:
        raise FleetError("--clusters must be >= 1")
    if not states:
        raise FleetError("--states needs at least one state")
    width = max(2, len(str(n)))
    return [(f"c{i + 1:0{width}d}", states[i % len(states)]) for i in range(n)]


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def _is_our_daemon(pid: int, state_dir: Path) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    args = [c.decode(errors="replace") for c in cmd]
    return "serve" in args and "fleet" in args and str(state_dir) in args


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "fleet.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _fleet_args(args) -> list[str]:
    out = ["--clusters", str(args.clusters), "--states", args.states,
           "--state-dir", str(args.state_dir), "--pod-start-delay", str(args.pod_start_delay),
           "--seed-workers", str(args.seed_workers), "--ready-timeout", str(args.ready_timeout)]
    if args.tls:
        out.append("--tls")
    if args.no_seed:
        out.append("--no-seed")
    return out


def cmd_up(args) -> int:
    state_dir = Path(args.state_dir).resolve()
    args.state_dir = state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    pid = _read_pid(state_dir)
    if pid and _pid_alive(pid) and _is_our_daemon(pid, state_dir):
        print(f"fleet already running in {state_dir} (pid {pid}); run 'fleet down' first",
              file=sys.stderr)
        return 1
    specs = _cluster_specs(args.clusters, [s for s in args.states.split(",") if s])
    known = load_states()
    unknown = sorted({s for _, s in specs} - set(known))
    if unknown:
        print(f"unknown state(s): {', '.join(unknown)}; known: {', '.join(known)}",
              file=sys.stderr)
        return 2
    for name in ("fleet.json", "fleet.pid"):
        (state_dir / name).unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    if args.token:
        env["KUBESIM_FLEET_TOKEN"] = args.token   # not on the command line
    started = time.monotonic()
    with open(state_dir / "fleet.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.kubesim", "fleet", "serve",
                                 *_fleet_args(args)],
                                cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = started + args.ready_timeout + 120 + 10 * args.clusters
    info = None
    while time.monotonic() < deadline:
        info = _load_json(state_dir / "fleet.json")
        if info and info.get("pid") == proc.pid and info.get("status") in ("ready", "failed"):
            break
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    info = _load_json(state_dir / "fleet.json")
    if not info or info.get("pid") != proc.pid or info.get("status") != "ready":
        reason = (info or {}).get("error") or (
            f"daemon exited with {proc.returncode}" if proc.poll() is not None else "timed out")
        print(f"fleet up failed after {elapsed:.1f}s: {reason} (see {state_dir}/fleet.log)",
              file=sys.stderr)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        return 1
    _print_status(info, alive=True)
    print(f"fleet up: {len(info['clusters'])} cluster(s) ready in {elapsed:.1f}s "
          f"(daemon pid {proc.pid}); KUBECONFIG={info['kubeconfig']}")
    return 0


def cmd_serve(args) -> int:
    state_dir = Path(args.state_dir).resolve()
    specs = _cluster_specs(args.clusters, [s for s in args.states.split(",") if s])
    stop = threading.Event()

    def _on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    (state_dir / "fleet.pid").write_text(f"{os.getpid()}\n")
    fleet = Fleet(state_dir, specs, pod_start_delay=args.pod_start_delay, tls=args.tls,
                  token=os.environ.pop("KUBESIM_FLEET_TOKEN", None) or None,
                  seed=not args.no_seed, seed_workers=args.seed_workers,
                  ready_timeout=args.ready_timeout)
    try:
        try:
            fleet.up()
        except BaseException as exc:  # noqa: BLE001 - reported in fleet.json and the log
            print(f"fleet up failed: {exc}", file=sys.stderr, flush=True)
            return 1
        print(f"fleet ready in {fleet.up_seconds}s", flush=True)
        while not stop.wait(1.0):
            pass
        fleet.down()
        print("fleet stopped", flush=True)
        return 0
    finally:
        (state_dir / "fleet.pid").unlink(missing_ok=True)


def cmd_down(args) -> int:
    state_dir = Path(args.state_dir).resolve()
    pid = _read_pid(state_dir)
    if not pid or not _pid_alive(pid) or not _is_our_daemon(pid, state_dir):
        print(f"no fleet running in {state_dir}")
        (state_dir / "fleet.pid").unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        print(f"fleet daemon {pid} did not stop in {args.timeout}s; killed", file=sys.stderr)
    (state_dir / "fleet.pid").unlink(missing_ok=True)
    print(f"fleet in {state_dir} stopped")
    return 0


def _load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _probe(url: str) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/version", timeout=2, context=ctx) as r:
            return f"up ({r.status})"
    except urllib.error.HTTPError as exc:
        return f"up ({exc.code})"
    except (urllib.error.URLError, OSError) as exc:
        return f"down ({getattr(exc, 'reason', exc)})"


def _print_status(info: dict, alive: bool, probe: bool = False) -> None:
    print(f"fleet {info['state_dir']}: status={info['status'] if alive else 'not running'} "
          f"chart_repo={info.get('chart_repo')} up_seconds={info.get('up_seconds')}")
    for c in info["clusters"]:
        extra = f" api={_probe(c['url'])}" if probe and c.get("url") else ""
        err = f" error={c['error']}" if c.get("error") else ""
        print(f"  {c['name']:<6} {c['state']:<26} {c['namespace']}/{c['release']:<10} "
              f"chart {c['chart']:<7} {c.get('url')}{extra}{err}")


def cmd_status(args) -> int:
    state_dir = Path(args.state_dir).resolve()
    info = _load_json(state_dir / "fleet.json")
    pid = _read_pid(state_dir)
    alive = bool(pid and _pid_alive(pid) and _is_our_daemon(pid, state_dir))
    if info is None:
        print(f"no fleet in {state_dir}")
        return 1
    if args.json:
        print(json.dumps(dict(info, running=alive), indent=2))
    else:
        _print_status(info, alive=alive, probe=alive)
    return 0 if alive and info.get("status") == "ready" else 1


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tests.kubesim fleet",
                                 description="simulated Kubernetes fleet with seeded Milvus releases")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("up", "serve"):
        p = sub.add_parser(name, help="start the fleet (detached)" if name == "up"
                           else "run the fleet in the foreground (used by 'up')")
        p.add_argument("--clusters", type=int, required=True)
        p.add_argument("--states", required=True, help="comma-separated state names, cycled")
        p.add_argument("--state-dir", required=True)
        p.add_argument("--pod-start-delay", type=float, default=0.5)
        p.add_argument("--tls", action="store_true")
        p.add_argument("--no-seed", action="store_true")
        p.add_argument("--seed-workers", type=int, default=3)
        p.add_argument("--ready-timeout", type=float, default=300.0)
        if name == "up":
            p.add_argument("--token", default=None, help="bearer token the clusters require")
    p = sub.add_parser("down", help="stop the fleet")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("status", help="show the fleet")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--json", action="store_true")
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"up": cmd_up, "serve": cmd_serve, "down": cmd_down,
                "status": cmd_status}[args.cmd](args)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:          # output piped into `head` and the like
        sys.stderr.close()
        return 0

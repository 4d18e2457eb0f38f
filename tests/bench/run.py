"""One measured run: a fresh kubesim fleet, then either the collection's playbook or the manual procedure.

The fleet runs in this process (tests.kubesim.fleet.Fleet), so kubesim is read directly: ``Cluster.counters()``
(reset just before the run) and a store subscription per member that feeds the Milvus Deployment, pod and helm
release Secret changes, timestamped as they happen, into the ObjectRecorder the real backend's watches feed too
(record.py). The controller under test runs in child processes; a separate sampler process (memsample.py) sums
their memory.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.kubesim.fleet import Fleet

from . import analyse
from .record import LISTED, ObjectRecorder, is_milvus

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
REAL_HELM = str(BIN / "helm") if (BIN / "helm").exists() else (shutil.which("helm") or "helm")
HELM_TRACE = str(HERE / "helm_trace.sh")
PEER_PLAYBOOK = HERE / "peer" / "upgrade.yml"
STATE = "v2510-separate-pulsar2"
TARGET_COMPONENTS = ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
TARGET_TAG = "v2.6.4"
HOPS = 2   # from STATE: hop 1 (mixcoord) and hop 2 (streaming)
MQ_PINS = ("--set pulsar.enabled=true --set pulsarv3.enabled=false --set kafka.enabled=false "
           "--set woodpecker.enabled=false --set externalPulsar.enabled=false --set externalKafka.enabled=false")


class StoreRecorder:
    """kubesim's store changes of one member's namespace, timestamped as they happen, into an ObjectRecorder."""

    PLURALS = ("deployments", "pods", "secrets")

    def __init__(self, member):
        self.namespace = member.namespace
        self.store = member.cluster.store
        self.recorder = ObjectRecorder({member.namespace: member.release})
        with self.store.lock:     # no change between the listing and the subscription
            for plural in self.PLURALS:
                for obj in self.store.list(plural, self.namespace):
                    self.recorder.observe(plural, LISTED, obj, time.time())
            self.store.subscribe(self._on_event)

    def _on_event(self, etype, res, obj, old):  # called under the store lock: record only
        if res.plural in self.PLURALS:
            self.recorder.observe(res.plural, etype, obj, time.time())

    def close(self):
        self.store.unsubscribe(self._on_event)

    def record(self):
        return self.recorder.record(self.namespace)

    def events_since(self, since):
        return self.recorder.events_since(self.namespace, since)


def collections_path(collection_root, base):
    """base/ansible_collections/milvusops/cluster -> the collection being measured."""
    target = Path(base) / "ansible_collections" / "milvusops"
    target.mkdir(parents=True, exist_ok=True)
    link = target / "cluster"
    if not link.exists():
        link.symlink_to(Path(collection_root).resolve())
    return str(base)


def add_index_history(index_path, versions):
    """List `versions` more versions of the milvus chart in a repository index, each shaped like the fixture's
    own entries (older versions, never downloaded), as the index of a repository with a release history lists
    them: helm downloads and parses all of it whenever it resolves the chart through --repo."""
    if versions <= 0:
        return
    index = yaml.safe_load(index_path.read_text())
    entries = index["entries"]["milvus"]
    template = entries[0]
    for n in range(versions):
        version = "3.%d.%d" % (n // 100, n % 100)
        entries.append(dict(template, version=version, urls=["milvus-%s.tgz" % version],
                            digest=hashlib.sha256(version.encode()).hexdigest()))
    index_path.write_text(yaml.safe_dump(index))


class Measured:
    """A fleet of `size` clusters in STATE, seeded at delay 0, then set to `delay`."""

    def __init__(self, size, delay, workdir, log=print):
        self.size, self.delay = size, float(delay)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state_dir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
        width = max(2, len(str(size)))
        clusters = [("c%0*d" % (width, i + 1), STATE) for i in range(size)]
        started = time.monotonic()
        self.fleet = Fleet(self.state_dir, clusters, pod_start_delay=0.0, seed_workers=min(4, size)).up()
        self.up_seconds = round(time.monotonic() - started, 1)
        log("    fleet of %d up in %.1f s" % (size, self.up_seconds))
        self.before = dict((m.name, self._mq_uids(m)) for m in self.fleet)
        for member in self.fleet:
            member.cluster.set_config(pod_start_delay=self.delay)
        self.recorders = dict((m.name, StoreRecorder(m)) for m in self.fleet)

    def _mq_uids(self, member):
        return dict((s["metadata"]["name"], s["metadata"].get("uid"))
                    for s in member.cluster.store.list("statefulsets", member.namespace)
                    if (s["metadata"].get("labels") or {}).get("app") in ("pulsar", "pulsarv3", "kafka"))

    def reset(self):
        for member in self.fleet:
            member.cluster.reset_counters()

    def end_state(self, member):
        """None when the cluster is in the documented end state, else what is wrong."""
        deployments = [d for d in member.cluster.store.list("deployments", member.namespace)
                       if is_milvus(d, member.release)]
        components = sorted((d["metadata"].get("labels") or {}).get("component") for d in deployments)
        problems = []
        if components != TARGET_COMPONENTS:
            problems.append("components %s" % components)
        for d in deployments:
            images = [c.get("image", "") for c in d["spec"]["template"]["spec"]["containers"]]
            if not any(image.endswith(":" + TARGET_TAG) for image in images):
                problems.append("%s runs %s" % (d["metadata"]["name"], images))
        if self._mq_uids(member) != self.before[member.name]:
            problems.append("message-queue StatefulSets changed")
        return "; ".join(problems) or None

    def collect(self, run_start):
        out = {}
        for member in self.fleet:
            out[member.name] = {
                "events": self.recorders[member.name].events_since(run_start - 1),
                "counters": member.cluster.counters(),
                "record": self.recorders[member.name].record(),
                "end_state_problem": self.end_state(member),
            }
        return out

    def requests(self, raw):
        """API requests of the run per cluster: total, by verb, by key (kubesim's own counters)."""
        counters = [data["counters"] for data in raw.values()]
        return {"per_cluster": sum(sum(c.values()) for c in counters) / float(max(1, len(counters))),
                "by_verb": analyse.per_cluster([analyse.by_verb(c) for c in counters]),
                "by_key": analyse.per_cluster(counters),
                "source": "kubesim request counters"}

    def down(self):
        for recorder in self.recorders.values():
            recorder.close()
        self.fleet.down()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def _run_sampled(command, env, cwd, log_path, timeout):
    """Run command with its output in log_path, its process tree's memory sampled and its CPU time taken.

    Returns (rc, started, ended, memory, cpu): cpu has the controller tree's user+sys seconds (os.wait4:
    the process and every descendant it waited for) and this process's own CPU seconds meanwhile, which
    is kubesim's (the fleet's servers, controllers and kubelets run in this process).
    """
    mem_path = Path(cwd) / "memory.json"
    with open(log_path, "w") as log_file:
        own_cpu = time.process_time()
        busy = _busy_cpu_seconds()
        load = os.getloadavg()[0]
        started = time.time()
        proc = subprocess.Popen(command, env=env, cwd=str(cwd), stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        sampler = subprocess.Popen([sys.executable, "-m", "tests.bench.memsample", str(proc.pid), str(mem_path)],
                                   cwd=str(ROOT), stdin=subprocess.DEVNULL)
        rc, usage, killed = None, None, False
        while rc is None:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                rc = os.waitstatus_to_exitcode(status)
                proc.returncode = rc
                break
            if not killed and time.time() - started > timeout:
                proc.kill()
                killed = True
            time.sleep(0.02)
        ended = time.time()
        own_cpu = time.process_time() - own_cpu
        busy = _busy_cpu_seconds() - busy if busy is not None else None
        try:
            sampler.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sampler.kill()
            sampler.wait()
    memory = json.loads(mem_path.read_text()) if mem_path.exists() else None
    if memory is not None:
        processes = memory.pop("processes", [])
        (Path(cwd) / "processes.json").write_text(json.dumps(processes, indent=0))
        memory["process_lifetimes"] = analyse.process_lifetimes(processes)
    if memory is not None and usage is not None:
        memory["max_single_process_rss_mb_rusage"] = round(usage.ru_maxrss / 1024.0, 1)
    cpu = {"controller_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2) if usage else None,
           "kubesim_cpu_seconds": round(own_cpu, 2),
           "machine_busy_cpu_seconds": round(busy, 2) if busy is not None else None,
           "loadavg_1min_before": round(load, 2),
           "cpus": _usable_cpus()}
    if busy is not None and usage is not None:
        # what neither the controller nor kubesim used (the memory sampler, and anything else on the machine)
        cpu["other_cpu_seconds"] = round(busy - cpu["controller_cpu_seconds"] - own_cpu, 2)
    return ("timeout" if killed else rc), started, ended, memory, cpu


def _usable_cpus():
    """The cores this run may use: its CPU affinity (taskset), else every core of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _busy_cpu_seconds():
    """Machine-wide busy CPU seconds so far (/proc/stat), to see what else ran during a measurement."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / float(os.sysconf("SC_CLK_TCK"))


def _trace_env(env, helm_log):
    env = dict(env)
    env["BENCH_HELM_REAL"] = REAL_HELM
    env["BENCH_HELM_LOG"] = str(helm_log)
    env["PATH"] = "%s%s%s" % (BIN, os.pathsep, env.get("PATH", ""))
    return env


def _inventory(fleet, path, **extra):
    """One host per cluster in group milvus_clusters, with the variables both playbooks read."""
    hosts = {}
    for member in fleet:
        hosts[member.name] = dict({
            "milvus_release": member.release,
            "milvus_namespace": member.namespace,
            "milvus_kube_context": member.context,
            "milvus_kubeconfig": str(fleet.kubeconfig),
            "milvus_chart_repo_url": fleet.chart_repo_url,
            "milvus_helm_binary": HELM_TRACE,
        }, **extra)
    inventory = {"all": {"hosts": hosts, "children": {"milvus_clusters": {"hosts": dict((h, {}) for h in hosts)}}}}
    path.write_text(yaml.safe_dump(inventory))
    return path


def _ansible_env(fleet, work):
    """The environment of one ansible-playbook run: helm traced, the bench_timing callback, forks = fleet size.
    Returns (env, timing file, helm log)."""
    timing_file, helm_log = work / "timing.jsonl", work / "helm.log"
    env = _trace_env(fleet.helm_env(), helm_log)
    env.update({
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
        "ANSIBLE_FORKS": str(len(fleet)),
        "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_timing",
        "BENCH_TIMING_FILE": str(timing_file),
    })
    return env, timing_file, helm_log


def _read_lines(path, parse):
    return parse(path.read_text()) if path.exists() else []


def _timing(text):
    return [json.loads(line) for line in text.splitlines()]


def _ours_invocation(measured, work, settle, collection_root, extra_env, extra_vars):
    """(command, env, timing file, helm log, report dir) of one run of our playbook in folder work."""
    fleet = measured.fleet
    work.mkdir(parents=True, exist_ok=True)
    inventory = _inventory(fleet, work / "inventory.yml", milvus_settle_after_mixcoord=settle,
                           milvus_settle_after_streaming=settle)
    report_dir = work / "report"
    env, timing_file, helm_log = _ansible_env(fleet, work)
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_path(collection_root, work / "collections")
    env.update(extra_env or {})
    variables = {"milvus_upgrade_confirm": True, "milvus_report_dir": str(report_dir)}
    variables.update(extra_vars or {})
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), "milvusops.cluster.upgrade",
               "-e", json.dumps(variables)]
    return command, env, timing_file, helm_log, report_dir


def run_ours(measured, settle, collection_root, timeout, extra_env=None, extra_vars=None, rerun=True, ordered=True):
    """ansible-playbook milvusops.cluster.upgrade -e milvus_upgrade_confirm=true, forks = fleet size; then the
    same command again on the upgraded fleet (the idempotent re-run). ordered=False: helm's all-at-once hop 2
    (milvus_ordered_rollout=false), the kind ours-all-at-once."""
    kind = "ours" if ordered else "ours-all-at-once"
    if not ordered:
        extra_vars = dict(extra_vars or {}, milvus_ordered_rollout=False)
    fleet, work = measured.fleet, measured.workdir / "ours"
    command, env, timing_file, helm_log, report_dir = _ours_invocation(measured, work, settle, collection_root,
                                                                       extra_env, extra_vars)
    measured.reset()
    rc, started, ended, memory, cpu = _run_sampled(command, env, work, work / "ansible.log", timeout)
    raw = measured.collect(started)
    timing = _read_lines(timing_file, _timing)
    helm_calls = _read_lines(helm_log, analyse.parse_helm_log)
    reports = _cluster_reports(fleet, report_dir)
    settles = [settle, settle]
    clusters = {}
    for name, data in raw.items():
        windows = analyse.hop_windows(data["record"], data["events"], started, hops=HOPS)
        ready = analyse.ready_results(timing, name)
        hop2 = windows[1] if len(windows) == HOPS else None
        clusters[name] = {
            "status": (reports.get(name) or {}).get("status"),
            "end_state_problem": data["end_state_problem"],
            "windows": windows,
            "hop2_seconds": (hop2 or {}).get("rollout_seconds"),
            "write_outage_seconds": analyse.write_outage(data["events"], hop2, TARGET_TAG),
            "reported_write_outage_seconds": analyse.reported_outage(reports.get(name)),
            "floor_seconds": analyse.floor_seconds(windows),
            "detection_seconds": analyse.detection(windows, ready, settles),
            "wait_started_after_hop_end_seconds": analyse.wait_start_offsets(windows, timing, name),
            "wait_calls": analyse.wait_calls(timing, name),
            "counters": data["counters"],
        }
    result = _summarise(kind, measured, rc, started, ended, memory, raw, clusters, helm_calls)
    for key in ("hop2_seconds", "write_outage_seconds", "reported_write_outage_seconds"):
        result[key] = analyse.median([c[key] for c in clusters.values()])
    result["cpu"] = cpu
    if cpu:
        cpu.update(analyse.cpu_split(timing, result["helm"], len(fleet), cpu, ended - started))
    result.update(_playbook_figures(timing, started, ended, len(fleet)))
    result["wait_module_overhead"] = analyse.module_overhead(timing)
    result["timelines"] = analyse.host_timelines(timing, dict((n, c["windows"]) for n, c in clusters.items()),
                                                 started)
    result["ok"] = rc == 0 and all(c["status"] == "upgraded" and not c["end_state_problem"]
                                   for c in clusters.values())
    (work / "raw-events.json").write_text(json.dumps(raw, default=str))
    if rerun:
        again = _ours_invocation(measured, work / "rerun", settle, collection_root, extra_env, extra_vars)
        result["rerun"] = measure_rerun(measured, again[0], again[1], work / "rerun", timeout, again[2], again[3])
        statuses = [(r or {}).get("status") for r in _cluster_reports(fleet, again[4]).values()]
        result["rerun"]["ok"] = result["rerun"]["ok"] and all(v == "up_to_date" for v in statuses)
    return result


def _cluster_reports(fleet, report_dir):
    """{cluster: its milvus_report JSON, None when there is none}."""
    reports = {}
    for member in fleet:
        path = report_dir / "clusters" / ("%s.json" % member.name)
        reports[member.name] = json.loads(path.read_text()) if path.exists() else None
    return reports


def _playbook_figures(timing, started, ended, size):
    """Start-up, shutdown, pacing and task figures of an ansible-playbook run (from the bench_timing records)."""
    out = {"idle_between_tasks": analyse.idle_between_tasks(timing),
           "task_profile": analyse.task_profile(timing),
           "tasks_per_cluster": analyse.task_counts(timing, size),
           "play_strategies": analyse.play_strategies(timing)}
    marks = [r["ts"] for r in timing if r.get("event") in ("playbook_start", "playbook_end")]
    if len(marks) == 2:
        out["ansible_startup_seconds"] = round(marks[0] - started, 2)
        out["ansible_shutdown_seconds"] = round(ended - marks[1], 2)
    return out


def _peer_invocation(measured, work, ansible_playbook):
    fleet = measured.fleet
    work.mkdir(parents=True, exist_ok=True)
    inventory = _inventory(fleet, work / "inventory.yml")
    env, timing_file, helm_log = _ansible_env(fleet, work)
    command = [str(ansible_playbook), "-i", str(inventory), str(PEER_PLAYBOOK)]
    return command, env, timing_file, helm_log


def run_peer(measured, timeout, ansible_playbook, rerun=True):
    """tests/bench/peer/upgrade.yml (kubernetes.core) with the peer virtualenv's ansible-playbook, forks = fleet
    size; then the same command again on the upgraded fleet."""
    fleet, work = measured.fleet, measured.workdir / "peer"
    command, env, timing_file, helm_log = _peer_invocation(measured, work, ansible_playbook)
    measured.reset()
    rc, started, ended, memory, cpu = _run_sampled(command, env, work, work / "ansible.log", timeout)
    raw = measured.collect(started)
    timing = _read_lines(timing_file, _timing)
    helm_calls = _read_lines(helm_log, analyse.parse_helm_log)
    clusters = {}
    for name, data in raw.items():
        windows = analyse.hop_windows(data["record"], data["events"], started, hops=HOPS)
        verified = any(r.get("event") == "ok" and r.get("host") == name and r.get("action") == "ansible.builtin.assert"
                       for r in timing)
        failed = any(r.get("event") == "failed" and r.get("host") == name for r in timing)
        clusters[name] = {
            "status": "upgraded" if verified and not failed else "failed",
            "end_state_problem": data["end_state_problem"],
            "windows": windows,
            "floor_seconds": analyse.floor_seconds(windows),
            "detection_seconds": analyse.detection(windows, analyse.peer_ready_results(timing, name), [0, 0]),
            "counters": data["counters"],
        }
    result = _summarise("peer", measured, rc, started, ended, memory, raw, clusters, helm_calls)
    result["cpu"] = cpu
    if cpu:
        cpu.update(analyse.cpu_split(timing, result["helm"], len(fleet), cpu, ended - started))
    result.update(_playbook_figures(timing, started, ended, len(fleet)))
    result["ok"] = rc == 0 and all(c["status"] == "upgraded" and not c["end_state_problem"]
                                   for c in clusters.values())
    (work / "raw-events.json").write_text(json.dumps(raw, default=str))
    if rerun:
        again = _peer_invocation(measured, work / "rerun", ansible_playbook)
        result["rerun"] = measure_rerun(measured, again[0], again[1], work / "rerun", timeout, again[2], again[3])
    return result


def measure_rerun(measured, command, env, work, timeout, timing_file, helm_log):
    """The idempotent re-run on the upgraded fleet: its cost (wall, CPU, requests, helm, tasks) and whether it
    changed anything (a new helm revision or a Milvus Deployment spec write is a change)."""
    measured.reset()
    rc, started, ended, memory, cpu = _run_sampled(command, env, work, work / "ansible.log", timeout)
    raw = measured.collect(started)
    timing = _read_lines(timing_file, _timing)
    helm = analyse.helm_summary(_read_lines(helm_log, analyse.parse_helm_log), len(raw))
    writes = sum(1 for data in raw.values() for w in data["record"]["writes"] if w[0] >= started)
    revisions = sum(1 for data in raw.values() for r in data["record"]["revisions"] if r[0] >= started)
    size = len(raw)
    requests = measured.requests(raw)
    if cpu:
        cpu.update(analyse.cpu_split(timing, helm, size, cpu, ended - started))
    return {
        "rc": rc, "wall_seconds": round(ended - started, 2), "cpu": cpu, "memory": memory, "helm": helm,
        "requests_per_cluster": requests["per_cluster"], "requests_per_cluster_by_verb": requests["by_verb"],
        "deployment_writes": writes, "new_revisions": revisions,
        "tasks_per_cluster": analyse.task_counts(timing, size),
        "module_starts": analyse.module_starts(memory, size),
        "task_profile": analyse.task_profile(timing),
        "ok": rc == 0 and writes == 0 and revisions == 0 and not any(d["end_state_problem"] for d in raw.values()),
    }


def run_baseline(measured, timeout):
    """tests/bench/manual_procedure.sh over every cluster, one after the other (not re-run: run again on an
    upgraded cluster, its hop 1 would take 2.6 back to 2.5.16)."""
    fleet, work = measured.fleet, measured.workdir / "baseline"
    work.mkdir(parents=True, exist_ok=True)
    helm_log = work / "helm.log"
    kubectl = shutil.which("kubectl", path=fleet.helm_env().get("PATH"))
    command = ["bash", str(HERE / "manual_procedure.sh"), "--repo", fleet.chart_repo_url, "--helm", HELM_TRACE,
               "--pins", MQ_PINS]
    command += ["--kubectl", kubectl] if kubectl else ["--no-kubectl"]
    command += ["%s:%s:%s" % (m.context, m.namespace, m.release) for m in fleet]
    env = _trace_env(fleet.helm_env(), helm_log)
    measured.reset()
    rc, started, ended, memory, cpu = _run_sampled(command, env, work, work / "procedure.log", timeout)
    raw = measured.collect(started)
    helm_calls = _read_lines(helm_log, analyse.parse_helm_log)
    phases = _procedure_phases((work / "procedure.log").read_text())
    clusters = {}
    for name, data in raw.items():
        windows = analyse.hop_windows(data["record"], data["events"], started, hops=HOPS)
        marks = phases.get(name, {})
        noticed = [marks[m] for m in ("hop2-helm", "verify") if m in marks]   # after each rollout wait
        clusters[name] = {
            "status": "upgraded" if marks.get("done") else "failed",
            "end_state_problem": data["end_state_problem"],
            "windows": windows,
            "floor_seconds": analyse.floor_seconds(windows),
            "detection_seconds": analyse.detection(windows, noticed, [0, 0]),
            "phases": phases.get(name),
            "counters": data["counters"],
        }
    result = _summarise("baseline", measured, rc, started, ended, memory, raw, clusters, helm_calls)
    result["cpu"] = cpu
    if cpu:
        cpu.update(analyse.controller_bound(cpu, ended - started))
        if cpu.get("controller_cpu_seconds") is not None:
            cpu["per_cluster_cpu_seconds"] = {"controller": round(cpu["controller_cpu_seconds"] / len(fleet), 2)}
    result["wait_method"] = "kubectl rollout status per Milvus Deployment" if kubectl else \
        "helm upgrade --wait (kubectl not found)"
    result["ok"] = rc == 0 and all(c["status"] == "upgraded" and not c["end_state_problem"]
                                   for c in clusters.values())
    result["phase_means"] = _phase_means(phases)
    (work / "raw-events.json").write_text(json.dumps(raw, default=str))
    return result


def _procedure_phases(text):
    """{context: {phase: epoch}} from the script's BENCH lines."""
    phases = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "BENCH":
            phases.setdefault(parts[2], {})[parts[3]] = float(parts[1])
    return phases


def _phase_means(phases):
    """Mean seconds per cluster of each step of the manual procedure."""
    order = ["start", "hop1-helm", "hop1-wait", "hop2-helm", "hop2-wait", "verify", "done"]
    sums, n = {}, 0
    for marks in phases.values():
        if "done" not in marks:
            continue
        n += 1
        for a, b in zip(order, order[1:]):
            sums[a] = sums.get(a, 0.0) + marks[b] - marks[a]
    names = {"start": "check coordinators", "hop1-helm": "hop 1 helm upgrade", "hop1-wait": "hop 1 rollout wait",
             "hop2-helm": "hop 2 helm upgrade", "hop2-wait": "hop 2 rollout wait", "verify": "verify"}
    return dict((names[k], round(v / n, 2)) for k, v in sums.items()) if n else {}


def _summarise(kind, measured, rc, started, ended, memory, raw, clusters, helm_calls):
    size = len(clusters)
    floors = [c["floor_seconds"] for c in clusters.values()]
    detections = [d for c in clusters.values() for d in c.get("detection_seconds", [])]
    requests = measured.requests(raw)
    return {
        "kind": kind,
        "rc": rc,
        "wall_seconds": round(ended - started, 2),
        "floor_seconds": max(floors) if floors and None not in floors else None,
        "floor_median_cluster_seconds": analyse.median(floors),
        "wall_breakdown": analyse.wall_breakdown([c["windows"] for c in clusters.values()], started, ended),
        "detection": {"values": detections, "median": analyse.median(detections),
                      "p95": analyse.percentile(detections, 95)},
        "requests_per_cluster": requests["per_cluster"],
        "requests_per_cluster_by_verb": requests["by_verb"],
        "requests_per_cluster_by_key": requests["by_key"],
        "requests_source": requests["source"],
        "helm": analyse.helm_summary(helm_calls, size),
        "module_starts": analyse.module_starts(memory, size),
        "memory": memory,
        "clusters": clusters,
    }

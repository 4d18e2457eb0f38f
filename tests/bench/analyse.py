"""Pure analysis of one benchmark run: hop windows and the floor from kubesim's own records, readiness
detection latency, API requests by verb, helm invocations, per-task timing. No I/O here.

Definitions (also printed by the benchmark):

- hop k of a cluster starts at the first spec write (create, delete or generation change) of one of the
  release's Milvus Deployments after helm created release revision k (the Secret
  ``sh.helm.release.v1.<release>.v<N>``); kubesim's store is watched in-process for these writes. A server-side
  dry run stores nothing, so it does not start a hop. Any revision after the last hop's counts as a step of it
  (hop_windows(hops=2)). The ordered hop 2's pauses and keep annotations are written before hop 2's revision
  and so fall into hop 1's writes, not its end (they roll nothing out); its deletion of the kept index node,
  after the rollout, is a write of hop 2, and the index node's pods going (PodDeleted) can end it.
- hop k ends at the last PodReady, DeploymentRolloutComplete or PodDeleted event (record.py) of a Milvus object
  (Deployment ``<fullname>-<component>`` or its pods) before hop k+1 starts. PodDeleted counts because the
  end state of a hop has no old or removed pod left; the MQ / etcd / MinIO StatefulSets are not part of it.
- write outage of hop 2 = from the first Milvus pod of the target image turning Running to the last one turning
  Ready (from the objects, not from a tool's view), the same for the ordered and the all-at-once hop 2: while
  any component still lacks a ready 2.6 pod, Milvus 2.6 takes no writes (our wait reports its own view of the
  same window, rollout.write_outage_seconds).
- floor of a cluster = sum over hops of (end - start): the time kubesim needed to roll both hops out once helm
  had started writing, excluding everything between hops. The floor of a fleet is the slowest cluster's
  floor (the clusters are independent, so a perfect tool would roll them all at once).
- detection latency of a hop = (the moment the tool noticed the hop was ready) - (hop end) - (the hop's settle
  seconds, which our module waits on purpose). Ours: Ansible receiving the milvus_wait_ready result with
  ready=true (bench_timing callback); the peer: Ansible receiving the result of its k8s_info wait task after
  that hop; the manual procedure: the script's mark after its `kubectl rollout status` loop.
- module starts: processes of Ansible modules (AnsiballZ_<module>.py) seen by the memory sampler (0.25 s
  samples, so a module that lives shorter than that can be missed), per cluster.
"""

import math
import statistics

END_EVENTS = ("PodReady", "DeploymentRolloutComplete", "PodDeleted")
WAIT_ACTION = "milvusops.cluster.milvus_wait_ready"
PEER_WAIT_TASK = "Wait until every Milvus Deployment has rolled out hop"   # tests/bench/peer/upgrade.yml
# actions that run inside Ansible's worker process, without starting a module process
CONTROLLER_ACTIONS = ("ansible.builtin.set_fact", "ansible.builtin.assert", "ansible.builtin.debug",
                      "ansible.builtin.fail", "ansible.builtin.include_tasks", "ansible.builtin.include_role",
                      "ansible.builtin.meta", "set_fact", "assert", "debug", "fail", "include_tasks", "meta")


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a list; None when empty."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    rank = max(1, int(math.ceil(q / 100.0 * len(values))))
    return values[rank - 1]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _is_milvus(event, deployments):
    name = event.get("name") or ""
    if event.get("kind") == "Deployment":
        return name in deployments
    if event.get("kind") == "Pod":
        return any(name.startswith(d + "-") for d in deployments)
    return False


def hop_windows(record, events, run_start, hops=None):
    """[{hop, revision, start, writes_end, end, steps}] of one cluster (see the module docstring). With hops, the
    revisions after the hops-th are steps of the last hop."""
    deployments = set(record["deployments"]) | set(w[2] for w in record["writes"])
    revisions = sorted((ts, rev) for ts, rev in record["revisions"] if ts >= run_start)
    starts = []
    for index, (created, revision) in enumerate(revisions):
        until = revisions[index + 1][0] if index + 1 < len(revisions) else float("inf")
        writes = [w for w in record["writes"] if created <= w[0] < until]
        if not writes:
            continue
        if hops and len(starts) >= hops:
            starts[-1].update(writes_end=writes[-1][0], steps=starts[-1]["steps"] + 1)
        else:
            starts.append({"revision": revision, "start": writes[0][0], "writes_end": writes[-1][0], "steps": 1})
    ends = sorted(e["ts"] for e in events if e["type"] in END_EVENTS and _is_milvus(e, deployments))
    for index, hop in enumerate(starts):
        hop["hop"] = index + 1
        until = starts[index + 1]["start"] if index + 1 < len(starts) else float("inf")
        inside = [ts for ts in ends if hop["start"] <= ts < until]
        hop["end"] = inside[-1] if inside else None
        hop["rollout_seconds"] = round(hop["end"] - hop["start"], 3) if hop["end"] else None
        hop["helm_write_seconds"] = round(hop["writes_end"] - hop["start"], 3)
    return starts


def write_outage(events, window, tag):
    """Seconds from the first Milvus pod of image tag `tag` turning Running to the last one turning Ready, from
    the hop window's start on; None without a window, a running or a ready pod of that tag."""
    if not window:
        return None
    suffix = ":" + tag
    new = [e for e in events if e["ts"] >= window["start"] and (e.get("image") or "").endswith(suffix)]
    running = [e["ts"] for e in new if e["type"] == "PodRunning"]
    ready = [e["ts"] for e in new if e["type"] == "PodReady"]
    if not running or not ready:
        return None
    return round(max(max(ready) - min(running), 0.0), 3)


def reported_outage(cluster_report, hop="streaming"):
    """rollout.write_outage_seconds of one hop in a cluster report of milvus_report (None when absent)."""
    for applied in (cluster_report or {}).get("hops_applied") or []:
        if applied.get("name") == hop:
            return (applied.get("rollout") or {}).get("write_outage_seconds")
    return None


def wall_breakdown(windows_by_cluster, started, ended):
    """Where the wall time went, median over clusters: before the first helm write (start-up, checks, planning),
    hop 1's rollout, between the hops (detection of hop 1, checks, hop 2's helm until its first write), hop 2's
    rollout, and after it (detection, verification, reports, exit). None when a cluster has not two hops."""
    parts = {"before_hop1": [], "hop1_rollout": [], "between_hops": [], "hop2_rollout": [], "after_hop2": []}
    for windows in windows_by_cluster:
        if len(windows) != 2 or any(w["end"] is None for w in windows):
            return None
        first, second = windows
        for key, value in (("before_hop1", first["start"] - started), ("hop1_rollout", first["end"] - first["start"]),
                           ("between_hops", second["start"] - first["end"]),
                           ("hop2_rollout", second["end"] - second["start"]), ("after_hop2", ended - second["end"])):
            parts[key].append(value)
    return dict((key, round(median(values), 2)) for key, values in parts.items()) if parts["before_hop1"] else None


def floor_seconds(windows):
    """Sum of the hops' rollout seconds, None when a hop has no end."""
    if not windows or any(w["rollout_seconds"] is None for w in windows):
        return None
    return round(sum(w["rollout_seconds"] for w in windows), 3)


def ready_results(timing, host):
    """Timestamps of the milvus_wait_ready results with ready=true of one host, in order."""
    return [r["ts"] for r in timing
            if r.get("event") == "ok" and r.get("host") == host and r.get("action") == WAIT_ACTION and r.get("ready")]


def peer_ready_results(timing, host):
    """Timestamps of the peer's k8s_info wait results of one host, in order (one per hop)."""
    return [r["ts"] for r in timing if r.get("event") == "ok" and r.get("host") == host
            and r.get("task", "").startswith(PEER_WAIT_TASK)]


def task_counts(timing, clusters):
    """Per cluster: task results that ran (ok/failed), skipped ones, and those that ran a module process (every
    action but the ones Ansible's worker handles itself); the fleet-wide play (host localhost) is left out."""
    ran = skipped = modules = 0
    for record in timing:
        if record.get("host") in (None, "localhost"):
            continue
        if record.get("event") in ("ok", "failed"):
            ran += 1
            modules += record.get("action") not in CONTROLLER_ACTIONS
        elif record.get("event") == "skipped":
            skipped += 1
    n = float(max(1, clusters))
    return {"ran": round(ran / n, 1), "skipped": round(skipped / n, 1), "module_tasks": round(modules / n, 1)}


def play_strategies(timing):
    """{play name: the strategy Ansible ran it with}, in play order (the bench_timing callback's play_start)."""
    return dict((r["play"], r["strategy"]) for r in timing if r.get("event") == "play_start")


def module_starts(memory, clusters):
    """Module processes per cluster, by module, from the memory sampler's process list (see above); and every
    process the run started, per cluster (Ansible's shells around each module, helm, kubectl, ...)."""
    lifetimes = (memory or {}).get("process_lifetimes") or {}
    n = float(max(1, clusters))
    by_module = dict((cmd.split(" ", 1)[1], round(e["count"] / n, 1)) for cmd, e in lifetimes.items()
                     if cmd.startswith("module "))
    return {"per_cluster": round(sum(by_module.values()), 1), "by_module": by_module,
            "processes_per_cluster": round(sum(e["count"] for e in lifetimes.values()) / n, 1)}


def wait_calls(timing, host):
    return sum(1 for r in timing if r.get("event") in ("ok", "failed") and r.get("host") == host
               and r.get("action") == WAIT_ACTION)


def detection(windows, ready_ts, settles):
    """Per hop: seconds from the hop's end to the ready result of its last step (settle subtracted); a hop of
    several steps (hop_windows(hops=...)) has one ready result per step."""
    out = []
    position = -1
    for index, window in enumerate(windows):
        position += window.get("steps", 1)
        if position >= len(ready_ts) or window["end"] is None:
            out.append(None)
            continue
        settle = settles[index] if index < len(settles) else 0
        out.append(round(ready_ts[position] - window["end"] - settle, 3))
    return out


def by_verb(counters):
    """{'list': n, 'get': n, ...} from kubesim counters ('<verb> <resource>' or '<method> <path>')."""
    verbs = {}
    for key, count in counters.items():
        verb = key.split(" ", 1)[0]
        verbs[verb] = verbs.get(verb, 0) + count
    return verbs


def per_cluster(counter_list):
    """Mean per cluster of a list of {key: count} dicts (one per cluster), rounded."""
    total = {}
    for counters in counter_list:
        for key, count in counters.items():
            total[key] = total.get(key, 0) + count
    n = max(1, len(counter_list))
    return dict(sorted(((k, round(v / float(n), 1)) for k, v in total.items()), key=lambda kv: -kv[1]))


def parse_helm_log(text):
    """[(start, end, rc, cpu, context, what)] from helm_trace.sh lines; cpu is None when it was not readable."""
    calls = []
    for line in text.splitlines():
        parts = line.split(" ", 5)
        if len(parts) < 6:
            continue
        try:
            cpu = None if parts[3] == "-" else float(parts[3])
            calls.append((float(parts[0]), float(parts[1]), int(parts[2]), cpu, parts[4], parts[5]))
        except ValueError:
            continue
    return calls


def helm_summary(calls, clusters):
    """Per cluster: calls by subcommand (count, mean seconds, mean CPU seconds), total seconds and CPU in helm."""
    kinds = {}
    for start, end, _rc, cpu, _context, what in calls:
        entry = kinds.setdefault(what, {"calls": 0, "seconds": 0.0, "cpu": 0.0})
        entry["calls"] += 1
        entry["seconds"] += end - start
        entry["cpu"] += cpu or 0.0
    n = max(1, clusters)
    return {
        "per_cluster_calls": round(len(calls) / float(n), 2),
        "per_cluster_seconds": round(sum(call[1] - call[0] for call in calls) / float(n), 2),
        "per_cluster_cpu_seconds": round(sum(call[3] or 0.0 for call in calls) / float(n), 2),
        "by_subcommand": dict((what, {"per_cluster": round(e["calls"] / float(n), 2),
                                      "mean_seconds": round(e["seconds"] / e["calls"], 3),
                                      "mean_cpu_seconds": round(e["cpu"] / e["calls"], 3)})
                              for what, e in sorted(kinds.items())),
    }


def cpu_split(timing, helm, clusters, cpu, wall):
    """Where the controller's CPU went, per cluster: Ansible's main process (from the bench_timing callback's last
    reading), helm (from helm_trace.sh), and the rest (task workers and module processes); plus how busy the
    machine's cores were and the shortest wall time that CPU allows on them."""
    main = next((r["cpu_main"] for r in reversed(timing) if "cpu_main" in r), None)
    controller = cpu.get("controller_cpu_seconds")
    n = float(max(1, clusters))
    split = controller_bound(cpu, wall)
    if main is not None and controller is not None:
        helm_cpu = helm.get("per_cluster_cpu_seconds", 0.0)
        split["per_cluster_cpu_seconds"] = {
            "ansible_main": round(main / n, 2),
            "helm": helm_cpu,
            "workers_and_modules": round((controller - main) / n - helm_cpu, 2),
            "controller": round(controller / n, 2),
        }
    return split


def controller_bound(cpu, wall):
    """The shortest wall time the run's CPU allows on its cores: the machine's busy CPU s (controller, kubesim and
    anything else) / cores, and the controller's own CPU s / cores; how busy the cores were."""
    controller, busy, cores = cpu.get("controller_cpu_seconds"), cpu.get("machine_busy_cpu_seconds"), cpu.get("cpus")
    out = {}
    if busy is not None and cores:
        out["cpu_bound_wall_seconds"] = round(busy / float(cores), 1)
        out["core_utilisation"] = round(busy / (float(cores) * wall), 2) if wall > 0 else None
    if controller is not None and cores:
        out["controller_bound_wall_seconds"] = round(controller / float(cores), 1)
    return out


def task_profile(timing, top=25):
    """Per task name: host executions, mean and total seconds (host_start -> result), sorted by total."""
    started = {}
    tasks = {}
    for record in timing:
        key = (record.get("host"), record.get("uuid"))
        if record.get("event") == "host_start":
            started[key] = record["ts"]
        elif record.get("event") in ("ok", "failed", "skipped") and key in started:
            seconds = record["ts"] - started.pop(key)
            entry = tasks.setdefault(record["task"], {"action": record.get("action"), "runs": 0,
                                                      "seconds": 0.0, "max": 0.0})
            entry["runs"] += 1
            entry["seconds"] += seconds
            entry["max"] = max(entry["max"], seconds)
    rows = [dict(task=name, action=e["action"], runs=e["runs"], total_seconds=round(e["seconds"], 2),
                 mean_seconds=round(e["seconds"] / e["runs"], 3), max_seconds=round(e["max"], 3))
            for name, e in tasks.items()]
    rows.sort(key=lambda row: -row["total_seconds"])
    return rows[:top]


def module_overhead(timing):
    """For milvus_wait_ready calls: task seconds minus the module's own 'elapsed' (start-up, imports, client
    set-up, result transport); mean and max over calls."""
    started, overheads = {}, []
    for record in timing:
        key = (record.get("host"), record.get("uuid"))
        if record.get("event") == "host_start":
            started[key] = record["ts"]
        elif record.get("event") == "ok" and key in started and record.get("action") == WAIT_ACTION \
                and record.get("elapsed") is not None:
            overheads.append(record["ts"] - started.pop(key) - float(record["elapsed"]))
    if not overheads:
        return None
    return {"calls": len(overheads), "mean_seconds": round(sum(overheads) / len(overheads), 3),
            "max_seconds": round(max(overheads), 3)}


def host_timelines(timing, windows_by_host, t0):
    """Per host, hop starts/ends and wait results relative to t0 (to see linear-strategy lockstep)."""
    out = {}
    for host, windows in windows_by_host.items():
        ready = ready_results(timing, host)
        out[host] = {
            "hops": [{"start": round(w["start"] - t0, 2), "end": round(w["end"] - t0, 2) if w["end"] else None}
                     for w in windows],
            "ready_results": [round(ts - t0, 2) for ts in ready],
        }
    return out


def idle_between_tasks(timing):
    """Per host, seconds between a task's result and the host's next task start, summed; mean and max over
    hosts. With the linear strategy a host waits there for the slowest host of the task (lockstep)."""
    last, idle = {}, {}
    for record in timing:
        host = record.get("host")
        if not host:
            continue
        if record.get("event") == "host_start":
            if host in last:
                idle[host] = idle.get(host, 0.0) + record["ts"] - last.pop(host)
        elif record.get("event") in ("ok", "failed", "skipped"):
            last[host] = record["ts"]
    if not idle:
        return None
    return {"mean_seconds": round(sum(idle.values()) / len(idle), 2), "max_seconds": round(max(idle.values()), 2)}


def wait_start_offsets(windows, timing, host):
    """Per hop: (first milvus_wait_ready start of the hop) - (hop end). Positive: the rollout had already
    finished when the wait module was started, so detection is the time to get there, not the watch."""
    starts = sorted(r["ts"] for r in timing if r.get("event") == "host_start" and r.get("host") == host
                    and r.get("action") == WAIT_ACTION)
    out = []
    for window in windows:
        first = [ts for ts in starts if ts >= window["start"]]
        out.append(round(first[0] - window["end"], 3) if first and window["end"] else None)
    return out


def process_lifetimes(processes):
    """Per program / Ansible module: how many processes and their mean sampled lifetime (0.25 s resolution)."""
    kinds = {}
    for proc in processes:
        entry = kinds.setdefault(proc.get("cmd") or "?", {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += proc["last"] - proc["first"]
    return dict((cmd, {"count": e["count"], "mean_seconds": round(e["seconds"] / e["count"], 2)})
                for cmd, e in sorted(kinds.items(), key=lambda kv: -kv[1]["seconds"]) if e["count"])

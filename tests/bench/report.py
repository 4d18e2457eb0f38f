"""Derived figures, the issue's targets and the printed tables of the benchmark."""

from . import analyse

DEFINITIONS = {
    "ours": "wall time of `ansible-playbook milvusops.cluster.upgrade -e milvus_upgrade_confirm=true` "
            "(process start to exit, including the fleet report play), forks = fleet size, role defaults "
            "except milvus_settle_after_mixcoord = milvus_settle_after_streaming = --settle",
    "ours-all-at-once": "the same as ours with milvus_ordered_rollout=false: helm rolls every Deployment of hop 2 out "
                        "at once (the ordered default pauses them before helm and resumes them one at a time)",
    "hop2": "hop 2 of a cluster, from helm's first Milvus Deployment write of hop 2 to the last PodReady / "
            "DeploymentRolloutComplete / PodDeleted of a Milvus object, the index node's removal included; "
            "median cluster",
    "outage": "write outage of hop 2, the same for both kinds, from the objects: the first Milvus pod of the 2.6 image "
              "Running -> the last one Ready; median cluster. 'report': our wait's own view of that window "
              "(rollout.write_outage_seconds of the cluster report, first 2.6 pod it saw running -> last component "
              "it saw ready)",
    "peer": "wall time of `ansible-playbook tests/bench/peer/upgrade.yml`: what a competent user writes with "
            "kubernetes.core (helm_info chart guard, kubernetes.core.helm per hop with reset_then_reuse_values and "
            "the MQ pins, k8s_info wait: true on the Milvus Deployments after each hop, an end-state assert), "
            "forks = fleet size, its own virtualenv with the `ansible` community package",
    "baseline": "wall time of tests/bench/manual_procedure.sh: the documented two `helm upgrade "
                "--reset-then-reuse-values` hops with the MQ pins, `kubectl rollout status` per Milvus Deployment "
                "after each hop, the doc's checks, cluster after cluster",
    "floor": "from kubesim's records of our run: per cluster, sum over both hops of (last PodReady / "
             "DeploymentRolloutComplete / PodDeleted of a Milvus object) - (first Milvus Deployment spec write "
             "of that hop); the fleet's floor is its slowest cluster's (clusters are independent)",
    "detection": "per cluster and hop: the tool noticing readiness - the hop's end - that hop's settle seconds; "
                 "ours: Ansible receiving milvus_wait_ready's ready=true result (bench_timing callback); peer: "
                 "Ansible receiving its k8s_info wait result; manual: the script's mark after its rollout waits",
    "rerun": "the same command once more on the fleet it just upgraded (not for the manual procedure, whose hop 1 "
             "would take 2.6 back to 2.5.16): wall, controller CPU, requests, helm calls; 'nothing changed' = no "
             "new helm revision and no Milvus Deployment spec write",
    "ratios": "peer/ours and manual/ours: wall time of the peer (manual procedure) over ours within one "
              "repetition (the three run back to back), median over repetitions; wall times are medians",
    "cpu_bound": "controller CPU s / usable cores: the shortest wall time the tool's own CPU allows on this "
                 "machine; at 16 clusters = controller CPU s per cluster x 16 / cores (from the largest size "
                 "measured at that delay when 16 was not)",
    "modules": "module starts per cluster: Ansible module processes (AnsiballZ) seen by the memory sampler "
               "(0.25 s samples: a shorter-lived module can be missed); tasks ran/skipped per cluster from the "
               "bench_timing callback",
    "requests": "kubesim request counters per cluster, reset before the run, by verb (get/list/watch/create/"
                "patch/update/delete; non-resource paths such as /version and /openapi count as get)",
    "memory": "peak over 0.25 s samples of the summed PSS (RSS in brackets) of the controller process tree "
              "(ansible-playbook, its forks, modules, helm; or bash, helm, kubectl)",
}


def fmt_delay(delay):
    return ("%g" % delay)


def _ratio(a, b):
    if a is None or not b:
        return None
    return round(a / b, 2)


def _per_cluster_cpu(run, size):
    controller = (run.get("cpu") or {}).get("controller_cpu_seconds")
    return None if controller is None else controller / float(size)


def summarise_runs(runs, size):
    """Medians over the repetitions of one kind at one size and delay (the figures of the tables)."""
    def med(values):
        return analyse.median([v for v in values if v is not None])
    reruns = [r["rerun"] for r in runs if r.get("rerun")]
    return {
        "wall_seconds": med([r["wall_seconds"] for r in runs]),
        "wall_all": [r["wall_seconds"] for r in runs],
        "floor_seconds": med([r.get("floor_seconds") for r in runs]),
        "detection_median": med([d for r in runs for d in (r.get("detection") or {}).get("values", [])]),
        "detection_p95": analyse.percentile([d for r in runs for d in (r.get("detection") or {}).get("values", [])],
                                            95),
        "cpu_per_cluster": med([_per_cluster_cpu(r, size) for r in runs]),
        "requests_per_cluster": med([r.get("requests_per_cluster") for r in runs]),
        "helm_calls_per_cluster": med([(r.get("helm") or {}).get("per_cluster_calls") for r in runs]),
        "module_starts_per_cluster": med([(r.get("module_starts") or {}).get("per_cluster") for r in runs]),
        "hop2_seconds": med([r.get("hop2_seconds") for r in runs]),
        "write_outage_seconds": med([r.get("write_outage_seconds") for r in runs]),
        "reported_write_outage_seconds": med([r.get("reported_write_outage_seconds") for r in runs]),
        "cpus": next(((r.get("cpu") or {}).get("cpus") for r in runs if (r.get("cpu") or {}).get("cpus")), None),
        "ok": all(r["ok"] for r in runs),
        "rerun": {
            "wall_seconds": med([r["wall_seconds"] for r in reruns]),
            "cpu_per_cluster": med([_per_cluster_cpu(r, size) for r in reruns]),
            "requests_per_cluster": med([r.get("requests_per_cluster") for r in reruns]),
            "helm_calls_per_cluster": med([r["helm"]["per_cluster_calls"] for r in reruns]),
            "module_starts_per_cluster": med([r["module_starts"]["per_cluster"] for r in reruns]),
            "tasks_per_cluster": reruns[0]["tasks_per_cluster"],
            "nothing_changed": all(r["ok"] for r in reruns),
        } if reruns else None,
    }


def _representative(runs):
    """The repetition with the median (lower median) wall time: the run the detail tables show."""
    ordered = sorted(runs, key=lambda r: r["wall_seconds"])
    return ordered[(len(ordered) - 1) // 2]


def derive(entry):
    """Per kind the representative run (entry[kind]) and the medians (entry['summary'][kind]); ratios to ours
    within each repetition, then their median; the floor and the wall/floor ratio."""
    size = entry["size"]
    runs = entry["runs"]
    entry["summary"] = dict((kind, summarise_runs(kind_runs, size)) for kind, kind_runs in runs.items() if kind_runs)
    for kind, kind_runs in runs.items():
        if kind_runs:
            entry[kind] = _representative(kind_runs)
    ours = entry["summary"]["ours"]
    entry["floor_seconds"] = ours["floor_seconds"]
    entry["ours_over_floor"] = _ratio(ours["wall_seconds"], ours["floor_seconds"])
    entry["ratios"] = {}
    for kind in ("peer", "baseline"):
        others = runs.get(kind) or []
        if not others:
            continue
        if others[0].get("extrapolated_from"):
            per_rep = [_ratio(others[0]["wall_seconds"], ours["wall_seconds"])]
        else:
            per_rep = [_ratio(b["wall_seconds"], a["wall_seconds"]) for a, b in zip(runs["ours"], others)]
        entry["ratios"]["%s/ours" % kind] = {"median": analyse.median(per_rep), "per_repetition": per_rep}
        if kind == "peer":
            reruns = [(a.get("rerun"), b.get("rerun")) for a, b in zip(runs["ours"], others)]
            per_rep = [_ratio(b["wall_seconds"], a["wall_seconds"]) for a, b in reruns if a and b]
            if per_rep:
                entry["ratios"]["peer/ours rerun"] = {"median": analyse.median(per_rep), "per_repetition": per_rep}
    base = entry["summary"].get("baseline")
    if base:
        entry["speedup_vs_baseline"] = (entry["ratios"].get("baseline/ours") or {}).get("median")
        entry["ours_over_baseline"] = _ratio(ours["wall_seconds"], base["wall_seconds"])
        entry["baseline_floor_seconds"] = base["floor_seconds"]
    return entry


def extrapolate(measured_entry, size):
    """A baseline for `size` clusters from a measured one: the procedure is a sequential loop, so
    wall time = per-cluster time x size; per-cluster figures (requests, helm calls) carry over."""
    base = measured_entry["baseline"]
    n = measured_entry["size"]
    return {
        "kind": "baseline", "extrapolated_from": n, "rc": base["rc"], "ok": base["ok"],
        "wall_seconds": round(base["wall_seconds"] / float(n) * size, 2),
        "floor_seconds": base["floor_seconds"], "floor_median_cluster_seconds": base["floor_median_cluster_seconds"],
        "requests_per_cluster": base["requests_per_cluster"],
        "requests_per_cluster_by_verb": base["requests_per_cluster_by_verb"],
        "requests_per_cluster_by_key": base["requests_per_cluster_by_key"],
        "helm": base["helm"], "memory": base["memory"], "cpu": None, "clusters": {},
        "detection": base.get("detection"), "module_starts": base.get("module_starts"),
        "phase_means": base.get("phase_means"), "wait_method": base.get("wait_method"),
    }


def _find(results, size, delay):
    for entry in results:
        if entry["size"] == size and entry["delay"] == delay:
            return entry
    return None


def _summary(entry, kind):
    return (entry or {}).get("summary", {}).get(kind)


def _target(text, measured, met, note):
    return {"target": text, "measured": measured, "met": met, "note": note}


def _missing(text, needs):
    return _target(text, None, None, "needs " + needs)


def _peer_targets(results):
    """Ours against the peer: upgrade CPU per cluster (<= 0.8x), upgrade wall at 1 and 4 clusters, 5 s delay (<= 1x),
    the idempotent re-run's CPU and wall (<= 1x); one row per measured size and delay."""
    out = []
    with_peer = [r for r in results if _summary(r, "peer")]
    for r in with_peer:
        ours, peer, where = _summary(r, "ours"), _summary(r, "peer"), "%d cl, %s s" % (r["size"], fmt_delay(r["delay"]))
        ratio = _ratio(ours["cpu_per_cluster"], peer["cpu_per_cluster"])
        out.append(_target("upgrade CPU-s/cluster <= 0.8x the peer's (%s)" % where, ratio,
                           None if ratio is None else ratio <= 0.8,
                           "%s vs %s CPU-s" % (_f(ours["cpu_per_cluster"], 2), _f(peer["cpu_per_cluster"], 2))))
        if r["size"] in (1, 4) and r["delay"] == 5.0:
            ours_over_peer = _inverse((r["ratios"].get("peer/ours") or {}).get("median"))
            out.append(_target("upgrade wall <= the peer's (%s)" % where, ours_over_peer,
                               None if ours_over_peer is None else ours_over_peer <= 1.0,
                               "ours/peer, median of the repetitions; %s vs %s s%s" % (
                                   _f(ours["wall_seconds"]), _f(peer["wall_seconds"]), _all_at_once_note(r))))
        if ours.get("rerun") and peer.get("rerun"):
            cpu = _ratio(ours["rerun"]["cpu_per_cluster"], peer["rerun"]["cpu_per_cluster"])
            wall = _inverse((r["ratios"].get("peer/ours rerun") or {}).get("median"))
            out.append(_target("re-run CPU-s/cluster <= the peer's (%s)" % where, cpu, None if cpu is None else cpu <= 1.0,
                               "%s vs %s CPU-s" % (_f(ours["rerun"]["cpu_per_cluster"], 2),
                                                   _f(peer["rerun"]["cpu_per_cluster"], 2))))
            out.append(_target("re-run wall <= the peer's (%s)" % where, wall, None if wall is None else wall <= 1.0,
                               "ours/peer; %s vs %s s" % (_f(ours["rerun"]["wall_seconds"]),
                                                          _f(peer["rerun"]["wall_seconds"]))))
    if not any(r["size"] in (1, 4) and r["delay"] == 5.0 for r in with_peer):
        out.append(_missing("upgrade wall <= the peer's (1 and 4 clusters, 5 s delay)", "sizes 1 and 4 at delay 5 "
                                                                                          "with the peer"))
    if not with_peer:
        out.append(_missing("upgrade CPU-s/cluster <= 0.8x the peer's; re-run CPU and wall <= the peer's", "the peer"))
    return out


def _with_simulator_note(entry):
    """On kubesim the simulated API servers share the controller's cores: the bound with their CPU too."""
    cpu = (entry.get("ours") or {}).get("cpu") or {}
    if not cpu.get("kubesim_cpu_seconds") or not cpu.get("controller_cpu_seconds") or not cpu.get("cpus"):
        return ""
    bound = (cpu["controller_cpu_seconds"] + cpu["kubesim_cpu_seconds"]) / float(cpu["cpus"])
    return "; with kubesim's own %.1f CPU-s on the same cores: %.1f s (x%.2f)" % (
        cpu["kubesim_cpu_seconds"], bound, entry["ours"]["wall_seconds"] / bound)


def _inverse(ratio):
    return None if not ratio else round(1.0 / ratio, 2)


def _all_at_once_note(entry):
    flat, peer = _summary(entry, "ours-all-at-once"), _summary(entry, "peer")
    if not flat or not peer:
        return ""
    return "; milvus_ordered_rollout=false: %s s (x%s of the peer)" % (
        _f(flat["wall_seconds"]), _f(_ratio(flat["wall_seconds"], peer["wall_seconds"]), 2))


def targets(results, settle):
    """Issue 14's targets next to the measured values (reported, never asserted)."""
    out = _peer_targets(results)
    detections = [d for r in results for d in r["ours"]["detection"]["values"]]
    med = analyse.median(detections)
    out.append(_target("detection latency median < 0.5 s", med, None if med is None else med < 0.5,
                       "p95 %s s; all sizes and delays, %d hop detections" % (
                           _f(analyse.percentile(detections, 95), 2), len(detections))))
    one = _find(results, 1, 5.0)
    text = "single cluster at 5 s delay < 1.25x the floor (settle 0)"
    if one and one["floor_seconds"] and not settle:
        ratio = one["ours_over_floor"]
        out.append(_target(text, ratio, ratio < 1.25, "%s s vs floor %s s" % (
            _f(one["summary"]["ours"]["wall_seconds"]), _f(one["floor_seconds"]))))
    else:
        out.append(_missing(text, "size 1 at delay 5 and --settle 0"))
    sixteen = [r for r in results if r["size"] == 16]
    for r in sixteen:
        ours = _summary(r, "ours")
        bound = _bound(ours, 16)
        minimums = [v for v in (r["floor_seconds"], bound) if v]
        ratio = _ratio(ours["wall_seconds"], max(minimums)) if minimums else None
        out.append(_target("16 clusters within 1.15x of max(floor, CPU bound) (%s s delay)" % fmt_delay(r["delay"]),
                           ratio, None if ratio is None else ratio <= 1.15,
                           "%s s vs floor %s s, CPU bound %s s (%s CPU-s/cluster x 16 / %s cores)%s" % (
                               _f(ours["wall_seconds"]), _f(r["floor_seconds"]), _f(bound),
                               _f(ours["cpu_per_cluster"], 2), ours.get("cpus"), _with_simulator_note(r))))
    if not sixteen:
        out.append(_missing("16 clusters within 1.15x of max(floor, CPU bound)", "size 16"))
    return out


def _f(value, digits=1, suffix=""):
    if value is None:
        return "-"
    return ("%." + str(digits) + "f%s") % (value, suffix)


def _mem(memory):
    if not memory:
        return "-"
    return "%.0f (%.0f)" % (memory["peak_pss_mb"], memory["peak_rss_mb"])


SHORT = {"ours": "ours", "ours-all-at-once": "all-at-once", "peer": "peer", "baseline": "manual"}
# the ordered / all-at-once comparison: (column, summary key, digits)
ORDERED_FIGURES = (("wall s", "wall_seconds", 1), ("CPU-s/cluster", "cpu_per_cluster", 2),
                   ("hop 2 s", "hop2_seconds", 1), ("outage s", "write_outage_seconds", 1),
                   ("outage s (report)", "reported_write_outage_seconds", 1),
                   ("API req/cluster", "requests_per_cluster", 0))


def ordered_comparison(entry):
    """{summary key: (ordered, all-at-once, ordered/all-at-once)} of one size and delay; None without both kinds.
    The wall-time ratio is the median of the per-repetition ratios (the two run back to back), the others are
    ratios of the medians."""
    summary = entry.get("summary") or {}
    ordered, flat = summary.get("ours"), summary.get("ours-all-at-once")
    if not ordered or not flat:
        return None
    out = {}
    for _label, key, _digits in ORDERED_FIGURES:
        out[key] = (ordered.get(key), flat.get(key), _ratio(ordered.get(key), flat.get(key)))
    runs = entry.get("runs") or {}
    per_rep = [_ratio(a["wall_seconds"], b["wall_seconds"]) for a, b in zip(runs.get("ours") or [],
                                                                           runs.get("ours-all-at-once") or [])]
    if per_rep:
        out["wall_seconds"] = out["wall_seconds"][:2] + (analyse.median(per_rep),)
    return out


def print_ordered_comparison(results):
    rows = [(r, ordered_comparison(r)) for r in results]
    rows = [(r, c) for r, c in rows if c]
    if not rows:
        return
    print("\nHop 2 ordered (ours, the default) vs all at once (ours, milvus_ordered_rollout=false); medians; "
          "each cell ordered / all-at-once (x ordered over all-at-once)")
    cells = [label for label, _key, _digits in ORDERED_FIGURES]
    header = "%4s %5s | %s" % ("size", "delay", " | ".join("%-22s" % c for c in cells))
    print(header)
    print("-" * len(header))
    for r, comparison in rows:
        parts = []
        for _label, key, digits in ORDERED_FIGURES:
            a, b, ratio = comparison[key]
            parts.append("%-22s" % ("%s / %s (x%s)" % (_f(a, digits), _f(b, digits), _f(ratio, 2))))
        print("%4d %5s | %s" % (r["size"], fmt_delay(r["delay"]), " | ".join(parts)))
    for key in ("hop2", "outage"):
        print("  %-8s %s" % (key + ":", DEFINITIONS[key]))


def _triple(r, get, digits=1, kinds=("ours", "peer", "baseline")):
    """'a / b / c' of one figure for each kind of an entry's summary ('-' where a kind was not measured)."""
    return " / ".join(_f(get(r["summary"][k]) if k in r["summary"] else None, digits) for k in kinds)


def _ratio_cell(r, key):
    return _f((r.get("ratios", {}).get(key) or {}).get("median"), 2)


def print_tables(results, meta):
    """The comparison of the three: the upgrade, the idempotent re-run, the minimums (floor, CPU bound)."""
    backend = meta.get("backend", "kubesim")
    print("Upgrade on %s, medians of %s repetition(s); columns ours / peer (kubernetes.core) / manual procedure"
          % (backend, meta.get("repeat", 1)))
    header = ("%4s %5s | %-22s | %7s | %9s %11s %8s | %-20s | %-20s | %-17s | %-17s | %-11s"
              % ("size", "delay", "wall s", "floor s", "peer/ours", "manual/ours", "ours/flr",
                 "detect med s", "CPU-s/cluster", "API req/cluster", "helm calls/cl", "modules/cl"))
    print(header)
    print("-" * len(header))
    for r in results:
        bad = [SHORT[k] for k, runs in r["runs"].items() for run in runs if not run["ok"]]
        print("%4d %5s | %-22s | %7s | %9s %11s %8s | %-20s | %-20s | %-17s | %-17s | %-11s%s" % (
            r["size"], fmt_delay(r["delay"]), _triple(r, lambda s: s["wall_seconds"]), _f(r["floor_seconds"]),
            _ratio_cell(r, "peer/ours"), _ratio_cell(r, "baseline/ours"), _f(r["ours_over_floor"], 2),
            _triple(r, lambda s: s["detection_median"], 2), _triple(r, lambda s: s["cpu_per_cluster"], 2),
            _triple(r, lambda s: s["requests_per_cluster"], 0), _triple(r, lambda s: s["helm_calls_per_cluster"]),
            _triple(r, lambda s: s["module_starts_per_cluster"], kinds=("ours", "peer")),
            "  <- NOT OK: %s (see JSON)" % ", ".join(sorted(set(bad))) if bad else ""))
    if backend == "real":
        source = next((r["ours"].get("requests_source") for r in results), "")
        print("API requests on the real control plane: %s" % source)
    if any(r["summary"][k].get("rerun") for r in results for k in r["summary"]):
        print("\nIdempotent re-run of the upgraded fleet (the same command again); ours / peer")
        header = ("%4s %5s | %-13s | %9s | %-11s | %-11s | %-11s | %-11s | %-13s | %s"
                  % ("size", "delay", "wall s", "peer/ours", "CPU-s/cl", "API req/cl", "helm/cl", "modules/cl",
                     "tasks ran/skip", "nothing changed"))
        print(header)
        print("-" * len(header))
        for r in results:
            reruns = dict((k, r["summary"][k]["rerun"]) for k in ("ours", "peer")
                          if k in r["summary"] and r["summary"][k].get("rerun"))
            if not reruns:
                continue

            def cell(get, digits=1):
                return " / ".join(_f(get(reruns[k]) if k in reruns else None, digits) for k in ("ours", "peer"))
            tasks = " / ".join("%s/%s" % (_f(reruns[k]["tasks_per_cluster"]["ran"], 0),
                                          _f(reruns[k]["tasks_per_cluster"]["skipped"], 0))
                               for k in ("ours", "peer") if k in reruns)
            print("%4d %5s | %-13s | %9s | %-11s | %-11s | %-11s | %-11s | %-13s | %s" % (
                r["size"], fmt_delay(r["delay"]), cell(lambda x: x["wall_seconds"]), _ratio_cell(r, "peer/ours rerun"),
                cell(lambda x: x["cpu_per_cluster"], 2), cell(lambda x: x["requests_per_cluster"], 0),
                cell(lambda x: x["helm_calls_per_cluster"]), cell(lambda x: x["module_starts_per_cluster"]), tasks,
                " / ".join("yes" if reruns[k]["nothing_changed"] else "NO" for k in ("ours", "peer") if k in reruns)))
    print("\nWhere the wall time goes, median cluster, seconds (representative run): before hop 1's first write | "
          "hop 1 rollout | between the hops | hop 2 rollout | after hop 2's rollout")
    for r in results:
        for kind in ("ours", "peer", "baseline"):
            parts = (r.get(kind) or {}).get("wall_breakdown")
            if parts:
                print("%4d %5s %-6s | %6.1f | %6.1f | %6.1f | %6.1f | %6.1f" % (
                    r["size"], fmt_delay(r["delay"]), SHORT[kind], parts["before_hop1"], parts["hop1_rollout"],
                    parts["between_hops"], parts["hop2_rollout"], parts["after_hop2"]))
    print("\nMinimums: the floor (pod start delay-bound: kubesim's or the control plane's own rollout time, "
          "slowest cluster) and the CPU bound (controller CPU s / %s cores); ours / peer / manual"
          % next((r["summary"]["ours"]["cpus"] for r in results if r["summary"]["ours"].get("cpus")), "?"))
    print("%4s %5s | %7s | %-20s | %-20s" % ("size", "delay", "floor s", "CPU bound s", "CPU bound at 16 cl s"))
    for r in results:
        print("%4d %5s | %7s | %-20s | %-20s" % (
            r["size"], fmt_delay(r["delay"]), _f(r["floor_seconds"]),
            _triple(r, lambda s: _bound(s, r["size"])), _triple(r, lambda s: _bound(s, 16))))


def _bound(summary, size):
    if summary.get("cpu_per_cluster") is None or not summary.get("cpus"):
        return None
    return summary["cpu_per_cluster"] * size / float(summary["cpus"])


def print_all(document):
    results = document["results"]
    meta = document["meta"]
    print("Settle after each hop: %d s for our runs%s." % (
        meta["settle_after_mixcoord"], " (floor comparison; the role's defaults are 30 and 60 s)"
        if meta["settle_after_mixcoord"] == 0 else ""))
    print_tables(results, meta)
    print_ordered_comparison(results)
    print("\nPeak memory MB, PSS (RSS): ours | peer | manual")
    for r in results:
        print("%4d %5s | %s" % (r["size"], fmt_delay(r["delay"]), " | ".join(
            _mem((r.get(k) or {}).get("memory")) for k in ("ours", "peer", "baseline"))))
    if any((r.get("baseline") or {}).get("extrapolated_from") for r in results):
        print("* baseline extrapolated from the largest measured size at that delay (sequential: per-cluster time x "
              "size; its memory is the measured run's); measure it with --baseline-sizes all")
    print("\nCPU and pacing: controller CPU s (ours | baseline), kubesim and other CPU s during our run (other = "
          "sampler + anything else on the machine), wait-module calls per cluster, idle s per host between tasks "
          "(mean / max; linear-strategy lockstep)")
    for r in results:
        ours, base = r["ours"], r.get("baseline") or {}
        calls = [c.get("wait_calls") for c in ours["clusters"].values()]
        idle = ours.get("idle_between_tasks") or {}
        print("%4d %5s | cpu %7s | %7s | kubesim %6s | other %6s | wait calls %4s | idle %5s / %5s" % (
            r["size"], fmt_delay(r["delay"]), _f((ours.get("cpu") or {}).get("controller_cpu_seconds")),
            _f((base.get("cpu") or {}).get("controller_cpu_seconds")),
            _f((ours.get("cpu") or {}).get("kubesim_cpu_seconds")),
            _f((ours.get("cpu") or {}).get("other_cpu_seconds")),
            _f(sum(calls) / float(len(calls)) if calls else None), _f(idle.get("mean_seconds")),
            _f(idle.get("max_seconds"))))
    print("\nCPU budget (ours, peer; upgrade and re-run): controller CPU s per cluster (Ansible main process + task "
          "workers and module processes + helm); the machine's busy CPU s / cores = the shortest wall time that work "
          "allows here, and how busy the cores were")
    for r in results:
        for kind in ("ours", "peer"):
            for label, run in (("", r.get(kind)), ("re-run", (r.get(kind) or {}).get("rerun"))):
                if not run:
                    continue
                cpu = run.get("cpu") or {}
                per = cpu.get("per_cluster_cpu_seconds") or {}
                print("%4d %5s %-4s %-6s | %5s = main %5s + workers/modules %5s + helm %5s | busy %6s / %s cores = "
                      "%6s s of %6s s wall (%s)" % (
                          r["size"], fmt_delay(r["delay"]), kind, label, _f(per.get("controller"), 2),
                          _f(per.get("ansible_main"), 2), _f(per.get("workers_and_modules"), 2),
                          _f(per.get("helm"), 2), _f(cpu.get("machine_busy_cpu_seconds")), cpu.get("cpus", "-"),
                          _f(cpu.get("cpu_bound_wall_seconds")), _f(run["wall_seconds"]),
                          "-" if cpu.get("core_utilisation") is None
                          else "%d%% busy" % round(100 * cpu["core_utilisation"])))
    kinds = [k for k in ("ours", "peer", "baseline") if any(r.get(k) for r in results)]
    print("\nAPI requests per cluster upgrade by verb (%s):" % " | ".join(SHORT[k] for k in kinds))
    verbs = sorted(set(v for r in results for k in kinds if r.get(k)
                       for v in (r[k]["requests_per_cluster_by_verb"] or {})))
    if not verbs:
        print("  not available (%s)" % next((r["ours"].get("requests_source") for r in results), "no counters"))
    else:
        print("%4s %5s | %s" % ("size", "delay", " ".join("%18s" % v for v in verbs)))
    for r in results if verbs else []:
        cells = []
        for verb in verbs:
            values = [((r.get(k) or {}).get("requests_per_cluster_by_verb") or {}).get(verb) for k in kinds]
            cells.append("%18s" % " | ".join(_f(v, 0) for v in values))
        print("%4d %5s | %s" % (r["size"], fmt_delay(r["delay"]), " ".join(cells)))
    if results:
        biggest = max(results, key=lambda r: (r["size"], r["delay"]))
        print("\nhelm per cluster upgrade, %d clusters at %s s (calls, mean seconds):" % (
            biggest["size"], fmt_delay(biggest["delay"])))
        for kind in kinds:
            print("  %-7s %s" % (SHORT[kind], _helm_line((biggest.get(kind) or {}).get("helm"))))
            rerun = (biggest.get(kind) or {}).get("rerun")
            if rerun:
                print("  %-7s %s" % ("re-run", _helm_line(rerun["helm"])))
        print("module starts per cluster (upgrade | re-run), %d clusters at %s s:" % (
            biggest["size"], fmt_delay(biggest["delay"])))
        for kind in ("ours", "peer"):
            run = biggest.get(kind)
            if run:
                print("  %-5s %s | %s" % (kind, _modules_line(run.get("module_starts")),
                                         _modules_line((run.get("rerun") or {}).get("module_starts"))))
                tasks, again = run.get("tasks_per_cluster") or {}, (run.get("rerun") or {}).get("tasks_per_cluster") or {}
                print("        tasks per cluster: upgrade %s ran (%s of a module or action plugin), %s skipped; "
                      "re-run %s ran (%s of a module or action plugin), %s skipped" % (
                          _f(tasks.get("ran")), _f(tasks.get("module_tasks")), _f(tasks.get("skipped")),
                          _f(again.get("ran")), _f(again.get("module_tasks")), _f(again.get("skipped"))))
                if run.get("play_strategies"):
                    print("        strategies: %s" % "; ".join(
                        "%s: %s" % item for item in run["play_strategies"].items()))
        if biggest.get("baseline", {}).get("phase_means"):
            print("baseline steps, mean seconds per cluster: %s" % ", ".join(
                "%s %.1f" % kv for kv in biggest["baseline"]["phase_means"].items()))
        overhead = biggest["ours"].get("wait_module_overhead")
        if overhead:
            print("milvus_wait_ready start-up and transport (task time - module elapsed): mean %.2f s, max %.2f s "
                  "over %d calls" % (overhead["mean_seconds"], overhead["max_seconds"], overhead["calls"]))
        for kind in ("ours", "peer"):
            for label, run in (("upgrade", biggest.get(kind)), ("re-run", (biggest.get(kind) or {}).get("rerun"))):
                if not run or not run.get("task_profile"):
                    continue
                print("slowest tasks of %s, %s (host-seconds summed over the fleet):" % (kind, label))
                for row in run["task_profile"][:10 if label == "upgrade" else 6]:
                    print("  %7.1f s  %3d runs  mean %6.2f s  max %6.2f s  %s" % (
                        row["total_seconds"], row["runs"], row["mean_seconds"], row["max_seconds"], row["task"][:70]))
    print("\nDefinitions:")
    for key in ("ours", "peer", "baseline", "ratios", "floor", "cpu_bound", "detection", "rerun", "modules",
                "memory"):
        print("  %-10s %s" % (key + ":", DEFINITIONS[key]))
    print("\nIssue targets (reported, not asserted):")
    for t in document["targets"]:
        met = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        print("  %-72s measured %-8s %-8s %s" % (t["target"], _f(t["measured"], 2), met, t.get("note", "")))


def _modules_line(modules):
    if not modules:
        return "-"
    return "%.1f (%s; %s processes in all)" % (
        modules["per_cluster"], ", ".join("%s %.1f" % kv for kv in modules["by_module"].items()),
        _f(modules.get("processes_per_cluster")))


def _helm_line(helm):
    if not helm:
        return "-"
    return "%.1f calls, %.1f s, %.1f CPU-s: %s" % (
        helm["per_cluster_calls"], helm["per_cluster_seconds"], helm["per_cluster_cpu_seconds"], ", ".join(
            "%s %.1fx%.2fs" % (what, e["per_cluster"], e["mean_seconds"]) for what, e in helm["by_subcommand"].items()))

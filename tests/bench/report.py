"""Derived figures, the issue's targets and the printed tables of the benchmark."""

from . import analyse

DEFINITIONS = {
    "ours": "wall time of `ansible-playbook milvusops.cluster.upgrade -e milvus_upgrade_confirm=true` "
            "(process start to exit, including the fleet report play), forks = fleet size, role defaults "
            "except milvus_settle_after_mixcoord = --settle",
    "baseline": "wall time of tests/bench/manual_procedure.sh: the documented two `helm upgrade "
                "--reset-then-reuse-values` hops with the MQ pins, `kubectl rollout status` per Milvus Deployment "
                "after each hop, the doc's checks, cluster after cluster",
    "floor": "from kubesim's records of our run: per cluster, sum over both hops of (last PodReady / "
             "DeploymentRolloutComplete / PodDeleted of a Milvus object) - (first Milvus Deployment spec write "
             "of that hop); the fleet's floor is its slowest cluster's (clusters are independent)",
    "detection": "per cluster and hop: Ansible receiving milvus_wait_ready's ready=true result (bench_timing "
                 "callback) - kubesim's hop end - that hop's settle seconds",
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


def derive(entry):
    ours, base = entry["ours"], entry.get("baseline")
    entry["floor_seconds"] = ours["floor_seconds"]
    entry["ours_over_floor"] = _ratio(ours["wall_seconds"], ours["floor_seconds"])
    if base:
        entry["ours_over_baseline"] = _ratio(ours["wall_seconds"], base["wall_seconds"])
        entry["speedup_vs_baseline"] = _ratio(base["wall_seconds"], ours["wall_seconds"])
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
        "phase_means": base.get("phase_means"), "wait_method": base.get("wait_method"),
    }


def _find(results, size, delay):
    for entry in results:
        if entry["size"] == size and entry["delay"] == delay:
            return entry
    return None


def targets(results, settle):
    """The issue's targets next to the measured values (reported, never asserted)."""
    out = []
    detections = [d for r in results for d in r["ours"]["detection"]["values"]]
    med = analyse.median(detections)
    out.append({"target": "detection latency median < 1 s", "measured": med,
                "p95": analyse.percentile(detections, 95), "met": None if med is None else med < 1.0,
                "note": "all sizes and delays, %d hop detections" % len(detections)})
    one, sixteen = _find(results, 1, 5.0), _find(results, 16, 5.0)
    if one and sixteen:
        ratio = _ratio(sixteen["ours"]["wall_seconds"], one["ours"]["wall_seconds"])
        out.append({"target": "16 clusters (forks 16) < 2x the single-cluster time at 5 s delay", "measured": ratio,
                    "met": ratio < 2.0, "note": "%.1f s vs %.1f s%s" % (sixteen["ours"]["wall_seconds"],
                                                                         one["ours"]["wall_seconds"],
                                                                         _cpu_bound_note(sixteen))})
    else:
        out.append({"target": "16 clusters (forks 16) < 2x the single-cluster time at 5 s delay", "measured": None,
                    "met": None, "note": "needs sizes 1 and 16 at delay 5"})
    for entry in results:
        if entry["size"] == 8 and entry.get("baseline"):
            speed = entry.get("speedup_vs_baseline")
            out.append({"target": "8 clusters >= 4x faster than the sequential baseline (delay %s s)"
                                  % fmt_delay(entry["delay"]), "measured": speed,
                        "met": None if speed is None else speed >= 4.0,
                        "note": "baseline %.1f s / ours %.1f s%s" % (entry["baseline"]["wall_seconds"],
                                                                     entry["ours"]["wall_seconds"],
                                                                     _cpu_bound_note(entry))})
    if not any(e["size"] == 8 and e.get("baseline") for e in results):
        out.append({"target": "8 clusters >= 4x faster than the sequential baseline", "measured": None, "met": None,
                    "note": "needs size 8 with the baseline"})
    if one and one["ours"]["floor_seconds"]:
        floor = one["ours"]["floor_seconds"] + settle
        ratio = _ratio(one["ours"]["wall_seconds"], floor)
        out.append({"target": "single cluster at 5 s delay < 1.5x the floor", "measured": ratio, "met": ratio < 1.5,
                    "note": "%.1f s vs floor %.1f s (settle after hop 1 = %d s%s)" % (
                        one["ours"]["wall_seconds"], floor, settle,
                        ", counted into the floor" if settle else ", i.e. set to 0 for this figure")})
    else:
        out.append({"target": "single cluster at 5 s delay < 1.5x the floor", "measured": None, "met": None,
                    "note": "needs size 1 at delay 5"})
    return out


def _cpu_bound_note(entry):
    """Why a fleet figure is what it is on this machine: the wall time its measured CPU needs on these cores."""
    cpu = entry["ours"].get("cpu") or {}
    if cpu.get("cpu_bound_wall_seconds") is None:
        return ""
    return "; its CPU alone needs %.1f s on %s cores (%.2f controller CPU s per cluster)" % (
        cpu["cpu_bound_wall_seconds"], cpu.get("cpus"),
        (cpu.get("per_cluster_cpu_seconds") or {}).get("controller", float("nan")))


def _f(value, digits=1, suffix=""):
    if value is None:
        return "-"
    return ("%." + str(digits) + "f%s") % (value, suffix)


def _mem(memory):
    if not memory:
        return "-"
    return "%.0f (%.0f)" % (memory["peak_pss_mb"], memory["peak_rss_mb"])


def print_all(document):
    results = document["results"]
    meta = document["meta"]
    print("Settle after hop 1: %d s for our runs%s." % (
        meta["settle_after_mixcoord"], " (floor comparison; the role's default is 30 s)"
        if meta["settle_after_mixcoord"] == 0 else ""))
    header = ("%4s %5s | %8s %8s %7s | %6s %6s %6s | %9s | %7s %7s | %6s %6s | %14s %14s"
              % ("size", "delay", "ours s", "base s", "floor s", "o/flr", "o/base", "base/o", "detect",
                 "req/cl", "req/cl", "helm/c", "helm/c", "peak MB ours", "peak MB base"))
    print(header)
    print("%4s %5s | %8s %8s %7s | %6s %6s %6s | %9s | %7s %7s | %6s %6s | %14s %14s"
          % ("", "s", "", "", "", "", "", "", "med/p95 s", "ours", "base", "ours", "base", "PSS (RSS)",
             "PSS (RSS)"))
    print("-" * len(header))
    for r in results:
        ours, base = r["ours"], r.get("baseline") or {}
        det = ours["detection"]
        print("%4d %5s | %8s %8s %7s | %6s %6s %6s | %9s | %7s %7s | %6s %6s | %14s %14s%s" % (
            r["size"], fmt_delay(r["delay"]), _f(ours["wall_seconds"]), _f(base.get("wall_seconds")),
            _f(r["floor_seconds"]), _f(r["ours_over_floor"], 2), _f(r.get("ours_over_baseline"), 2),
            _f(r.get("speedup_vs_baseline"), 2), "%s/%s" % (_f(det["median"], 2), _f(det["p95"], 2)),
            _f(ours["requests_per_cluster"], 0), _f(base.get("requests_per_cluster"), 0),
            _f(ours["helm"]["per_cluster_calls"], 1), _f((base.get("helm") or {}).get("per_cluster_calls"), 1),
            _mem(ours["memory"]), _mem(base.get("memory")),
            "" if ours["ok"] and base.get("ok", True) else "  <- NOT OK (see JSON)"))
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
    print("\nCPU budget of ours: controller CPU s per cluster (Ansible main process + task workers and module "
          "processes + helm); the machine's busy CPU s / cores = the shortest wall time that work allows here, and "
          "how busy the cores were")
    for r in results:
        cpu = r["ours"].get("cpu") or {}
        per = cpu.get("per_cluster_cpu_seconds") or {}
        print("%4d %5s | %5s = main %5s + workers/modules %5s + helm %5s | busy %6s / %s cores = %6s s of %6s s "
              "wall (%s)" % (
                  r["size"], fmt_delay(r["delay"]), _f(per.get("controller"), 2), _f(per.get("ansible_main"), 2),
                  _f(per.get("workers_and_modules"), 2), _f(per.get("helm"), 2),
                  _f(cpu.get("machine_busy_cpu_seconds")), cpu.get("cpus", "-"), _f(cpu.get("cpu_bound_wall_seconds")),
                  _f(r["ours"]["wall_seconds"]),
                  "-" if cpu.get("core_utilisation") is None else "%d%% busy" % round(100 * cpu["core_utilisation"])))
    print("\nAPI requests per cluster upgrade by verb (ours | baseline):")
    verbs = sorted(set(v for r in results for k in ("ours", "baseline") if r.get(k)
                       for v in r[k]["requests_per_cluster_by_verb"]))
    print("%4s %5s | %s" % ("size", "delay", " ".join("%14s" % v for v in verbs)))
    for r in results:
        cells = []
        for verb in verbs:
            a = r["ours"]["requests_per_cluster_by_verb"].get(verb)
            b = (r.get("baseline") or {}).get("requests_per_cluster_by_verb", {}).get(verb)
            cells.append("%14s" % ("%s | %s" % (_f(a, 0), _f(b, 0))))
        print("%4d %5s | %s" % (r["size"], fmt_delay(r["delay"]), " ".join(cells)))
    if results:
        biggest = max(results, key=lambda r: (r["size"], r["delay"]))
        print("\nhelm per cluster upgrade, %d clusters at %s s (calls, mean seconds): ours %s | baseline %s" % (
            biggest["size"], fmt_delay(biggest["delay"]), _helm_line(biggest["ours"]["helm"]),
            _helm_line((biggest.get("baseline") or {}).get("helm"))))
        if biggest.get("baseline", {}).get("phase_means"):
            print("baseline steps, mean seconds per cluster: %s" % ", ".join(
                "%s %.1f" % kv for kv in biggest["baseline"]["phase_means"].items()))
        overhead = biggest["ours"].get("wait_module_overhead")
        if overhead:
            print("milvus_wait_ready start-up and transport (task time - module elapsed): mean %.2f s, max %.2f s "
                  "over %d calls" % (overhead["mean_seconds"], overhead["max_seconds"], overhead["calls"]))
        print("slowest tasks of ours (host-seconds summed over the fleet):")
        for row in biggest["ours"]["task_profile"][:10]:
            print("  %7.1f s  %3d runs  mean %6.2f s  max %6.2f s  %s" % (
                row["total_seconds"], row["runs"], row["mean_seconds"], row["max_seconds"], row["task"][:70]))
    print("\nDefinitions:")
    for key in ("ours", "baseline", "floor", "detection", "memory"):
        print("  %-9s %s" % (key + ":", DEFINITIONS[key]))
    print("\nIssue targets (reported, not asserted):")
    for t in document["targets"]:
        met = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        print("  %-72s measured %-8s %-8s %s" % (t["target"], _f(t["measured"], 2), met, t.get("note", "")))


def _helm_line(helm):
    if not helm:
        return "-"
    return "%.1f calls, %.1f s, %.1f CPU-s: %s" % (
        helm["per_cluster_calls"], helm["per_cluster_seconds"], helm["per_cluster_cpu_seconds"], ", ".join(
            "%s %.1fx%.2fs" % (what, e["per_cluster"], e["mean_seconds"]) for what, e in helm["by_subcommand"].items()))

"""`make bench`: the fleet benchmark (see tests/bench/__init__.py, issues 6 and 14).

    .venv/bin/python -m tests.bench [--sizes 1,4,8,16] [--delays 0,5] [--settle 0] [--out .tmp/bench]
                                    [--backend kubesim|real] [--repeat 2] [--peer-ansible PATH]
                                    [--quick] [--collection DIR] [--label TEXT] [--skip-baseline] [--skip-peer]
                                    [--skip-all-at-once]
                                    [--baseline-sizes 1,4,8|all] [--timeout S] [--no-rerun]
                                    [--ansible-env KEY=VALUE ...] [--extra-var KEY=JSON ...]

--backend real needs the built control plane and runs only inside the network namespace of
`python -m tests.controlplane.netns -- ...` (make bench does both).
"""

import argparse
import contextlib
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import report  # noqa: E402
from tests.bench.run import ROOT, Measured, add_index_history, run_baseline, run_ours, run_peer  # noqa: E402

# the order of each repetition; ours-all-at-once is ours with milvus_ordered_rollout=false (helm's hop 2)
KINDS = ("ours", "ours-all-at-once", "peer", "baseline")


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,4,8,16", help="fleet sizes (default 1,4,8,16)")
    ap.add_argument("--delays", default="0,5", help="kubesim pod start delays in seconds (default 0,5)")
    ap.add_argument("--out", default=".tmp/bench", help="where bench.json and the run logs go (default .tmp/bench)")
    ap.add_argument("--backend", choices=("kubesim", "real"), default="kubesim",
                    help="kubesim (default) or the real control plane of tests/controlplane (one per delay; inside "
                         "`python -m tests.controlplane.netns -- ...` only)")
    ap.add_argument("--repeat", type=int, default=2,
                    help="repetitions of every measurement, interleaved: ours, ours-all-at-once, peer, baseline, "
                         "ours, ... (default 2)")
    ap.add_argument("--peer-ansible", default=str(ROOT / ".tmp" / "bench-peer-venv" / "bin" / "ansible-playbook"),
                    help="ansible-playbook of the virtualenv with the `ansible` package (kubernetes.core) that runs "
                         "the peer playbook tests/bench/peer/upgrade.yml (default .tmp/bench-peer-venv, made by "
                         "make bench)")
    ap.add_argument("--skip-peer", action="store_true", help="do not measure the kubernetes.core peer")
    ap.add_argument("--skip-all-at-once", action="store_true",
                    help="do not measure ours-all-at-once (our playbook with milvus_ordered_rollout=false: helm's "
                         "all-at-once hop 2), the comparison with the ordered hop 2")
    ap.add_argument("--no-rerun", action="store_true", help="do not measure the idempotent re-run")
    ap.add_argument("--quick", action="store_true", help="smoke run: sizes 1,4 and delay 0 only")
    ap.add_argument("--settle", type=int, default=0,
                    help="milvus_settle_after_mixcoord and milvus_settle_after_streaming for our runs (default 0: "
                         "the floor comparison, and what the peer and the manual procedure wait; the role's own "
                         "defaults are 30 and 60)")
    ap.add_argument("--collection", default=str(ROOT),
                    help="collection root to measure (default: this checkout), e.g. an unpacked `git archive`")
    ap.add_argument("--label", default="", help="free text stored in the JSON (e.g. which commit a snapshot is)")
    ap.add_argument("--skip-baseline", action="store_true", help="measure only the collection")
    ap.add_argument("--baseline-sizes", default="1,4,8",
                    help="fleet sizes whose baseline is measured (default 1,4,8, or 'all'); the sequential baseline "
                         "of a larger size is extrapolated from the largest measured size at the same delay "
                         "(per-cluster time x size) and marked so; measuring 16 costs ~7 min at delay 0 and "
                         "~8 min at delay 5 with kubesim as it is")
    ap.add_argument("--index-history", type=int, default=0, metavar="N",
                    help="list N more (never downloaded) versions of the chart in the fleet's repository index, as "
                         "a repository with a release history has them; every helm call that resolves the chart "
                         "through --repo downloads and parses the whole index (default 0: the fixture versions only)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per measured run before it is killed")
    ap.add_argument("--ansible-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for our ansible-playbook runs, for what-if measurements "
                         "(e.g. ANSIBLE_PIPELINING=True); repeatable")
    ap.add_argument("--extra-var", action="append", default=[], metavar="KEY=JSON",
                    help="extra variable for our runs (value parsed as JSON, else a string), e.g. "
                         "milvus_progress_interval=60; repeatable")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.delays = "1,4", "0"
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.baseline_sizes.strip() == "all":
        args.baseline_sizes = list(args.sizes)
    else:
        args.baseline_sizes = [int(s) for s in args.baseline_sizes.split(",") if s.strip()]
    args.delays = [float(d) for d in args.delays.split(",") if d.strip()]
    args.peer_ansible = os.path.abspath(args.peer_ansible)   # each run starts in a folder of its own
    if not args.skip_peer and not Path(args.peer_ansible).exists():
        ap.error("%s does not exist: create the peer virtualenv (make bench does) or pass --skip-peer"
                 % args.peer_ansible)
    args.ansible_env = dict(item.split("=", 1) for item in args.ansible_env)
    extra = {}
    for item in args.extra_var:
        key, _, value = item.partition("=")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    args.extra_var = extra
    return args


def collection_version(root):
    """git commit of the measured tree (+dirty), for the JSON; None outside git. Read-only git calls."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return "not a git checkout"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out).resolve()
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    runs_dir = out / "runs" / stamp
    runs_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    skipped = {"peer": args.skip_peer, "baseline": args.skip_baseline, "ours-all-at-once": args.skip_all_at_once}
    kinds = [k for k in KINDS if not skipped.get(k)]
    meta = {
        "started": stamp, "backend": args.backend, "repeat": args.repeat, "kinds": kinds,
        "sizes": args.sizes, "delays": args.delays, "settle_after_mixcoord": args.settle,
        "settle_after_streaming": args.settle,
        "baseline_sizes_measured": args.baseline_sizes,
        "collection": str(Path(args.collection).resolve()),
        "collection_version": collection_version(args.collection),
        "peer": peer_versions(args.peer_ansible) if "peer" in kinds else None,
        "label": args.label,
        "state": "v2510-separate-pulsar2",
        "ansible_env": args.ansible_env, "extra_vars": args.extra_var,
        "index_history": args.index_history,
        "forks": "equal to the fleet size",
        "definitions": report.DEFINITIONS,
    }
    print("== milvusops.cluster fleet benchmark on %s: sizes %s, pod start delays %s s, %d repetition(s) of %s, "
          "settle after each hop = %d s%s" % (args.backend, args.sizes, [report.fmt_delay(d) for d in args.delays],
                                           args.repeat, ", ".join(kinds), args.settle,
                                           " (floor comparison; the role's defaults are 30 and 60 s)" if args.settle == 0 else ""))
    print("   collection %s (%s)%s; logs in %s" % (meta["collection"], meta["collection_version"],
                                              " [%s]" % args.label if args.label else "", runs_dir))
    if meta["peer"]:
        print("   peer: %s" % meta["peer"])
    if args.ansible_env or args.extra_var:
        print("   what-if: ansible env %s, extra vars %s" % (args.ansible_env, args.extra_var))
    if args.index_history:
        print("   the chart repository's index lists %d more versions of the chart" % args.index_history)
    results = []
    for delay in args.delays:
        with backend_fleets(args.backend, delay, runs_dir, args.index_history) as make_measured:
            for size in args.sizes:
                entry = measure_entry(args, kinds, make_measured, size, delay, runs_dir, results)
                results.append(entry)
                _write(out, stamp, meta, results, time.monotonic() - started)
    meta["total_seconds"] = round(time.monotonic() - started, 1)
    document = _write(out, stamp, meta, results, time.monotonic() - started)
    print()
    report.print_all(document)
    print("\nJSON: %s (also %s)" % (out / "bench.json", out / ("bench-%s.json" % stamp)))
    return 0 if all(run["ok"] and run.get("rerun", {"ok": True})["ok"]
                    for r in results for runs in r["runs"].values() for run in runs) else 1


def measure_entry(args, kinds, make_measured, size, delay, runs_dir, results):
    """Every kind at one size and delay, args.repeat times, interleaved (ours, ours-all-at-once, peer, baseline,
    ours, ...), each on a fresh fleet; the sequential baseline of a size outside --baseline-sizes is extrapolated instead."""
    label = "n%d-d%s" % (size, report.fmt_delay(delay))
    entry = {"size": size, "delay": delay, "backend": args.backend, "runs": dict((k, []) for k in kinds)}
    print("== %d cluster(s), pod start delay %s s" % (size, report.fmt_delay(delay)), flush=True)
    measured_before = [r for r in results if r["delay"] == delay and r.get("baseline")
                       and not r["baseline"].get("extrapolated_from")]
    extrapolate = "baseline" in kinds and size not in args.baseline_sizes and measured_before
    for rep in range(args.repeat):
        for kind in kinds:
            if kind == "baseline" and extrapolate:
                continue
            measured = make_measured(size, delay, runs_dir / label / ("%s-%d" % (kind, rep + 1)))
            try:
                if kind in ("ours", "ours-all-at-once"):
                    # the idempotent re-run is measured for the default (ordered) kind only
                    run = run_ours(measured, args.settle, args.collection, args.timeout, extra_env=args.ansible_env,
                                   extra_vars=args.extra_var, rerun=kind == "ours" and not args.no_rerun,
                                   ordered=kind == "ours")
                elif kind == "peer":
                    run = run_peer(measured, args.timeout, args.peer_ansible, rerun=not args.no_rerun)
                else:
                    run = run_baseline(measured, args.timeout)
                run["fleet_up_seconds"] = measured.up_seconds
            finally:
                measured.down()
            entry["runs"][kind].append(run)
            rerun = run.get("rerun")
            print("    %-16s #%d: %6.1f s (rc %s, %s)%s" % (
                kind, rep + 1, run["wall_seconds"], run["rc"], "ok" if run["ok"] else "NOT OK",
                "; re-run %.1f s (rc %s, %s)" % (rerun["wall_seconds"], rerun["rc"],
                                                  "nothing changed" if rerun["ok"] else "NOT OK")
                if rerun else ""), flush=True)
    if extrapolate:
        entry["runs"]["baseline"] = [report.extrapolate(measured_before[-1], size)]
        print("    baseline: %.1f s extrapolated from %d clusters (--baseline-sizes)" % (
            entry["runs"]["baseline"][0]["wall_seconds"], entry["runs"]["baseline"][0]["extrapolated_from"]),
            flush=True)
    return report.derive(entry)


@contextlib.contextmanager
def backend_fleets(backend, delay, runs_dir, index_history=0):
    """A factory of measured fleets at one pod start delay: kubesim fleets in this process, or fleets on one real
    control plane started for this delay (its pod start delay is a kwok stage of the plane); each fleet's chart
    repository index lists index_history more versions of the chart."""
    def with_history(measured):
        add_index_history(measured.fleet.charts_dir / "index.yaml", index_history)
        return measured

    if backend == "kubesim":
        yield lambda size, delay_, workdir: with_history(Measured(size, delay_, workdir))
        return
    from tests.bench.real import RealMeasured, real_control_plane
    with real_control_plane(runs_dir / ("controlplane-d%s" % report.fmt_delay(delay)), delay) as plane:
        yield lambda size, delay_, workdir: with_history(RealMeasured(plane, size, delay_, workdir))


def peer_versions(ansible_playbook):
    """The peer's ansible-core and kubernetes.core versions (from its virtualenv), for the JSON and the header."""
    python = Path(ansible_playbook).parent / "python"
    code = ("import json, pathlib, importlib.metadata as md, ansible_collections as c;"
            "m = json.loads((pathlib.Path(c.__path__[0]) / 'kubernetes/core/MANIFEST.json').read_text());"
            "print('ansible %s (ansible-core %s, kubernetes.core %s)' % (md.version('ansible'),"
            " md.version('ansible-core'), m['collection_info']['version']))")
    try:
        proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return "unknown (%s)" % exc
    return proc.stdout.strip() or "unknown (%s)" % proc.stderr.strip()[-200:]


def _write(out, stamp, meta, results, seconds):
    meta = dict(meta, total_seconds=round(seconds, 1))
    document = {"meta": meta, "results": results, "targets": report.targets(results, meta["settle_after_mixcoord"])}
    text = json.dumps(document, indent=1, default=str)
    (out / ("bench-%s.json" % stamp)).write_text(text)
    (out / "bench.json").write_text(text)
    return document


if __name__ == "__main__":
    sys.exit(main())

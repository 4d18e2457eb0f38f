"""`make bench`: the fleet benchmark (see tests/bench/__init__.py and issue 6).

    .venv/bin/python -m tests.bench [--sizes 1,4,8,16] [--delays 0,5] [--settle 0] [--out .tmp/bench]
                                    [--quick] [--collection DIR] [--label TEXT] [--skip-baseline]
                                    [--baseline-sizes 1,4,8|all] [--timeout S]
                                    [--ansible-env KEY=VALUE ...] [--extra-var KEY=JSON ...]
"""

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import report  # noqa: E402
from tests.bench.run import ROOT, Measured, run_baseline, run_ours  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,4,8,16", help="fleet sizes (default 1,4,8,16)")
    ap.add_argument("--delays", default="0,5", help="kubesim pod start delays in seconds (default 0,5)")
    ap.add_argument("--out", default=".tmp/bench", help="where bench.json and the run logs go (default .tmp/bench)")
    ap.add_argument("--quick", action="store_true", help="smoke run: sizes 1,4 and delay 0 only")
    ap.add_argument("--settle", type=int, default=0,
                    help="milvus_settle_after_mixcoord for our runs (default 0: the floor comparison; the "
                         "role's own default is 30)")
    ap.add_argument("--collection", default=str(ROOT),
                    help="collection root to measure (default: this checkout), e.g. an unpacked `git archive`")
    ap.add_argument("--label", default="", help="free text stored in the JSON (e.g. which commit a snapshot is)")
    ap.add_argument("--skip-baseline", action="store_true", help="measure only the collection")
    ap.add_argument("--baseline-sizes", default="1,4,8",
                    help="fleet sizes whose baseline is measured (default 1,4,8, or 'all'); the sequential baseline "
                         "of a larger size is extrapolated from the largest measured size at the same delay "
                         "(per-cluster time x size) and marked so; measuring 16 costs ~7 min at delay 0 and "
                         "~8 min at delay 5 with kubesim as it is")
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
    meta = {
        "started": stamp,
        "sizes": args.sizes, "delays": args.delays, "settle_after_mixcoord": args.settle,
        "baseline_sizes_measured": args.baseline_sizes,
        "collection": str(Path(args.collection).resolve()),
        "collection_version": collection_version(args.collection),
        "label": args.label,
        "state": "v2510-separate-pulsar2",
        "ansible_env": args.ansible_env, "extra_vars": args.extra_var,
        "forks": "equal to the fleet size",
        "definitions": report.DEFINITIONS,
    }
    print("== milvusops.cluster fleet benchmark: sizes %s, pod start delays %s s, settle after hop 1 = %d s%s"
          % (args.sizes, [report.fmt_delay(d) for d in args.delays], args.settle,
             " (floor comparison; the role's default is 30 s)" if args.settle == 0 else ""))
    print("   collection %s (%s)%s; logs in %s" % (meta["collection"], meta["collection_version"],
                                              " [%s]" % args.label if args.label else "", runs_dir))
    if args.ansible_env or args.extra_var:
        print("   what-if: ansible env %s, extra vars %s" % (args.ansible_env, args.extra_var))
    results = []
    for delay in args.delays:
        for size in args.sizes:
            label = "n%d-d%s" % (size, report.fmt_delay(delay))
            entry = {"size": size, "delay": delay}
            print("== %d cluster(s), pod start delay %s s" % (size, report.fmt_delay(delay)), flush=True)
            measured = Measured(size, delay, runs_dir / label)
            try:
                entry["ours"] = run_ours(measured, args.settle, args.collection, args.timeout,
                                         extra_env=args.ansible_env, extra_vars=args.extra_var)
                entry["fleet_up_seconds"] = measured.up_seconds
            finally:
                measured.down()
            print("    ours: %.1f s (rc %s, %s)" % (entry["ours"]["wall_seconds"], entry["ours"]["rc"],
                                                   "ok" if entry["ours"]["ok"] else "NOT OK"), flush=True)
            measured_before = [r for r in results if r["delay"] == delay and r.get("baseline")
                               and not r["baseline"].get("extrapolated_from")]
            if not args.skip_baseline and size not in args.baseline_sizes and measured_before:
                entry["baseline"] = report.extrapolate(measured_before[-1], size)
                print("    baseline: %.1f s extrapolated from %d clusters (--baseline-sizes)" % (
                    entry["baseline"]["wall_seconds"], entry["baseline"]["extrapolated_from"]), flush=True)
            elif not args.skip_baseline:
                measured = Measured(size, delay, runs_dir / label)
                try:
                    entry["baseline"] = run_baseline(measured, args.timeout)
                finally:
                    measured.down()
                print("    baseline: %.1f s (rc %s, %s)" % (
                    entry["baseline"]["wall_seconds"], entry["baseline"]["rc"],
                    "ok" if entry["baseline"]["ok"] else "NOT OK"), flush=True)
            report.derive(entry)
            results.append(entry)
            _write(out, stamp, meta, results, time.monotonic() - started)
    meta["total_seconds"] = round(time.monotonic() - started, 1)
    document = _write(out, stamp, meta, results, time.monotonic() - started)
    print()
    report.print_all(document)
    print("\nJSON: %s (also %s)" % (out / "bench.json", out / ("bench-%s.json" % stamp)))
    return 0 if all(r["ours"]["ok"] and r.get("baseline", {"ok": True})["ok"] for r in results) else 1


def _write(out, stamp, meta, results, seconds):
    meta = dict(meta, total_seconds=round(seconds, 1))
    document = {"meta": meta, "results": results, "targets": report.targets(results, meta["settle_after_mixcoord"])}
    text = json.dumps(document, indent=1, default=str)
    (out / ("bench-%s.json" % stamp)).write_text(text)
    (out / "bench.json").write_text(text)
    return document


if __name__ == "__main__":
    sys.exit(main())

"""`make bench` part 2: the controller's CPU per progress slice of one long wait (issue 12, class 7).

    .venv/bin/python -m tests.bench.long_wait [--slices 10,500] [--interval 0.05] [--out .tmp/bench]

One kubesim cluster; its pods are kept starting for about slices x interval seconds, so hop 2's wait prints
that many progress lines. The bench_timing callback records the ansible-playbook main process's own CPU
(RUSAGE_SELF) when the wait task starts and when its result arrives; CPU per slice is their difference over
the slices the task reports. A flat wait costs the same per slice at 10 and at 500 slices (ratio about 1);
the include recursion it replaced grew with every slice. Prints numbers, asserts nothing.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.harness import Harness  # noqa: E402
from tests.kubesim.fleet import Fleet  # noqa: E402

HERE = Path(__file__).resolve().parent
WAIT_TASK = "Wait for the rollout of hop streaming"


def measure(harness, cluster, slices, interval, timing):
    cluster.set_config(pod_start_delay=max(slices * interval, 1.0))
    timing.unlink(missing_ok=True)
    try:
        result = harness.playbook("upgrade", "--limit", "long", inventory=harness.workdir / "inventory.yml",
                                  extra_vars={"milvus_upgrade_confirm": True, "milvus_progress_interval": interval},
                                  environment={"ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
                                               "ANSIBLE_CALLBACKS_ENABLED": "bench_timing",
                                               "BENCH_TIMING_FILE": str(timing)}, timeout=900)
    finally:
        cluster.set_config(pod_start_delay=0)
    if result.rc != 0:
        raise SystemExit("the upgrade failed:\n" + result.output[-3000:])
    events = [json.loads(line) for line in timing.read_text().splitlines()]
    start = next(e for e in events if e["event"] == "host_start" and e.get("task", "").endswith(WAIT_TASK))
    end = next(e for e in events if e["event"] == "ok" and e.get("task", "").endswith(WAIT_TASK))
    cpu = end["cpu_main"] - start["cpu_main"]
    count = end.get("slices") or 0
    return {"slices": count, "cpu_main": round(cpu, 3), "wall": round(end["ts"] - start["ts"], 1),
            "cpu_per_slice_ms": round(1000.0 * cpu / count, 3) if count else None}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.bench.long_wait", description=__doc__.split("\n\n")[0])
    ap.add_argument("--slices", default="10,500", help="approximate slice counts to measure (default 10,500)")
    ap.add_argument("--interval", type=float, default=0.05, help="milvus_progress_interval (default 0.05)")
    ap.add_argument("--out", default=".tmp/bench", help="where long_wait.json goes (default .tmp/bench)")
    args = ap.parse_args(argv)
    sizes = [int(size) for size in args.slices.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="long-wait-"))
    fleet = Fleet(workdir / "state", [("long", "v2516-mixcoord")]).up()
    rows = []
    try:
        for size in sizes:
            harness = Harness(fleet, workdir)   # a fresh cluster state per size: each run starts at 2.5.16
            if rows:
                fleet.down()
                fleet = Fleet(workdir / ("state-%d" % size), [("long", "v2516-mixcoord")]).up()
                harness = Harness(fleet, workdir)
            harness.inventory()
            row = measure(harness, fleet["long"].cluster, size, args.interval, workdir / ("timing-%d.jsonl" % size))
            rows.append(row)
            print("wait of %4d slices: main process %.3f s CPU over %.1f s, %s ms per slice"
                  % (row["slices"], row["cpu_main"], row["wall"], row["cpu_per_slice_ms"]), flush=True)
    finally:
        fleet.down()
    if len(rows) >= 2 and rows[0]["cpu_per_slice_ms"] and rows[-1]["cpu_per_slice_ms"]:
        print("CPU per slice, %d vs %d slices: ratio %.2f" % (
            rows[-1]["slices"], rows[0]["slices"], rows[-1]["cpu_per_slice_ms"] / rows[0]["cpu_per_slice_ms"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "long_wait.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""`make demo`: a fleet in different starting states, upgraded by the real playbook.

Starts kubesim clusters (one per starting state), or with `--backend real` (`make demo BACKEND=real`)
one namespace per cluster on the real control plane (tests/controlplane, inside a network namespace), writes an inventory for them, runs
`ansible-playbook milvusops.cluster.upgrade -e milvus_upgrade_confirm=true` with its normal output,
prints the fleet report, and stops the fleet. Exits non-zero if any cluster did not end as expected.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import Harness  # noqa: E402
from tests.kubesim.fleet import Fleet  # noqa: E402

# cluster name -> (starting state, the status it must end in)
FLEET = {
    "eu-prod-1": ("v2510-separate-pulsar2", "upgraded"),
    "eu-prod-2": ("v2514-mixcoord-pulsar3", "upgraded"),
    "us-prod-1": ("v2516-kafka", "upgraded"),
    "us-gpu-1": ("v2514-gpu-private", "upgraded"),
    "ap-prod-1": ("v264-done", "up_to_date"),
    "lab-rc": ("v260rc1", "failed"),
}


def start_fleet(backend, workdir, clusters, pod_start_delay):
    """(fleet, stop) on the chosen backend."""
    if backend == "kubesim":
        fleet = Fleet(workdir / "fleet", clusters, pod_start_delay=pod_start_delay).up()
        return fleet, fleet.down
    from tests.controlplane.cluster import ControlPlane
    from tests.controlplane.fleet import RealFleet
    plane = ControlPlane(workdir / "controlplane", pod_start_delay=pod_start_delay).start()
    try:
        fleet = RealFleet(workdir / "fleet", clusters, plane=plane, pod_start_delay=pod_start_delay).up()
    except BaseException:
        plane.stop()
        raise

    def stop():
        fleet.down()
        plane.stop()
    return fleet, stop


def main(argv=None):
    parser = argparse.ArgumentParser(description="make demo")
    parser.add_argument("--backend", choices=("kubesim", "real"), default="kubesim")
    backend = parser.parse_args(argv).backend
    workdir = Path(tempfile.mkdtemp(prefix="milvusops-demo-"))
    print("== starting a fleet of %d clusters (%s) in %s" % (len(FLEET), backend, workdir))
    for name, (state, _) in FLEET.items():
        print("   %-10s %s" % (name, state))
    started = time.monotonic()
    fleet, stop = start_fleet(backend, workdir, [(name, state) for name, (state, _) in FLEET.items()], 1.0)
    print("== fleet up in %.1f s; running: ansible-playbook -i inventory.yml milvusops.cluster.upgrade "
          "-e milvus_upgrade_confirm=true\n" % (time.monotonic() - started), flush=True)
    try:
        harness = Harness(fleet, workdir)
        inventory = harness.inventory(extra_host_vars=dict(
            (name, {"milvus_settle_after_mixcoord": 5, "milvus_progress_interval": 10}) for name in FLEET))
        run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True}, inventory=inventory,
                               stream=True)
        report = (run.report_dir / "fleet-report.txt").read_text()
        print("\n== fleet report (%s)\n" % (run.report_dir / "fleet-report.txt"))
        print(report)
        statuses = dict((r["cluster"], r["status"]) for r in run.fleet_report()["clusters"])
        wrong = dict((name, statuses.get(name)) for name, (_, want) in FLEET.items() if statuses.get(name) != want)
        print("== playbook finished in %.1f s (exit %d; lab-rc runs 2.6.0-rc1 and is refused on purpose)"
              % (run.seconds, run.rc))
        if wrong:
            print("== UNEXPECTED outcome: %s" % wrong)
            return 1
        print("== every cluster ended as expected")
        return 0
    finally:
        stop()
        print("== fleet stopped")


if __name__ == "__main__":
    sys.exit(main())

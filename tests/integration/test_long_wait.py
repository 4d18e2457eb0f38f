"""Waits of any length (issue 12, class 7): one task waits through hundreds of progress slices.

The wait used to be an include recursion that failed at about 400 slices; now one milvus_wait_ready task
watches the release, prints a progress line per slice and renews the lock between them.
"""

import re

import pytest

# Simulator only: pods are kept starting (pod_start_delay) long enough for hundreds of tiny slices.
pytestmark = pytest.mark.kubesim

CLUSTERS = [("long", "v2516-mixcoord")]
PROGRESS = re.compile(r"^long: hop streaming rolling for (\d+) s, waiting for: (.+)$", re.M)


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory()
    return h


def test_a_wait_of_more_than_500_slices_finishes_upgraded_with_the_lock_renewed(harness):
    cluster = harness.fleet["long"].cluster
    cluster.set_config(pod_start_delay=40)
    cluster.reset_counters()
    try:
        result = harness.playbook("upgrade", "--limit", "long", inventory=harness.workdir / "inventory.yml",
                                  extra_vars={"milvus_upgrade_confirm": True, "milvus_progress_interval": 0.05,
                                              "milvus_lock_seconds": 6}, timeout=170)
    finally:
        cluster.set_config(pod_start_delay=0)
    assert result.rc == 0, result.output[-3000:]
    assert result.cluster_report("long")["status"] == "upgraded"
    lines = PROGRESS.findall(result.output)
    assert len(lines) >= 500, (len(lines), result.output[-2000:])
    seconds = [int(elapsed) for elapsed, _ in lines]
    assert seconds == sorted(seconds) and seconds[-1] >= 30, seconds[-5:]  # counted from the hop's start
    assert all("streamingnode" in waiting or "proxy" in waiting for _, waiting in lines[:10]), lines[:3]
    # 40 s with a 6 s lock: renewed between slices (at least every 3 s) and released at the end
    assert cluster.counters().get("update leases", 0) >= 10, cluster.counters()
    assert cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus") is None
    assert "RecursionError" not in result.output and "recursion" not in result.output.lower()

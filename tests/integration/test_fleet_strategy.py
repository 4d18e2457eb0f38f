"""Fleet pacing (playbooks/upgrade.yml): with the default failure policy every cluster of a batch goes at
its own pace (Ansible's free strategy); a lowered milvus_max_fail_percentage keeps the linear strategy,
the only one that applies it inside a batch, so every cluster waits at each task for the slowest.

Each race runs a fast cluster and a slow one (pods take SLOW_POD_SECONDS to start) together and looks at
the slow cluster's helm history at the moment the fast cluster's report is written.
"""

import time

import pytest

# Simulator only: sets a different pod start delay per cluster.
pytestmark = pytest.mark.kubesim

CLUSTERS = [
    ("fast-free", "v2510-separate-pulsar2"),
    ("slow-free", "v2510-separate-pulsar2"),
    ("fast-linear", "v2510-separate-pulsar2"),
    ("slow-linear", "v2510-separate-pulsar2"),
]
SLOW_POD_SECONDS = 15
CONFIRM = {"milvus_upgrade_confirm": True}


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory()
    for name in ("slow-free", "slow-linear"):
        h.fleet[name].cluster.set_config(pod_start_delay=SLOW_POD_SECONDS)
    return h


def race(harness, fast, slow, extra_vars=None):
    """(the finished run, the slow cluster's helm revisions when the fast one's report appeared)."""
    proc, report_dir = harness.start_playbook("upgrade", "--limit", "%s,%s" % (fast, slow),
                                              extra_vars=dict(CONFIRM, **(extra_vars or {})),
                                              inventory=harness.workdir / "inventory.yml")
    report = report_dir / "clusters" / ("%s.json" % fast)
    deadline = time.monotonic() + 300
    while not report.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)   # polls a file the run writes; the deadline is only a safety net
    slow_revisions = [row["revision"] for row in harness.history(slow)]
    result = harness.finish_playbook(proc, report_dir)
    assert result.rc == 0, result.output
    for name in (fast, slow):
        assert result.cluster_report(name)["status"] == "upgraded"
        assert [hop["name"] for hop in result.cluster_report(name)["hops_applied"]] == ["mixcoord", "streaming"]
    return result, slow_revisions


def test_by_default_a_fast_cluster_finishes_while_a_slow_one_is_still_in_hop_1(harness):
    result, slow_revisions = race(harness, "fast-free", "slow-free")
    # installed (1), hop 1 (2): the slow cluster's hop 2 has not started when the fast one is done
    assert slow_revisions == [1, 2], result.output


def test_a_lowered_max_fail_percentage_keeps_every_cluster_in_step(harness):
    result, slow_revisions = race(harness, "fast-linear", "slow-linear", {"milvus_max_fail_percentage": 50})
    # linear: the fast cluster waited for the slow one's hop 1, and both ran hop 2 before any report
    assert slow_revisions == [1, 2, 3], result.output

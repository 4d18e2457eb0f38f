"""Fleet pacing (playbooks/upgrade.yml): with the default failure policy every cluster of a batch goes at
its own pace (Ansible's host_pinned strategy); a lowered milvus_max_fail_percentage keeps the linear strategy,
the only one that applies it inside a batch, so every cluster waits at each task for the slowest. With fewer
forks than clusters, a cluster that has started runs to its end before another starts.

Each race runs a fast cluster and a slow one together and looks at the slow cluster's helm history at the
moment the fast cluster's report is written. With the default strategy the slow cluster's hop 1 is held (its pods
never Ready) until then: in lockstep that report could never come, and no machine is too slow for the race. In
lockstep the slow cluster's pods take SLOW_POD_SECONDS to start, which the fast one has to wait out.
"""

import contextlib
import datetime
import time

import pytest

from tests.harness import rollout_held

# Simulator only: sets a different pod start delay per cluster.
pytestmark = pytest.mark.kubesim

CLUSTERS = [
    ("fast-free", "v2510-separate-pulsar2"),
    ("slow-free", "v2510-separate-pulsar2"),
    ("fast-linear", "v2510-separate-pulsar2"),
    ("slow-linear", "v2510-separate-pulsar2"),
    ("pinned-a", "v2510-separate-pulsar2"),
    ("pinned-b", "v2510-separate-pulsar2"),
]
SLOW_POD_SECONDS = 15
CONFIRM = {"milvus_upgrade_confirm": True}


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory()
    h.fleet["slow-linear"].cluster.set_config(pod_start_delay=SLOW_POD_SECONDS)
    return h


def race(harness, fast, slow, extra_vars=None, hold=contextlib.nullcontext()):
    """(the finished run, the slow cluster's helm revisions when the fast one's report appeared); `hold` is
    entered before the run and left once the report is there."""
    with hold:
        proc, report_dir = harness.start_playbook("upgrade", "--limit", "%s,%s" % (fast, slow),
                                                  extra_vars=dict(CONFIRM, **(extra_vars or {})),
                                                  inventory=harness.workdir / "inventory.yml")
        report = report_dir / "clusters" / ("%s.json" % fast)
        # polls a file the run writes; the deadline is a safety net, shorter than the harness's wait timeout
        # (240 s), so that a held cluster cannot time out, fail and let a cluster in lockstep report after all
        deadline = time.monotonic() + 180
        while not report.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        reported = report.exists()
        slow_revisions = [row["revision"] for row in harness.history(slow)]
    result = harness.finish_playbook(proc, report_dir)
    assert reported, "%s's report was not written in the race with %s:\n%s" % (fast, slow, result.output[-3000:])
    assert result.rc == 0, result.output
    for name in (fast, slow):
        assert result.cluster_report(name)["status"] == "upgraded"
        assert [hop["name"] for hop in result.cluster_report(name)["hops_applied"]] == ["mixcoord", "streaming"]
    return result, slow_revisions


def test_by_default_a_fast_cluster_finishes_while_a_slow_one_is_still_in_hop_1(harness):
    result, slow_revisions = race(harness, "fast-free", "slow-free",
                                  hold=rollout_held(harness.fleet["slow-free"].cluster, "v2.5.16"))
    # installed (1), hop 1 (2): the slow cluster's hop 2 has not started when the fast one is done
    assert slow_revisions == [1, 2], result.output


def test_a_lowered_max_fail_percentage_keeps_every_cluster_in_step(harness):
    result, slow_revisions = race(harness, "fast-linear", "slow-linear", {"milvus_max_fail_percentage": 50})
    # linear: the fast cluster waited for the slow one's hop 1, and both ran hop 2 before any report
    assert slow_revisions == [1, 2, 3], result.output


def hop_window(harness, cluster):
    """(hop 1's helm write, hop 2's helm write) of the cluster, from its release history."""
    revisions = dict((row["revision"], row["updated"]) for row in harness.history(cluster))
    return tuple(datetime.datetime.fromisoformat(revisions[number].replace("Z", "+00:00")) for number in (2, 3))


def test_with_fewer_forks_than_clusters_a_started_cluster_is_not_held_for_another(harness):
    # One fork, two clusters: had the fork gone round the clusters task by task (the free strategy), each
    # cluster's hop 2 would wait for the other's tasks, its write outage and its lock stretched by them.
    result = harness.playbook("upgrade", "--forks", "1", "--limit", "pinned-a,pinned-b", extra_vars=CONFIRM)
    assert result.rc == 0, result.output
    first, second = sorted((hop_window(harness, name), name) for name in ("pinned-a", "pinned-b"))
    assert first[0][1] < second[0][0], "%s's hop 2 (%s) came after %s's hop 1 (%s):\n%s" % (
        first[1], first[0][1], second[1], second[0][0], result.output[-3000:])
    for name in ("pinned-a", "pinned-b"):
        assert result.cluster_report(name)["status"] == "upgraded"

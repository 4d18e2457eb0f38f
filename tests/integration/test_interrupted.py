"""Interrupted runs (issue 12, class 9): a run killed mid-hop; the next run on the same host takes over.

The lock's holder names the controller host and the ansible-playbook process; a later run on the same host
that finds that process gone takes the lock over at once (no expiry, no milvus_lock_break_stale) and says so.

On the real control plane: a start delay for the member's namespace (a kwok stage, through the simulator's
own `cluster.set_config`) keeps hop 2's pods starting while the run is killed.
"""

import os
import signal
import tempfile
from pathlib import Path

import pytest

from tests.harness import wait_until

# one cluster per way a run is stopped: kill -9, Ctrl-C (SIGINT to the process group), SIGTERM
SIGNALS = {"cut-kill": signal.SIGKILL, "cut-int": signal.SIGINT, "cut-term": signal.SIGTERM}
CLUSTERS = [(name, "v2510-separate-pulsar2") for name in SIGNALS]
CONFIRM = {"milvus_upgrade_confirm": True}


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory()
    return h


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_run_killed_mid_hop_leaves_its_lock_and_the_next_run_on_this_host_takes_it_over(harness, name):
    inventory = harness.workdir / "inventory.yml"
    member = harness.fleet[name]
    member.cluster.set_config(pod_start_delay=12)   # hop 2's rollout is still going when the run is killed
    try:
        proc, _ = harness.start_playbook("upgrade", "--limit", name, extra_vars=dict(CONFIRM, milvus_lock_seconds=600),
                                         inventory=inventory)
        # revision 1 is the 2.5.10 install, 2 is hop 1, 3 is hop 2: killed while hop 2 rolls out
        # helm has recorded revision 3 as deployed: the kill lands in the rollout, not inside helm upgrade
        # (a kill there leaves the release pending-upgrade, which blocks the next run by design)
        wait_until(lambda: any(entry["revision"] == 3 and entry["status"] == "deployed"
                               for entry in harness.history(name)), 150, "hop 2's helm upgrade")
        os.killpg(proc.pid, SIGNALS[name])
        proc.communicate(timeout=120)   # Ansible stops on SIGINT and SIGTERM too, without its always sections
    finally:
        member.cluster.set_config(pod_start_delay=0)
    lease_name = "milvusops-upgrade-%s" % member.release
    lease = member.cluster.store.get("Lease", lease_name, member.namespace)
    holder = lease["spec"]["holderIdentity"]
    assert "/pid:%d:" % proc.pid in holder, holder     # the killed ansible-playbook, by pid
    # a values folder as a hop killed inside helm upgrade leaves it (named after its module process, gone)
    left = Path(tempfile.gettempdir()) / ("milvusops-hop-%d-test" % proc.pid)
    left.mkdir()
    (left / "values.json").write_text("{}")
    # 600 s lock, not expired, no milvus_lock_break_stale: only the dead process lets the next run in
    result = harness.playbook("upgrade", "--limit", name, inventory=inventory, extra_vars=CONFIRM)
    assert result.rc == 0, result.output[-3000:]
    assert "took over the upgrade lock of %s" % holder in result.output
    assert "process %d on this host" % proc.pid in result.output
    assert result.cluster_report(name)["status"] in ("upgraded", "up_to_date"), result.cluster_report(name)
    assert member.cluster.store.get("Lease", lease_name, member.namespace) is None
    assert harness.milvus_images(name) == ["milvusdb/milvus:v2.6.4"]
    assert [entry["status"] for entry in harness.history(name)][-1] == "deployed"
    assert not left.exists(), "the next run's hop removes the killed hop's values folder"

"""Interrupted runs (issue 12, class 9): a run killed mid-hop; the next run on the same host takes over.

The lock's holder names the controller host and the ansible-playbook process; a later run on the same host
that finds that process gone takes the lock over at once (no expiry, no milvus_lock_break_stale) and says so.

Hop 2's pods are held not Ready (a pod fault, a kwok stage on the real control plane) until every run is
killed: each is cut while it waits for its rollout, however slow the machine (a start delay was a race the
test's own helm reads could lose on a loaded one, and then the run finished before its signal came). The three
clusters are cut at once, one signal each, then released and started again by one run for the three, as an
operator would.
"""

import contextlib
import os
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path

import pytest

from tests.harness import rollout_held, wait_until

# one cluster per way a run is stopped: kill -9, Ctrl-C (SIGINT to the process group), SIGTERM
SIGNALS = {"cut-kill": signal.SIGKILL, "cut-int": signal.SIGINT, "cut-term": signal.SIGTERM}
CLUSTERS = [(name, "v2510-separate-pulsar2") for name in SIGNALS]
CONFIRM = {"milvus_upgrade_confirm": True}


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory()
    return h


def hop_2_deployed(harness, name):
    # revision 1 is the 2.5.10 install, 2 is hop 1, 3 is hop 2: helm has recorded revision 3 as deployed, so
    # the kill lands in the rollout, not inside helm upgrade (a kill there leaves the release pending-upgrade,
    # which blocks the next run by design)
    return any(entry["revision"] == 3 and entry["status"] == "deployed" for entry in harness.history(name))


def stopped_output(proc, signum):
    """The output of a run its signal stopped. A run still alive a minute after Ctrl-C gets a second one, as an
    operator would press it: ansible-core's first SIGINT unwinds the run, and that can stall for good (its
    workers, stopped by the same signal, share one lock on the results queue with the main process, which it
    needs for its cleanup; one stopped while sending its result keeps that lock: seen in CI under load, a run
    still alive 120 s after its SIGINT). The first SIGINT left the default action, so the second one ends it."""
    try:
        return proc.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        if signum != signal.SIGINT:
            raise
    warnings.warn("run %d was still alive 60 s after its Ctrl-C: pressed it again" % proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    return proc.communicate(timeout=120)[0]


@pytest.fixture(scope="module")
def interrupted(harness):
    """One run per cluster, all at once, each killed by its own signal while its hop 2 rolls out; then one
    run for the three, as an operator would start it again: {name: (killed process, its lock's holder,
    its planted values folder)} and that run."""
    inventory = harness.workdir / "inventory.yml"
    runs = {}
    with contextlib.ExitStack() as held:   # until every run is killed
        for name in SIGNALS:
            held.enter_context(rollout_held(harness.fleet[name].cluster, "v2.6.4"))
        try:
            for name in SIGNALS:
                runs[name], _ = harness.start_playbook(
                    "upgrade", "--limit", name, inventory=inventory,
                    extra_vars=dict(CONFIRM, milvus_lock_seconds=600, milvus_wait_timeout=900))
            pending = set(SIGNALS)
            while pending:
                name = wait_until(lambda: next((n for n in sorted(pending) if hop_2_deployed(harness, n)), None),
                                  150, "hop 2's helm upgrade of %s" % ", ".join(sorted(pending)))
                os.killpg(runs[name].pid, SIGNALS[name])
                pending.discard(name)
            outputs = dict((name, stopped_output(proc, SIGNALS[name])) for name, proc in runs.items())
            # Ansible stops on SIGINT and SIGTERM too, without its always sections
        finally:
            for name, proc in runs.items():
                if proc.poll() is None:
                    proc.kill()
    killed = {}
    for name, proc in runs.items():
        member = harness.fleet[name]
        lease = member.cluster.store.get("Lease", "milvusops-upgrade-%s" % member.release, member.namespace)
        # a values folder as a hop killed inside helm upgrade leaves it (named after its module process, gone)
        left = Path(tempfile.gettempdir()) / ("milvusops-hop-%d-test" % proc.pid)
        left.mkdir()
        (left / "values.json").write_text("{}")
        killed[name] = (proc, lease, left, outputs[name])
    # 600 s locks, not expired, no milvus_lock_break_stale: only the dead processes let the next run in
    result = harness.playbook("upgrade", "--limit", ",".join(sorted(SIGNALS)), inventory=inventory,
                              extra_vars=CONFIRM)
    return killed, result


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_run_killed_mid_hop_leaves_its_lock_and_the_next_run_on_this_host_takes_it_over(harness, interrupted,
                                                                                          name):
    killed, result = interrupted
    proc, lease, left, output = killed[name]
    member = harness.fleet[name]
    # held pods: the run cannot have finished on its own before its signal
    assert proc.returncode != 0, "the run was not stopped by its signal:\n%s" % output[-3000:]
    assert lease is not None, "the killed run's lock is left behind:\n%s" % output[-3000:]
    holder = lease["spec"]["holderIdentity"]
    assert "/pid:%d:" % proc.pid in holder, holder     # the killed ansible-playbook, by pid
    assert result.rc == 0, result.output[-3000:]
    assert "took over the upgrade lock of %s" % holder in result.output
    assert "process %d on this host" % proc.pid in result.output
    assert result.cluster_report(name)["status"] in ("upgraded", "up_to_date"), result.cluster_report(name)
    assert member.cluster.store.get("Lease", "milvusops-upgrade-%s" % member.release, member.namespace) is None
    assert harness.milvus_images(name) == ["milvusdb/milvus:v2.6.4"]
    assert [entry["status"] for entry in harness.history(name)][-1] == "deployed"
    assert not left.exists(), "the next run's hop removes the killed hop's values folder"

"""Faults and concurrency (issue 5): each row of the README's "what happens when..." table is a test here.

One simulated fleet, one cluster per scenario; every playbook run is limited to its own cluster.
"""

import datetime
import os
import signal
import subprocess
import time

import pytest

from tests.harness import rollout_held, wait_until

# Simulator only: API error bursts, latency, outages and store writes are injected.
pytestmark = pytest.mark.kubesim

CLUSTERS = [
    ("burst", "v2510-separate-pulsar2"),
    ("write-fail", "v2516-mixcoord"),
    ("outage", "v2516-mixcoord"),
    ("pending", "v2516-mixcoord"),
    ("locked", "v2516-mixcoord"),
    ("flip", "v2516-mixcoord"),
    ("slow", "v2516-mixcoord"),
    ("killed", "v2510-separate-pulsar2"),
    ("renew", "v2516-mixcoord"),
]
CONFIRM = {"milvus_upgrade_confirm": True}


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory(extra_host_vars={
        "slow": {"milvus_wait_timeout": 8},
        "killed": {"milvus_lock_seconds": 5},
    })
    return h


def revisions(harness, name):
    return [row["revision"] for row in harness.history(name)]


def statefulset_uids(harness, name):
    return dict((n, o["metadata"]["uid"]) for n, o in harness.objects(name, "StatefulSet").items())


def run(harness, name, *args, extra_vars=None):
    inventory = harness.workdir / "inventory.yml"
    return harness.playbook("upgrade", "--limit", name, *args, inventory=inventory,
                            extra_vars=dict(CONFIRM, **(extra_vars or {})))


def test_read_error_burst_is_retried_and_the_run_completes(harness):
    cluster = harness.fleet["burst"].cluster
    for verb, code in (("get", 503), ("list", 500)):
        cluster.faults.add({"type": "error", "verb": verb, "rate": 0.3, "code": code, "duration": 20})
    result = run(harness, "burst")
    injected = cluster.faults.injected
    cluster.faults.clear()
    assert result.rc == 0, result.output
    assert injected > 5, "the burst never hit the run"
    assert result.cluster_report("burst")["status"] == "upgraded"
    assert harness.milvus_images("burst") == ["milvusdb/milvus:v2.6.4"]


def test_a_failed_write_during_helm_upgrade_is_repeated_safely(harness):
    cluster = harness.fleet["write-fail"].cluster
    cluster.faults.add({"type": "error", "verb": "patch", "rate": 1.0, "code": 500, "count": 1})
    result = run(harness, "write-fail")
    hit = cluster.faults.injected
    cluster.faults.clear()
    assert result.rc == 0, result.output
    assert hit == 1
    history = harness.history("write-fail")
    # helm recorded its failed attempt; the hop module saw our own failed revision and applied it again
    assert [row["status"] for row in history][-2:] == ["failed", "deployed"], history
    assert harness.milvus_images("write-fail") == ["milvusdb/milvus:v2.6.4"]


def test_an_api_outage_in_the_middle_of_a_wait_is_survived(harness):
    cluster = harness.fleet["outage"].cluster
    cluster.set_config(pod_start_delay=12)
    before = len(revisions(harness, "outage"))
    proc, report_dir = harness.start_playbook("upgrade", "--limit", "outage", extra_vars=CONFIRM,
                                              inventory=harness.workdir / "inventory.yml")
    applied = "owner=helm,name=rel,status=deployed,version=%d" % (before + 1)
    wait_until(lambda: cluster.store.list("Secret", "milvus", label_selector=applied), 120, "hop 2 to be applied")
    cluster.faults.add({"type": "outage", "mode": "refuse", "duration": 30})
    outage_started = time.monotonic()
    result = harness.finish_playbook(proc, report_dir)
    cluster.set_config(pod_start_delay=0)
    assert result.rc == 0, result.output
    assert time.monotonic() - outage_started >= 30, "the run ended before the outage did"
    assert result.cluster_report("outage")["status"] == "upgraded"
    assert harness.milvus_images("outage") == ["milvusdb/milvus:v2.6.4"]


def test_a_release_left_pending_by_a_killed_helm_is_never_upgraded_over(harness):
    member = harness.fleet["pending"]
    cluster = member.cluster
    cluster.faults.add({"type": "latency", "verb": "patch", "ms": 3000})
    helm = subprocess.Popen(
        [harness.fleet.helm_binary, "upgrade", member.release, "milvus", "--repo", harness.fleet.chart_repo_url,
         "--version", "5.0.0", "--reset-then-reuse-values", "--set", "image.all.tag=v2.6.4",
         "--namespace", member.namespace, "--kube-context", member.context],
        env=harness.fleet.helm_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: cluster.store.list("Secret", member.namespace,
                                          label_selector="owner=helm,status=pending-upgrade"), 60, "pending-upgrade")
    helm.kill()
    helm.wait()
    cluster.faults.clear()
    before = harness.history("pending")
    assert before[-1]["status"] == "pending-upgrade"

    result = run(harness, "pending")
    assert result.rc != 0
    error = result.cluster_report("pending")["error"]
    assert "pending-upgrade" in error and "helm rollback" in error, error
    assert harness.history("pending") == before  # no helm upgrade was started over it
    assert "Helm upgrade of hop" not in result.output


def test_a_second_run_is_refused_while_the_first_holds_the_lock(harness):
    cluster = harness.fleet["locked"].cluster
    inventory = harness.workdir / "inventory.yml"
    with rollout_held(cluster, "v2.6.4"):   # the first run holds the lock until the second has been refused
        first, first_dir = harness.start_playbook("upgrade", "--limit", "locked", extra_vars=CONFIRM,
                                                  inventory=inventory)
        lease = wait_until(lambda: cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus"), 60, "the lock")
        assert "upgrade of rel to v2.6.4 by locked" in lease["metadata"]["annotations"]["milvusops.cluster/purpose"]

        second = run(harness, "locked")
        assert second.rc != 0
        error = second.cluster_report("locked")["error"]
        assert "holds the upgrade lock" in error and lease["spec"]["holderIdentity"] in error, error
        assert "Helm upgrade of hop" not in second.output
        assert second.recap()["locked"]["changed"] == 0

    first_result = harness.finish_playbook(first, first_dir)
    assert first_result.rc == 0, first_result.output
    assert first_result.cluster_report("locked")["status"] == "upgraded"
    assert cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus") is None  # released at the end


def test_a_stale_lock_is_broken_only_with_the_explicit_variable(harness):
    cluster = harness.fleet["locked"].cluster
    an_hour_ago = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cluster.store.create("Lease", "milvus", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "milvusops-upgrade-rel", "annotations": {"milvusops.cluster/purpose": "a run that died"}},
        "spec": {"holderIdentity": "ghost/1", "leaseDurationSeconds": 300, "acquireTime": an_hour_ago,
                 "renewTime": an_hour_ago}})
    refused = run(harness, "locked")
    assert refused.rc != 0
    error = refused.cluster_report("locked")["error"]
    assert "stale" in error and "ghost/1" in error and "milvus_lock_break_stale=true" in error, error
    assert cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus")["spec"]["holderIdentity"] == "ghost/1"

    broken = run(harness, "locked", extra_vars={"milvus_lock_break_stale": True})
    assert broken.rc == 0, broken.output
    assert broken.cluster_report("locked")["status"] == "up_to_date"
    assert cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus") is None


def test_a_hop_whose_render_deletes_statefulsets_is_refused_naming_them(harness):
    member = harness.fleet["flip"]
    uids = statefulset_uids(harness, "flip")
    history = harness.history("flip")
    playbook = harness.workdir / "flip.yml"
    playbook.write_text("""
- hosts: flip
  connection: local
  gather_facts: false
  tasks:
    - name: A hop whose values switch the message queue back to Pulsar v2
      milvusops.cluster.milvus_helm_hop:
        release: "{{ milvus_release }}"
        namespace: "{{ milvus_namespace }}"
        context: "{{ milvus_kube_context }}"
        kubeconfig: "{{ milvus_kubeconfig }}"
        helm_binary: "{{ milvus_helm_binary }}"
        chart_repo_url: "{{ milvus_chart_repo_url }}"
        hop_name: streaming
        chart_version: 5.0.0
        values:
          image: {all: {tag: v2.6.4}}
          pulsar: {enabled: true}
          pulsarv3: {enabled: false}
""")
    result = harness.playbook(str(playbook), "--limit", "flip", inventory=harness.workdir / "inventory.yml",
                              extra_vars={"ansible_python_interpreter": str(harness_python())})
    assert result.rc != 0
    assert "StatefulSet/%s-pulsarv3-bookie" % member.release in result.output, result.output
    assert "nothing was changed" in result.output
    assert harness.history("flip") == history
    assert statefulset_uids(harness, "flip") == uids


def harness_python():
    import sys
    return sys.executable


def test_a_wait_timeout_lists_every_component_not_ready_and_why(harness):
    cluster = harness.fleet["slow"].cluster
    cluster.faults.add({"type": "neverready", "component": "streamingnode"})
    started = time.monotonic()
    result = run(harness, "slow")
    cluster.faults.clear()
    assert result.rc != 0
    error = result.cluster_report("slow")["error"]
    assert "not ready after" in error and "streamingnode" in error, error
    assert "the wait timeout, milvus_wait_timeout, is 8 s" in error, error
    assert time.monotonic() - started < 60


def test_a_controller_killed_between_the_hops_resumes_with_hop_2(harness):
    inventory = harness.workdir / "inventory.yml"
    cluster = harness.fleet["killed"].cluster
    with rollout_held(cluster, "v2.5.16"):   # killed while it waits for hop 1, whatever the machine's load
        proc, _ = harness.start_playbook("upgrade", "--limit", "killed", extra_vars=CONFIRM, inventory=inventory)
        wait_until(lambda: any(row["status"] == "deployed" and row["chart"] == "milvus-4.2.58"
                               for row in harness.history("killed")), 120, "hop 1 to be applied")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [row["chart"] for row in harness.history("killed")] == ["milvus-4.2.20", "milvus-4.2.58"]
    # the dead run's lock is left behind; with milvus_lock_seconds=5 it goes stale quickly
    lease = cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus")
    assert lease is not None
    time.sleep(5.5)  # the lock's own duration (milvus_lock_seconds) must pass: that is the behaviour under test
    result = run(harness, "killed", extra_vars={"milvus_lock_break_stale": True})
    assert result.rc == 0, result.output
    report = result.cluster_report("killed")
    assert report["planned_hops"] == ["streaming"]
    assert harness.milvus_images("killed") == ["milvusdb/milvus:v2.6.4"]


def test_a_lock_shorter_than_the_upgrade_is_renewed_through_it_and_progress_is_shown(harness):
    cluster = harness.fleet["renew"].cluster
    # Pods take 12 s to start: longer than a loaded machine needs to start the wait module after helm
    # returns (4 s was not: the first slice of hop 2 then already found it ready and said nothing).
    cluster.set_config(pod_start_delay=12)
    cluster.reset_counters()
    # a 2 s lock and 1 s wait slices: the lock is renewed between slices, each slice says what is rolling
    result = run(harness, "renew", extra_vars={"milvus_lock_seconds": 2, "milvus_progress_interval": 1})
    cluster.set_config(pod_start_delay=0)
    assert result.rc == 0, result.output
    assert result.cluster_report("renew")["status"] == "upgraded"
    counters = cluster.counters()
    assert counters.get("create leases") == 1 and counters.get("update leases", 0) >= 2, counters
    assert "hop streaming rolling for" in result.output and "waiting for:" in result.output
    assert cluster.store.get("Lease", "milvusops-upgrade-rel", "milvus") is None
    assert result.recap()["renew"]["changed"] == 1          # the hop; lock writes are bookkeeping

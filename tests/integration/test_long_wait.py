"""Waits of any length and staying ready (issue 12, classes 7 and 8).

Class 7: one task waits through hundreds of progress slices.

The wait used to be an include recursion that failed at about 400 slices; now one milvus_wait_ready task
watches the release, prints a progress line per slice and renews the lock between them.
Class 8: within hop 2's stability window (milvus_settle_after_streaming) a pod that restarts fails the hop.

Both run on the real control plane: a start delay for one member's namespace (a kwok stage, set through the
simulator's own `cluster.set_config`) keeps pods starting; the restarts are the pod status a kubelet writes.
"""

import re
import threading
import time

import pytest

from tests.harness import wait_until

CLUSTERS = [("long", "v2516-mixcoord"), ("unstable", "v2516-mixcoord")]
PROGRESS = re.compile(r"^long: hop streaming rolling for (\d+) s, waiting for: (.+)$", re.M)


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    h.inventory()
    return h


class LeaseRenewals(threading.Thread):
    """Every renewTime the release's Lease shows while a run goes (read as the admin, on either backend)."""

    def __init__(self, member):
        threading.Thread.__init__(self, daemon=True)
        self.member = member
        self.seen = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            lease = self.member.cluster.store.get("Lease", "milvusops-upgrade-%s" % self.member.release,
                                                  self.member.namespace)
            renewed = ((lease or {}).get("spec") or {}).get("renewTime")
            if renewed and renewed not in self.seen:
                self.seen.append(renewed)
            self.done.wait(0.2)   # a renewal stands for 3 s at least (half the 6 s lock): none is missed

    def stop(self):
        self.done.set()
        self.join()
        return self.seen


def test_a_wait_of_more_than_500_slices_finishes_upgraded_with_the_lock_renewed(harness):
    member = harness.fleet["long"]
    cluster = member.cluster
    cluster.set_config(pod_start_delay=40)
    renewals = LeaseRenewals(member)
    renewals.start()
    try:
        result = harness.playbook("upgrade", "--limit", "long", inventory=harness.workdir / "inventory.yml",
                                  extra_vars={"milvus_upgrade_confirm": True, "milvus_progress_interval": 0.05,
                                              "milvus_lock_seconds": 6}, timeout=170)
    finally:
        cluster.set_config(pod_start_delay=0)
        seen = renewals.stop()
    assert result.rc == 0, result.output[-3000:]
    assert result.cluster_report("long")["status"] == "upgraded"
    lines = PROGRESS.findall(result.output)
    assert len(lines) >= 500, (len(lines), result.output[-2000:])
    seconds = [int(elapsed) for elapsed, _ in lines]
    assert seconds == sorted(seconds) and seconds[-1] >= 30, seconds[-5:]  # counted from the hop's start
    assert all("streamingnode" in waiting or "proxy" in waiting for _, waiting in lines[:10]), lines[:3]
    # 40 s per hop with a 6 s lock: renewed between slices (at least every 3 s) and released at the end
    assert len(seen) >= 10 and seen == sorted(seen), seen
    assert cluster.store.get("Lease", "milvusops-upgrade-%s" % member.release, member.namespace) is None
    assert "RecursionError" not in result.output and "recursion" not in result.output.lower()
    assert harness.milvus_images("long") == ["milvusdb/milvus:v2.6.4"]


def all_ready_on(harness, name, image):
    pods = [p for p in harness.objects(name, "Pod").values()
            if p["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "milvus"]
    if not pods or any(p["metadata"].get("deletionTimestamp") for p in pods):
        return None
    for p in pods:
        statuses = p.get("status", {}).get("containerStatuses") or []
        if not statuses or not all(s.get("ready") and s.get("image", "").endswith(image) for s in statuses):
            return None
    return sorted(p["metadata"]["name"] for p in pods)


def test_a_pod_that_restarts_after_hop_2_turned_ready_fails_the_hop_naming_it(harness):
    member = harness.fleet["unstable"]
    proc, report_dir = harness.start_playbook(
        "upgrade", "--limit", "unstable", inventory=harness.workdir / "inventory.yml",
        extra_vars={"milvus_upgrade_confirm": True, "milvus_settle_after_streaming": 40})
    try:
        pods = wait_until(lambda: all_ready_on(harness, "unstable", "milvus:v2.6.4"), 120, "hop 2 to turn ready")
        victim = next(name for name in pods if "streamingnode" in name)

        def restart(pod):     # what the kubelet writes when a container exited with an error and started again
            status = pod["status"]["containerStatuses"][0]
            status["restartCount"] = int(status.get("restartCount") or 0) + 1
            status["lastState"] = {"terminated": {"reason": "Error", "exitCode": 2,
                                                  "startedAt": "2025-01-01T00:00:00Z",
                                                  "finishedAt": "2025-01-01T00:00:01Z"}}
        # Pods can be Ready before the wait sees the release ready (old pods still going, the proxy's /healthz
        # through its Service not yet answering): the wait takes its baseline only then, and a restart before
        # it is part of the baseline. An exit with an error and a restart is no reason to give up a rollout
        # (an OOMKilled one is, see tests/unit/test_readiness.py), so the pod keeps restarting (once a second)
        # until the run ends: the first restart after the baseline must end it, long before the 40 s window.
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < 30:
            member.cluster.store.mutate("pods", member.namespace, victim, restart, subresource="status")
            time.sleep(1)   # one restart a second, as a crash-looping container would
        result = harness.finish_playbook(proc, report_dir, timeout=120)
        waited = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result.rc != 0, result.output[-3000:]
    assert waited < 30, "failed at the first restart, not at the end of the 40 s window"
    report = result.cluster_report("unstable")
    assert report["status"] == "failed", report
    assert victim in report["error"] and "settle window" in report["error"], report["error"]
    assert "restarted after the release turned ready" in report["error"] and "exit code 2" in report["error"], \
        report["error"]
    # hop 2 is never rolled back: the release stays on 2.6 for the operator to look at
    assert harness.milvus_images("unstable") == ["milvusdb/milvus:v2.6.4"]
    assert [(row["chart"], row["status"]) for row in harness.history("unstable")][-1] == ("milvus-5.0.0", "deployed")

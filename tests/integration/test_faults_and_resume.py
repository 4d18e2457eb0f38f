"""A fleet where one cluster's 2.6 pods crash-loop: it fails fast, the others finish, a re-run resumes."""

import pytest
import time

# Simulator only: the real backend's pod faults are proven in test_real_backend.py; this keeps the four-cluster resume quick.
pytestmark = pytest.mark.kubesim

CLUSTERS = [
    ("crashy", "v2510-separate-pulsar2"),
    ("fine-1", "v2514-mixcoord-pulsar3"),
    ("fine-2", "v2516-mixcoord"),
    ("fine-3", "v2516-kafka"),
]
WAIT_TIMEOUT = 900   # a failure found well before this is found by the failure, not the clock


def test_crash_loop_fails_fast_others_complete_and_rerun_resumes(make_harness):
    harness = make_harness(CLUSTERS)
    inventory = harness.inventory(extra_host_vars=dict((name, {"milvus_wait_timeout": WAIT_TIMEOUT})
                                                       for name, _ in CLUSTERS))
    crashy = harness.fleet["crashy"].cluster
    crashy.faults.add({"type": "crashloop", "image": "v2.6.4"})

    started = time.monotonic()
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True}, inventory=inventory)
    assert run.rc != 0, run.output
    report = run.cluster_report("crashy")
    assert report["status"] == "failed"
    assert [h["name"] for h in report["hops_applied"]] == ["mixcoord"]
    assert "CrashLoopBackOff" in report["error"] and "rel-milvus-" in report["error"], report["error"]
    # fail fast: far below the per-hop wait timeout
    assert time.monotonic() - started < WAIT_TIMEOUT / 2
    for name in ("fine-1", "fine-2", "fine-3"):
        assert run.cluster_report(name)["status"] == "upgraded", name
    fleet = dict((r["cluster"], r) for r in run.fleet_report()["clusters"])
    assert fleet["crashy"]["status"] == "failed" and "CrashLoopBackOff" in fleet["crashy"]["error"]
    assert "CrashLoopBackOff" in (run.report_dir / "fleet-report.txt").read_text()

    revision = harness.history("crashy")[-1]["revision"]
    crashy.faults.clear()
    rerun = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True}, inventory=inventory)
    assert rerun.rc == 0, rerun.output
    report = rerun.cluster_report("crashy")
    # Hop 2 was applied before the wait failed: the re-run never repeats hop 1 and adds no revision.
    # Whether the pods finished rolling by themselves before the re-run looked (up_to_date) or not
    # (hop 2 re-checked, then waited for), the end state is verified before the cluster counts as done.
    assert "mixcoord" not in report["planned_hops"]
    assert report["status"] in ("upgraded", "up_to_date")
    assert harness.history("crashy")[-1]["revision"] == revision
    for deployment in harness.objects("crashy", "Deployment").values():
        labels = deployment["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/name") == "milvus":
            assert labels["component"] not in ("indexnode", "rootcoord", "querycoord", "datacoord", "indexcoord")
            image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            assert image.endswith(":v2.6.4"), image
            assert deployment["status"].get("readyReplicas") == deployment["spec"]["replicas"], deployment["metadata"]["name"]
    for name in ("fine-1", "fine-2", "fine-3"):
        assert rerun.cluster_report(name)["status"] == "up_to_date", name

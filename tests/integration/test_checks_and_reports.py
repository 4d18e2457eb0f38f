"""Check before change: what can be known before the lock and the first hop is checked there.

Each bad setting (a report folder that cannot be written, a helm binary that is not helm, a chart version the
repository does not have, a chart repository that refuses connections) fails its cluster before anything
changed, says "nothing was changed", names the inventory variable to fix, and leaves helm history as it was.
"""

import os
import stat

import pytest

CASES = {
    "not-helm": {},                                   # milvus_helm_binary: a script that exits 0, set below
    "chart-missing": {"milvus_target_chart": "9.9.9"},
    "repo-refused": {"milvus_chart_repo_url": None},  # a port on loopback that nothing listens on, set below
}


def closed_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]      # closed again on leaving: connections to it are refused


@pytest.fixture(scope="module")
def scenario(make_harness):
    harness = make_harness([(name, "v2516-mixcoord") for name in CASES])
    fake = harness.workdir / "fake-helm"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    variables = dict((name, dict(values)) for name, values in CASES.items())
    variables["not-helm"]["milvus_helm_binary"] = str(fake)
    variables["repo-refused"]["milvus_chart_repo_url"] = "http://127.0.0.1:%d/charts" % closed_port()
    before = dict((name, state_of(harness, name)) for name in CASES)
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True},
                           inventory=harness.inventory(variables))
    return dict(harness=harness, run=run, before=before)


def state_of(harness, name):
    """What a run that changed nothing leaves as it was: helm history, the images and the Deployments' specs."""
    return {"history": harness.history(name), "images": harness.milvus_images(name),
            "generations": dict((deployment, obj["metadata"]["generation"])
                                for deployment, obj in harness.objects(name, "Deployment").items())}


def error_of(scenario, host):
    report = scenario["run"].cluster_report(host)
    assert report["status"] == "failed", report
    return report["error"]


def assert_untouched(scenario, host):
    assert state_of(scenario["harness"], host) == scenario["before"][host]


def test_a_binary_that_is_not_helm_is_named_so_not_reported_as_a_missing_release(scenario):
    error = error_of(scenario, "not-helm")
    assert "fake-helm is not helm" in error and "set milvus_helm_binary" in error, error
    assert "not found" not in error and "nothing was changed" in error, error
    assert_untouched(scenario, "not-helm")


def test_a_chart_version_the_repository_lacks_blocks_before_hop_1(scenario):
    error = error_of(scenario, "chart-missing")
    assert "chart milvus version 9.9.9 cannot be had" in error, error
    assert "milvus_target_chart" in error and "nothing was changed" in error, error
    assert scenario["run"].cluster_report("chart-missing")["hops_applied"] == []
    assert_untouched(scenario, "chart-missing")


def test_a_refused_chart_repository_blocks_before_hop_1(scenario):
    error = error_of(scenario, "repo-refused")
    assert "cannot be had from repository http://127.0.0.1:" in error, error
    assert "connection refused" in error and "milvus_chart_repo_url" in error, error
    assert_untouched(scenario, "repo-refused")


def test_a_report_folder_that_cannot_be_written_stops_the_run_before_the_lock(scenario, tmp_path):
    harness = scenario["harness"]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    before = state_of(harness, "chart-missing")
    run = harness.playbook("upgrade", "--limit", "chart-missing",
                           extra_vars={"milvus_upgrade_confirm": True, "milvus_target_chart": "5.0.0",
                                       "milvus_report_dir": str(blocker / "reports")})
    assert run.proc.returncode != 0
    assert "report folder %s cannot be written" % (blocker / "reports") in run.output, run.output[-3000:]
    assert "nothing was changed" in run.output
    assert "Inspect the release and plan the upgrade" not in run.output     # stopped before preflight and its lock
    assert state_of(harness, "chart-missing") == before
    assert os.path.isfile(str(blocker))


def test_a_fleet_report_is_written_even_when_every_cluster_failed(scenario):
    fleet = scenario["run"].fleet_report()
    assert sorted((c["cluster"], c["status"]) for c in fleet["clusters"]) == [
        ("chart-missing", "failed"), ("not-helm", "failed"), ("repo-refused", "failed")]
    assert (scenario["run"].report_dir / "fleet-report.txt").is_file()


def test_check_mode_reports_what_would_be_applied_and_what_a_hop_really_changes(scenario):
    harness = scenario["harness"]
    before = state_of(harness, "chart-missing")
    run = harness.playbook("upgrade", "--check", "--limit", "chart-missing,localhost",   # localhost: the fleet report
                           extra_vars={"milvus_target_chart": "5.0.0"})
    assert run.rc == 0, run.output[-3000:]
    text = (run.report_dir / "fleet-report.txt").read_text()
    assert "would be applied (check mode, nothing changed)" in text, text
    assert "revision" not in text, text
    # the cluster runs mixcoord with an indexnode: hop 2 adds the streaming node and removes the index node only
    assert "adds streamingnode; removes indexnode" in run.output, run.output[-3000:]
    assert "=True" not in run.output and "=False" not in run.output
    assert state_of(harness, "chart-missing") == before

"""What only the real control plane proves: more starting states, pod faults played by kwok, the
real scheduler leaving pods Pending, an API server that is stopped in the middle of a wait, the lock,
a controller killed between the hops, the StatefulSet guard, and the collection's RBAC."""

import os
import signal
import time

import pytest
import yaml

from tests.harness import rollout_held
from tests.kubesim.tests.util import wait_for

CLUSTERS = [
    ("external", "v2511-external-pulsar"),
    ("at-2518", "v2518-separate"),
    ("rc1", "v260rc1"),
    ("crashy", "v2516-mixcoord"),
    ("pull-error", "v2516-mixcoord"),
    ("unplaced", "v2516-mixcoord"),
    ("outage", "v2516-mixcoord"),
    ("locked", "v2516-mixcoord"),
    ("killed", "v2510-separate-pulsar2"),
    ("guard", "v2516-mixcoord"),
    ("rbac", "v2516-mixcoord"),
]
CONFIRM = {"milvus_upgrade_confirm": True}
FAIL_FAST_TIMEOUT = 900   # a failure found well before this is found by the failure, not the clock


@pytest.fixture(scope="module")
def harness(make_harness):
    h = make_harness(CLUSTERS)
    if getattr(h.fleet, "backend", "kubesim") != "real":
        pytest.skip("real control plane scenarios")   # only when MILVUSOPS_TEST_BACKEND forces kubesim
    h.inventory(extra_host_vars={
        "unplaced": {"milvus_wait_timeout": 20},
        "crashy": {"milvus_wait_timeout": FAIL_FAST_TIMEOUT},
        "pull-error": {"milvus_wait_timeout": FAIL_FAST_TIMEOUT},
        "killed": {"milvus_lock_seconds": 5},
    })
    return h


def run(harness, limit, *args, extra_vars=None):
    return harness.playbook("upgrade", "--limit", limit, *args, inventory=harness.workdir / "inventory.yml",
                            extra_vars=dict(CONFIRM, **(extra_vars or {})))


def start(harness, limit, extra_vars=None):
    return harness.start_playbook("upgrade", "--limit", limit, inventory=harness.workdir / "inventory.yml",
                                  extra_vars=dict(CONFIRM, **(extra_vars or {})))


def revisions(harness, name):
    return [(row["revision"], row["status"], row["chart"]) for row in harness.history(name)]


def hop_applied(harness, name, chart):
    return lambda: any(row["status"] == "deployed" and row["chart"] == chart for row in harness.history(name))


def test_external_pulsar_and_a_newer_2_5_are_upgraded_and_rc1_is_refused(harness):
    statefulsets = dict((name, set(harness.objects(name, "StatefulSet"))) for name in ("external", "at-2518"))
    rc1 = revisions(harness, "rc1")
    result = run(harness, "external,at-2518,rc1")
    assert result.rc != 0      # rc1 fails its own cluster
    assert result.cluster_report("external")["status"] == "upgraded"
    assert result.cluster_report("at-2518")["status"] == "upgraded"
    assert harness.milvus_images("external") == harness.milvus_images("at-2518") == ["milvusdb/milvus:v2.6.4"]
    # hop 1 keeps 2.5.18 (never a downgrade to 2.5.16); the queue stays what it was
    hops = dict((h["name"], h) for h in result.cluster_report("at-2518")["hops_applied"])
    assert hops["mixcoord"]["image_tag"] == "v2.5.18"
    for name in ("external", "at-2518"):
        assert set(harness.objects(name, "StatefulSet")) == statefulsets[name], name
    assert not [n for n in statefulsets["external"] if "pulsar" in n]
    error = result.cluster_report("rc1")["error"]
    assert "2.6.0-rc1" in error, error
    assert revisions(harness, "rc1") == rc1


def test_crash_loops_and_image_pull_errors_fail_fast_naming_the_pod(harness):
    faults = {"crashy": ("crashloop", "CrashLoopBackOff"), "pull-error": ("imagepull", "ImagePullBackOff")}
    for name, (kind, _) in faults.items():
        harness.fleet[name].cluster.faults.add({"type": kind, "image": "v2.6.4"})
    started = time.monotonic()
    result = run(harness, "crashy,pull-error")
    elapsed = time.monotonic() - started
    for name in faults:
        harness.fleet[name].cluster.faults.clear()
    assert result.rc != 0
    for name, (_, reason) in faults.items():
        error = result.cluster_report(name)["error"]
        assert reason in error and "rel-milvus-" in error, error
    assert elapsed < FAIL_FAST_TIMEOUT / 2, "the failure was found by the wait timeout, not by the pods' state"
    # the faults are gone: the re-run verifies and finishes without a new revision
    history = dict((name, revisions(harness, name)) for name in faults)
    rerun = run(harness, "crashy,pull-error")
    assert rerun.rc == 0, rerun.output
    for name in faults:
        assert revisions(harness, name) == history[name]
        assert harness.milvus_images(name) == ["milvusdb/milvus:v2.6.4"]


def test_a_pod_the_scheduler_cannot_place_is_named_when_the_wait_times_out(harness):
    harness.fleet["unplaced"].cluster.faults.add({"type": "unschedulable"})
    try:
        result = run(harness, "unplaced")
    finally:
        harness.fleet["unplaced"].cluster.faults.clear()
    assert result.rc != 0
    error = result.cluster_report("unplaced")["error"]
    assert "unschedulable" in error and "streamingnode" in error, error


def test_the_api_server_stopped_for_30_s_in_the_middle_of_a_wait(harness, control_plane):
    cluster = harness.fleet["outage"].cluster
    with rollout_held(cluster, component="streamingnode"):   # keeps the wait going through the outage
        proc, report_dir = start(harness, "outage")
        wait_for(hop_applied(harness, "outage", "milvus-5.0.0"), 120, 0.5, "hop 2 to be applied")
        control_plane.stop_apiserver()
        outage_started = time.monotonic()
        time.sleep(30)    # the outage's length is the behaviour under test
        control_plane.start_apiserver()
    result = harness.finish_playbook(proc, report_dir)
    assert result.rc == 0, result.output
    assert time.monotonic() - outage_started >= 30
    assert result.cluster_report("outage")["status"] == "upgraded"
    assert harness.milvus_images("outage") == ["milvusdb/milvus:v2.6.4"]


def test_the_lock_refuses_a_concurrent_second_run(harness):
    member = harness.fleet["locked"]
    with rollout_held(member.cluster, component="streamingnode"):   # the first run holds the lock meanwhile
        first, first_dir = start(harness, "locked")
        lease = wait_for(lambda: member.cluster.store.get("Lease", "milvusops-upgrade-rel", member.namespace),
                         60, 0.2, "the lock")
        second = run(harness, "locked")
    assert second.rc != 0
    error = second.cluster_report("locked")["error"]
    assert "holds the upgrade lock" in error and lease["spec"]["holderIdentity"] in error, error
    assert "Helm upgrade of hop" not in second.output
    first_result = harness.finish_playbook(first, first_dir)
    assert first_result.rc == 0, first_result.output
    assert member.cluster.store.get("Lease", "milvusops-upgrade-rel", member.namespace) is None


def test_a_killed_controller_is_resumed_at_hop_2(harness):
    member = harness.fleet["killed"]
    with rollout_held(member.cluster, "v2.5.16"):   # killed while it waits for hop 1, whatever the machine's load
        proc, _ = start(harness, "killed")
        wait_for(hop_applied(harness, "killed", "milvus-4.2.58"), 120, 0.2, "hop 1 to be applied")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [row[2] for row in revisions(harness, "killed")] == ["milvus-4.2.20", "milvus-4.2.58"]
    assert member.cluster.store.get("Lease", "milvusops-upgrade-rel", member.namespace) is not None
    time.sleep(5.5)   # the dead run's lock must expire (milvus_lock_seconds=5): that is the behaviour under test
    result = run(harness, "killed", extra_vars={"milvus_lock_break_stale": True})
    assert result.rc == 0, result.output
    assert result.cluster_report("killed")["planned_hops"] == ["streaming"]
    assert harness.milvus_images("killed") == ["milvusdb/milvus:v2.6.4"]


def test_a_hop_whose_server_side_render_deletes_statefulsets_is_refused(harness):
    member = harness.fleet["guard"]
    uids = dict((n, o["metadata"]["uid"]) for n, o in harness.objects("guard", "StatefulSet").items())
    history = revisions(harness, "guard")
    playbook = harness.workdir / "flip.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "guard", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "A hop whose values switch the message queue back to Pulsar v2",
                   "milvusops.cluster.milvus_helm_hop": {
                       "release": "{{ milvus_release }}", "namespace": "{{ milvus_namespace }}",
                       "context": "{{ milvus_kube_context }}", "kubeconfig": "{{ milvus_kubeconfig }}",
                       "helm_binary": "{{ milvus_helm_binary }}", "chart_repo_url": "{{ milvus_chart_repo_url }}",
                       "hop_name": "streaming", "chart_version": "5.0.0",
                       "values": {"image": {"all": {"tag": "v2.6.4"}}, "pulsar": {"enabled": True},
                                  "pulsarv3": {"enabled": False}}}}]}]))
    import sys
    result = harness.playbook(str(playbook), "--limit", "guard", inventory=harness.workdir / "inventory.yml",
                              extra_vars={"ansible_python_interpreter": sys.executable})
    assert result.rc != 0
    assert "StatefulSet/%s-pulsarv3-bookie" % member.release in result.output, result.output
    assert "nothing was changed" in result.output
    assert revisions(harness, "guard") == history
    assert dict((n, o["metadata"]["uid"]) for n, o in harness.objects("guard", "StatefulSet").items()) == uids


@pytest.mark.parametrize("group, resource, verb, named", [
    ("apps", "deployments", "patch", "patch deployments.apps"),
    ("", "services/proxy", "get", "get services/proxy"),
    ("", "secrets", "list", "list secrets"),
])
def test_an_identity_lacking_one_right_is_refused_before_anything_changes(harness, control_plane, tmp_path,
                                                                          group, resource, verb, named):
    from tests.controlplane.rbac import Identity, apply_rbac_manifest
    member = harness.fleet["rbac"]
    role = "milvusops-upgrader-without-%s-%s" % (verb, resource.replace("/", "-"))

    def without(cluster_role):
        if cluster_role["metadata"]["name"] != "milvusops-upgrader":
            return None
        rules = []
        for rule in cluster_role["rules"]:
            if group in rule["apiGroups"] and resource in rule["resources"]:
                others = [r for r in rule["resources"] if r != resource]
                if others:
                    rules.append(dict(rule, resources=others))
                rule = dict(rule, resources=[resource], verbs=[v for v in rule["verbs"] if v != verb])
            if rule["verbs"]:
                rules.append(rule)
        return dict(cluster_role, metadata={"name": role}, rules=rules)

    apply_rbac_manifest(control_plane, transform=without)
    identity = Identity(control_plane, role.replace("milvusops-upgrader-", "sa-")[:63], role=role)
    identity.grant(member.namespace)
    kubeconfig = yaml.safe_load(harness.fleet.kubeconfig.read_text())
    kubeconfig["users"][0]["user"] = {"token": identity.token}
    path = tmp_path / "limited.kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    before = revisions(harness, "rbac")
    result = run(harness, "rbac", extra_vars={"milvus_kubeconfig": str(path)})
    assert result.rc != 0
    error = result.cluster_report("rbac")["error"]
    assert "may not " + named in error and "milvus_kubeconfig" in error and "docs/rbac.yml" in error, error
    assert revisions(harness, "rbac") == before
    assert "Helm upgrade of hop" not in result.output

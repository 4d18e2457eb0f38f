"""helm's client-side OpenAPI check of a hop's render: where it checks something, and where it does not.

From Kubernetes 1.27 every API server validates fields itself, and helm's check (kubectl's validator) only
asks the server's OpenAPI documents whether it does, then validates nothing on the client: it costs most of
a helm call's CPU on a real API server for no check. A hop therefore runs it only against older servers (or ones
whose version is unknown), once: in the dry run that comes before an ordered hop's pauses, else in its one upgrade.

One kubesim fleet of four clusters on 2.5.16 with mixcoord (hop 2 only): two reporting Kubernetes 1.26, two the
simulator's 1.31; of each pair one upgraded in order (milvus_ordered_rollout, the default), one all at once.
helm is a wrapper that records each call's arguments and context before it execs the real helm. Every cluster is
upgraded; only the 1.26 clusters' helm runs the check.
"""

import json

import pytest

from tests.harness import write_helm_wrapper

# Simulator only: the real control plane runs one Kubernetes version.
pytestmark = pytest.mark.kubesim

# host: (Kubernetes version reported, None for the simulator's own; milvus_ordered_rollout)
HOSTS = {"kube-old": ("1.26.15", True), "kube-new": (None, True),
         "kube-old-at-once": ("1.26.15", False), "kube-new-at-once": (None, False)}
VERSIONS = dict((host, version) for host, (version, _) in HOSTS.items())
SKIP_CHECK = "--disable-openapi-validation"


@pytest.fixture(scope="module")
def scenario(make_harness):
    harness = make_harness([(name, "v2516-mixcoord") for name in VERSIONS],
                           kube_versions=dict((name, version) for name, version in VERSIONS.items() if version))
    calls_dir = harness.workdir / "helm-calls"
    calls_dir.mkdir()
    wrapper = write_helm_wrapper(harness.workdir / "bin", harness.fleet.helm_binary, calls_dir)
    inventory = harness.inventory(dict((name, {"milvus_helm_binary": str(wrapper), "milvus_ordered_rollout": ordered})
                                       for name, (_, ordered) in HOSTS.items()))
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True}, inventory=inventory)
    calls = [json.loads(path.read_text()) for path in sorted(calls_dir.iterdir())]
    return dict(harness=harness, run=run, calls=calls)


def upgrades_of(scenario, host):
    """(dry run?, helm's check on?) of each helm upgrade the collection ran against host's cluster."""
    return [("--dry-run=server" in call["argv"], SKIP_CHECK not in call["argv"])
            for call in scenario["calls"]
            if call["argv"][:1] == ["upgrade"] and call["HELM_KUBECONTEXT"] == host]


@pytest.mark.parametrize("host", sorted(VERSIONS))
def test_both_clusters_are_upgraded(scenario, host):
    assert scenario["run"].rc == 0, scenario["run"].output[-3000:]
    assert scenario["run"].cluster_report(host)["status"] == "upgraded"
    harness = scenario["harness"]
    assert harness.history(host)[-1]["chart"] == "milvus-5.0.0"
    assert [image.rsplit(":", 1)[1] for image in harness.milvus_images(host)] == ["v2.6.4"]


def test_the_server_reports_the_version_each_cluster_was_given(scenario):
    versions = dict((host, scenario["harness"].fleet.reader(host).get("/version")["gitVersion"]) for host in VERSIONS)
    for host in ("kube-old", "kube-old-at-once"):
        assert versions[host] == "v1.26.15"
    for host in ("kube-new", "kube-new-at-once"):
        assert versions[host] != "v1.26.15" and int(versions[host].split(".")[1]) >= 27


def test_helm_checks_against_the_openapi_schema_once_and_only_where_the_server_does_not_validate_fields(scenario):
    # ordered: the dry run before the pauses, then the upgrade; helm's check only in the dry run of the 1.26 cluster
    assert upgrades_of(scenario, "kube-old") == [(True, True), (False, False)]
    assert upgrades_of(scenario, "kube-new") == [(True, False), (False, False)]
    # all at once: the upgrade alone (its render guard is its post-renderer), with helm's check against 1.26 only
    assert upgrades_of(scenario, "kube-old-at-once") == [(False, True)]
    assert upgrades_of(scenario, "kube-new-at-once") == [(False, False)]


@pytest.mark.parametrize("host", sorted(VERSIONS))
def test_every_upgrade_passes_its_render_through_the_gate(scenario, host):
    upgrades = [call["argv"] for call in scenario["calls"]
                if call["argv"][:1] == ["upgrade"] and call["HELM_KUBECONTEXT"] == host]
    assert upgrades and all("--post-renderer" in argv for argv in upgrades), upgrades

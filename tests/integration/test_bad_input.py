"""Bad input: every case fails its own cluster with a clear error and changes nothing anywhere.

One fleet and one confirmed playbook run (milvus_upgrade_confirm=true, so nothing but the bad input
stands between the run and a helm upgrade). Each inventory host is one bad input, pointed at a real
simulated cluster or at a bad one; hosts that would reach the release's upgrade lock get a cluster of
their own. Each case is then asserted on its per-cluster JSON report and on cluster state: helm
history, and every object of every cluster (uid and resourceVersion) exactly as before the run.

The one host that must *succeed* (the control: the run itself works) is the release whose stored
values are full of shell metacharacters and Jinja: it is upgraded, its values come through verbatim,
and no marker file that any of those payloads would create exists afterwards.
"""

import json
import os
import socket
import textwrap

import pytest
import yaml

from tests.kubesim.resources import RESOURCES

# Simulator only: reads every stored object of the simulator to prove nothing changed.
pytestmark = pytest.mark.kubesim

OWN_CLUSTER = [  # host == cluster; each of these reaches the lock of the real release `rel`
    ("target-latest", "v2516-mixcoord", {"milvus_target_version": "latest"}),
    ("target-short", "v2516-mixcoord", {"milvus_target_version": "2.6"}),
    ("target-four-parts", "v2516-mixcoord", {"milvus_target_version": "v2.6.4.1"}),
    ("target-empty", "v2516-mixcoord", {"milvus_target_version": ""}),
    ("target-2-5", "v2516-mixcoord", {"milvus_target_version": "v2.5.12"}),
    ("target-below-running", "v264-done", {"milvus_target_version": "v2.6.2", "milvus_target_chart": "5.0.0"}),
    ("helm-missing", "v2516-mixcoord", {"milvus_helm_binary": "/nonexistent/bin/helm"}),
    ("helm-old", "v2516-mixcoord", {}),          # milvus_helm_binary: the stub, set in the fixture
    ("mq-contradicts", "v2516-mixcoord", {"milvus_message_queue": "kafka"}),
    ("evil-values", "v2516-mixcoord", {}),
]
SHARED = "shared"   # every other host points here (or nowhere); nothing on it may change
CLUSTERS = [(SHARED, "v2516-mixcoord")] + [(name, state) for name, state, _ in OWN_CLUSTER]
SKIP_KINDS = {"Event"}
# The upgrade lock repeats API errors for up to 90 s before it gives up (it must outlast a passing outage):
# these hosts run in a second playbook beside the others instead of holding up every task of one run.
SLOW = ("unreachable-host", "wrong-namespace")


def snapshot(harness):
    """{cluster: {(kind, namespace, name): (uid, resourceVersion)}} of every stored object."""
    state = {}
    for member in harness.fleet:
        objects = {}
        for res in RESOURCES:
            if res.kind in SKIP_KINDS:
                continue
            for obj in member.cluster.store.list(res):
                meta = obj["metadata"]
                objects[(res.kind, meta.get("namespace"), meta["name"])] = (meta.get("uid"), meta.get("resourceVersion"))
        state[member.name] = objects
    return state


def revisions(harness, cluster, release="rel", namespace="milvus"):
    proc = harness.fleet.helm("history", release, "--namespace", namespace, "-o", "json", cluster=cluster)
    return [row["revision"] for row in json.loads(proc.stdout)]


def write_foreign_chart(directory):
    """A tiny chart that is not Milvus: one ConfigMap."""
    (directory / "templates").mkdir(parents=True)
    (directory / "Chart.yaml").write_text("apiVersion: v2\nname: webapp\nversion: 0.3.1\nappVersion: \"1.4.2\"\n")
    (directory / "templates" / "cm.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-settings
        data:
          greeting: hello
        """))
    return directory


def write_old_helm(path, real_helm, log):
    """A helm that says it is 3.12.0 and logs every call (proves no upgrade was attempted)."""
    path.write_text(textwrap.dedent("""\
        #!/bin/sh
        printf '%%s\\n' "$*" >> '%s'
        if [ "$1" = version ]; then echo v3.12.0; exit 0; fi
        exec '%s' "$@"
        """ % (log, real_helm)))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def scenario(make_harness, tmp_path_factory):
    harness = make_harness(CLUSTERS)
    tmp = tmp_path_factory.mktemp("bad-input")
    markers = tmp / "markers"
    markers.mkdir()

    # A release of another chart next to the Milvus one.
    chart = write_foreign_chart(tmp / "webapp")
    harness.fleet.helm("install", "web", str(chart), "--namespace", "web", "--create-namespace", cluster=SHARED)

    # Stored values full of shell metacharacters and a Jinja payload, as an operator's earlier upgrade left them.
    evil_text = ("# $(touch {m}/dollar) `touch {m}/backtick`; touch {m}/semicolon && rm -rf {m} | tee {m}/pipe\n"
                 "common:\n  security:\n    authorizationEnabled: false\n").format(m=markers)
    evil = {
        "extraConfigFiles": {"user.yaml": evil_text},
        "operatorNote": "'; touch %s/quote; echo '" % markers,
        "templated": "{{ lookup('ansible.builtin.pipe', 'touch %s/jinja') }}" % markers,
    }
    evil_file = tmp / "evil-values.yaml"
    evil_file.write_text(yaml.safe_dump(evil))
    harness.fleet.helm("upgrade", "rel", "fixture/milvus", "--version", "4.2.58", "--namespace", "milvus",
                       "--reuse-values", "--values", str(evil_file), cluster="evil-values")
    harness.fleet.wait_ready("evil-values", timeout=120)

    # Bad kubeconfigs, a helm too old, a port that refuses connections for the whole run.
    garbage = tmp / "garbage.kubeconfig"
    garbage.write_text(": : [\nthis is not a kubeconfig\n")
    kubeconfig_dir = tmp / "kubeconfig.d"
    kubeconfig_dir.mkdir()
    unreadable = tmp / "unreadable.kubeconfig"
    unreadable.write_text(harness.fleet.kubeconfig.read_text())
    unreadable.chmod(0)
    old_helm_log = tmp / "old-helm.log"
    old_helm = write_old_helm(tmp / "old-helm", harness.fleet.helm_binary, old_helm_log)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))   # bound, never listening: connections are refused
    closed_url = "http://127.0.0.1:%d" % closed.getsockname()[1]

    base = yaml.safe_load(harness.inventory().read_text())["all"]["hosts"]
    hosts = {}
    for name, _, extra in OWN_CLUSTER:
        hosts[name] = dict(base[name], **extra)
    hosts["helm-old"]["milvus_helm_binary"] = str(old_helm)

    def on_shared(**extra):
        host = dict(base[SHARED])
        host.update(extra)
        return dict((k, v) for k, v in host.items() if v is not None)

    hosts.update({
        "missing-kubeconfig": on_shared(milvus_kubeconfig=str(tmp / "no-such.kubeconfig")),
        "garbage-kubeconfig": on_shared(milvus_kubeconfig=str(garbage)),
        "kubeconfig-is-a-dir": on_shared(milvus_kubeconfig=str(kubeconfig_dir)),
        "unknown-context": on_shared(milvus_kube_context="no-such-context"),
        # the kubeconfig's context works; the explicit API URL must win and be refused
        "unreachable-host": on_shared(milvus_kube_host=closed_url),
        "wrong-namespace": on_shared(milvus_namespace="milvus-prod"),
        "release-not-found": on_shared(milvus_release="vectors"),
        "foreign-chart": on_shared(milvus_release="web", milvus_namespace="web"),
        "metachar-namespace": on_shared(milvus_namespace="milvus;touch %s/namespace" % markers),
        "metachar-release": on_shared(milvus_release="rel$(touch %s/release)`touch %s/release2`" % (markers, markers)),
        "bad-wait-timeout": on_shared(milvus_wait_timeout="abc"),
        "bad-mq-choice": on_shared(milvus_message_queue="rabbitmq"),
        "bad-bool": on_shared(milvus_allow_statefulset_removal="maybe"),
        "missing-release-var": on_shared(milvus_release=None),
        # misspelled: Ansible cannot know it is meant as milvus_upgrade_confirm (see the test)
        "misspelled-confirm": on_shared(milvus_upgrade_confrim=True),
    })
    if os.geteuid() != 0:   # root reads a mode-000 file, so this case only means something for other users
        hosts["unreadable-kubeconfig"] = on_shared(milvus_kubeconfig=str(unreadable))
    # Confirmed per host (not with -e, which would override the misspelled host too).
    for name, host in hosts.items():
        if name != "misspelled-confirm":
            host["milvus_upgrade_confirm"] = True
    groups = {"slow": [name for name in hosts if name in SLOW], "fast": [name for name in hosts if name not in SLOW]}
    inventories = {}
    for group, names in groups.items():
        inventories[group] = tmp / ("inventory-%s.yml" % group)
        inventories[group].write_text(yaml.safe_dump({"all": {"hosts": dict((n, hosts[n]) for n in names), "children": {
            "milvus_clusters": {"hosts": dict((name, {}) for name in names)}}}}))

    before = snapshot(harness)
    history = dict((name, revisions(harness, name)) for name, _ in CLUSTERS)
    web_history = revisions(harness, SHARED, "web", "web")
    try:
        started = dict((group, harness.start_playbook("upgrade", "--forks", str(len(hosts)), inventory=inventory))
                       for group, inventory in inventories.items())
        finished = dict((group, harness.finish_playbook(*started[group])) for group in ("fast", "slow"))
    finally:
        closed.close()
    runs = dict((name, finished[group]) for group, names in groups.items() for name in names)
    return dict(harness=harness, runs=runs, before=before, after=snapshot(harness), history=history,
                web_history=web_history, markers=markers, evil_text=evil_text, closed_url=closed_url,
                old_helm_log=old_helm_log, hosts=hosts, tmp=tmp)


def failed(scenario, host):
    report = scenario["runs"][host].cluster_report(host)
    assert report["status"] == "failed", (host, report)
    assert report["error"], report
    return report["error"]


def assert_untouched(scenario, cluster):
    assert revisions(scenario["harness"], cluster) == scenario["history"][cluster], cluster
    before, after = scenario["before"][cluster], scenario["after"][cluster]
    assert sorted(set(after) - set(before)) == [], (cluster, "objects appeared")
    assert sorted(set(before) - set(after)) == [], (cluster, "objects disappeared")
    assert [key for key in before if before[key] != after[key]] == [], (cluster, "objects changed")


# -- how to reach the cluster --

def test_missing_kubeconfig(scenario):
    error = failed(scenario, "missing-kubeconfig")
    path = scenario["hosts"]["missing-kubeconfig"]["milvus_kubeconfig"]
    assert "cluster missing-kubeconfig" in error and path in error, error
    assert "does not exist" in error and "milvus_kubeconfig" in error, error


def test_kubeconfig_that_is_not_yaml(scenario):
    error = failed(scenario, "garbage-kubeconfig")
    assert "cluster garbage-kubeconfig" in error, error
    assert "cannot read kubeconfig %s" % scenario["hosts"]["garbage-kubeconfig"]["milvus_kubeconfig"] in error, error
    assert "valid kubeconfig" in error, error


def test_kubeconfig_that_is_a_directory(scenario):
    error = failed(scenario, "kubeconfig-is-a-dir")
    assert "cluster kubeconfig-is-a-dir" in error and "is not a file" in error, error


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a mode-000 file")
def test_unreadable_kubeconfig(scenario):
    error = failed(scenario, "unreadable-kubeconfig")
    assert "cluster unreadable-kubeconfig" in error and "Permission denied" in error, error


def test_unknown_context(scenario):
    error = failed(scenario, "unknown-context")
    assert "cluster unknown-context" in error and "no-such-context" in error, error
    assert "get-contexts" in error, error


def test_unreachable_api_host_wins_over_the_kubeconfig(scenario):
    # The kubeconfig's own context reaches a healthy cluster; the explicit milvus_kube_host must be used
    # (by the Python client and by helm alike), and it refuses connections.
    error = failed(scenario, "unreachable-host")
    assert "cluster unreachable-host" in error, error
    assert "cannot reach the Kubernetes API at %s" % scenario["closed_url"] in error, error
    assert "Connection refused" in error and "milvus_kube_host" in error, error


def test_wrong_namespace(scenario):
    error = failed(scenario, "wrong-namespace")
    assert "cluster wrong-namespace" in error and "milvus-prod" in error and "not found" in error, error
    assert "milvus-prod" not in [key[1] for key in scenario["after"][SHARED]]   # nothing created there


def test_release_not_found(scenario):
    error = failed(scenario, "release-not-found")
    assert "cluster release-not-found: release vectors in namespace milvus" in error, error
    assert "not found" in error and "helm list -A" in error, error


def test_release_of_another_chart(scenario):
    error = failed(scenario, "foreign-chart")
    assert "cluster foreign-chart: release web in namespace web" in error, error
    assert "'webapp'" in error and "not the Milvus chart" in error and "milvus_release" in error, error


# -- what to upgrade to --

@pytest.mark.parametrize("host,value,why", [
    ("target-latest", "latest", "a moving tag"),
    ("target-short", "2.6", "not a full MAJOR.MINOR.PATCH version"),
    ("target-four-parts", "v2.6.4.1", "four version components"),
    ("target-empty", "", "empty Milvus image tag"),
])
def test_invalid_target_version(scenario, host, value, why):
    error = failed(scenario, host)
    assert "cluster %s: release rel in namespace milvus" % host in error, error
    assert "invalid upgrade option target_version %r" % value in error and why in error, error
    assert "Set milvus_target_version to a released version such as v2.6.4" in error, error
    assert_untouched(scenario, host)


def test_target_below_the_running_2_5_is_refused(scenario):
    # v2.5.12 on a 2.5.16 cluster is not a 2.6 target at all: a blocker, never a downgrade
    error = failed(scenario, "target-2-5")
    assert "cluster target-2-5" in error and "target_version v2.5.12 must be a 2.6.x release" in error, error
    assert_untouched(scenario, "target-2-5")


def test_target_below_the_running_2_6_is_up_to_date(scenario):
    # v2.6.2 on a 2.6.4 cluster: nothing to do, said so, and nothing done (no hop, no downgrade)
    report = scenario["runs"]["target-below-running"].cluster_report("target-below-running")
    assert report["status"] == "up_to_date", report
    assert report["planned_hops"] == [] and report["hops_applied"] == [], report
    assert any("newer than the target 2.6.2: nothing to do (never a downgrade)" in w for w in report["warnings"]), report
    assert_untouched(scenario, "target-below-running")


# -- tools and overrides --

def test_helm_missing(scenario):
    error = failed(scenario, "helm-missing")
    assert "cluster helm-missing" in error and "/nonexistent/bin/helm" in error, error
    assert "not found on the controller" in error and "3.14.0" in error, error
    assert_untouched(scenario, "helm-missing")


def test_helm_older_than_3_14(scenario):
    error = failed(scenario, "helm-old")
    assert "cluster helm-old" in error and "helm 3.12.0 is older than the required 3.14.0" in error, error
    assert "install a newer helm" in error, error
    calls = scenario["old_helm_log"].read_text().splitlines()
    assert calls and not [call for call in calls if call.startswith("upgrade")], calls
    assert_untouched(scenario, "helm-old")


def test_message_queue_override_contradicting_the_configmap(scenario):
    error = failed(scenario, "mq-contradicts")
    assert "cluster mq-contradicts" in error, error
    assert "message_queue=kafka was given but the Milvus ConfigMap configures pulsar-v3" in error, error
    assert "it must match the Milvus ConfigMap" in error, error
    assert_untouched(scenario, "mq-contradicts")


# -- role variables (argument_specs) --

@pytest.mark.parametrize("host,words", [
    ("bad-wait-timeout", ["milvus_wait_timeout", "abc", "cannot be converted to an int"]),
    ("bad-mq-choice", ["milvus_message_queue", "must be one of", "rabbitmq"]),
    ("bad-bool", ["milvus_allow_statefulset_removal", "maybe", "not a valid boolean"]),
    ("missing-release-var", ["missing required arguments: milvus_release"]),
])
def test_mistyped_role_variable_is_refused_before_anything_runs(scenario, host, words):
    # argument_specs validation runs before the role's first task: the error is Ansible's, on the host's
    # `fatal: [host]` line; no cluster report is written because the role never started.
    run = scenario["runs"][host]
    lines = [line for line in run.output.splitlines() if line.startswith("fatal: [%s]" % host)]
    assert lines, run.output[-3000:]
    for word in words:
        assert word in lines[0], (word, lines[0][:600])
    assert "Validation of arguments failed" in run.output
    assert not (run.report_dir / "clusters" / ("%s.json" % host)).exists()
    assert run.recap()[host]["failed"] == 1 and run.recap()[host]["ok"] == 0, run.recap()[host]


def test_misspelled_variable_name_is_invisible_to_ansible_and_changes_nothing(scenario):
    # Unknown variable names are just variables to Ansible: argument_specs only validates declared options.
    # A misspelled milvus_upgrade_confirm therefore leaves the default (false): the cluster only shows its
    # plan and waits for confirmation (the shared cluster is asserted untouched below).
    report = scenario["runs"]["misspelled-confirm"].cluster_report("misspelled-confirm")
    assert report["status"] == "awaiting_confirmation", report
    assert report["hops_applied"] == []


# -- shell metacharacters: nothing ever runs through a shell --

def test_metacharacters_in_namespace_and_release_execute_nothing(scenario):
    # refused by name before anything reaches a cluster (no lock, no helm, no API call)
    for host, variable in (("metachar-namespace", "milvus_namespace"), ("metachar-release", "milvus_release")):
        error = failed(scenario, host)
        assert "cluster %s:" % host in error and json.dumps(scenario["hosts"][host][variable]) in error, error
        assert "not a valid Helm release name" in error and "Fix the inventory; nothing was changed" in error, error
        assert scenario["runs"][host].cluster_report(host)["failed_task"] == "Check the release and namespace names"
    assert sorted(os.listdir(scenario["markers"])) == []


def test_stored_values_with_metacharacters_come_through_verbatim_and_execute_nothing(scenario):
    # also the control of this file: a good host of the same run is upgraded, the failures are the inputs'
    assert all(run.rc != 0 for run in scenario["runs"].values())
    report = scenario["runs"]["evil-values"].cluster_report("evil-values")
    assert report["status"] == "upgraded", report
    values = scenario["harness"].helm_json("evil-values", "get", "values", "rel")
    assert values["extraConfigFiles"]["user.yaml"] == scenario["evil_text"]
    assert values["operatorNote"].startswith("'; touch ") and values["templated"].startswith("{{ lookup(")
    assert values["image"]["all"]["tag"] == "v2.6.4"
    configmap = scenario["harness"].objects("evil-values", "ConfigMap")["rel-milvus"]
    assert scenario["evil_text"].strip() in configmap["data"]["user.yaml"]
    assert sorted(os.listdir(scenario["markers"])) == []


# -- and above all: no change on any cluster but the control --

def test_no_change_on_any_cluster(scenario):
    for name, _ in CLUSTERS:
        if name != "evil-values":
            assert_untouched(scenario, name)
    assert revisions(scenario["harness"], SHARED, "web", "web") == scenario["web_history"]
    for name, _ in CLUSTERS:   # no upgrade lock left behind anywhere
        leases = [key for key in scenario["after"][name] if key[0] == "Lease"]
        assert leases == [], (name, leases)

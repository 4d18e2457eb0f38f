# -*- coding: utf-8 -*-
"""plugins/module_utils/helm.py: the exact helm argument lists and how helm's answers are read."""
from __future__ import absolute_import, division, print_function

import json

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import helm as helm_module
from ansible_collections.milvusops.cluster.plugins.module_utils.helm import (
    Helm, HelmError, NotHelm, ReleaseNotFound, chart_arguments, client_side_openapi_check, parse_helm_version,
    pull_arguments, upgrade_arguments)

REPO = "https://zilliztech.github.io/milvus-helm"
ENV = {"KUBECONFIG": "/etc/kube/eu.yaml", "HELM_KUBECONTEXT": "prod-eu-1", "HELM_KUBETOKEN": "s3cr3t-token"}
FORBIDDEN = ("--install", "-i", "--atomic", "--wait", "--wait-for-jobs", "--reuse-values", "--reset-values",
             "--force")


class FakeRun(object):
    """A stand-in for AnsibleModule.run_command: records calls, answers from a queue of (rc, out, err)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, args, environ_update=None):
        self.calls.append({"args": list(args), "env": environ_update})
        if not self.answers:
            raise AssertionError("unexpected helm call: %s" % args)
        return self.answers.pop(0)


def helm_with(*answers):
    run = FakeRun(*answers)
    return Helm(run, "/usr/local/bin/helm", ENV, inherited_environment={}), run


# -- upgrade_arguments ------------------------------------------------------------------------

def test_upgrade_arguments_plain_chart_name_exact_list():
    args = upgrade_arguments("vectors", "milvus", "milvus", "4.2.58", "/tmp/x/values.json", repo_url=REPO,
                             timeout="10m", description="milvusops.cluster: hop mixcoord to chart 4.2.58")
    assert args == [
        "upgrade", "vectors", "milvus", "--repo", REPO,
        "--namespace", "milvus",
        "--version", "4.2.58",
        "--reset-then-reuse-values",
        "--values", "/tmp/x/values.json",
        "--timeout", "10m",
        "--description", "milvusops.cluster: hop mixcoord to chart 4.2.58",
        "--disable-openapi-validation",
        "--output", "json",
    ]


def test_upgrade_arguments_minimal_without_timeout_description_or_repo():
    args = upgrade_arguments("rel", "ns", "milvus", "5.0.0", "v.json")
    assert args == ["upgrade", "rel", "milvus", "--namespace", "ns", "--version", "5.0.0",
                    "--reset-then-reuse-values", "--values", "v.json", "--disable-openapi-validation", "--output", "json"]


@pytest.mark.parametrize("chart_ref", [
    "oci://registry.internal/charts/milvus",
    "/srv/charts/milvus",
    "./charts/milvus",
    "../milvus",
    "~/charts/milvus",
    "milvus-4.2.58.tgz",
])
def test_upgrade_arguments_paths_and_oci_refs_never_get_repo(chart_ref):
    args = upgrade_arguments("rel", "ns", chart_ref, "4.2.58", "v.json", repo_url=REPO)
    assert "--repo" not in args
    assert REPO not in args
    assert args[:3] == ["upgrade", "rel", chart_ref]


def test_chart_arguments():
    assert chart_arguments("milvus", REPO) == ["milvus", "--repo", REPO]
    assert chart_arguments("milvus", None) == ["milvus"]
    assert chart_arguments("milvus", "") == ["milvus"]
    assert chart_arguments("oci://r/milvus", REPO) == ["oci://r/milvus"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_upgrade_arguments_never_carry_forbidden_flags(dry_run):
    args = upgrade_arguments("rel", "ns", "milvus", "5.0.0", "v.json", repo_url=REPO, timeout="5m",
                             description="d", dry_run=dry_run)
    for flag in FORBIDDEN:
        assert flag not in args
    assert not [a for a in args if a.startswith(("--install", "--atomic", "--wait", "--reuse-values",
                                                 "--reset-values"))]
    assert args.count("--reset-then-reuse-values") == 1
    assert args[args.index("--version") + 1] == "5.0.0"
    assert args[args.index("--values") + 1] == "v.json"


def test_helms_openapi_check_runs_only_when_asked_for():
    for dry_run in (False, True):
        skipped = upgrade_arguments("rel", "ns", "milvus", "5.0.0", "v.json", dry_run=dry_run)
        assert skipped[-3:] == ["--disable-openapi-validation", "--output", "json"]
        checked = upgrade_arguments("rel", "ns", "milvus", "5.0.0", "v.json", dry_run=dry_run, openapi_check=True)
        assert "--disable-openapi-validation" not in checked
        assert checked == [arg for arg in skipped if arg != "--disable-openapi-validation"]


# ServerSideFieldValidation and OpenAPI v3 are GA (locked on) from 1.27: helm's check defers to the server there
@pytest.mark.parametrize("kube_version, worth_it", [
    ("1.20.0", True), ("v1.26.15", True), ("1.26.15-eks-adc7111", True), ("v1.26", True),
    ("1.27.0", False), ("v1.27.16-gke.1287000", False), ("v1.30.1+k3s1", False), ("v1.37.2", False), ("2.0.0", False),
    # unknown: the check runs, to be safe
    ("", True), (None, True), ("garbage", True),
])
def test_the_client_side_openapi_check_runs_only_before_the_server_validates_fields(kube_version, worth_it):
    assert client_side_openapi_check(kube_version) is worth_it


def test_upgrade_arguments_dry_run_renders_on_server_as_json():
    args = upgrade_arguments("rel", "ns", "milvus", "5.0.0", "v.json", dry_run=True, openapi_check=True)
    assert args[-3:] == ["--dry-run=server", "--output", "json"]
    assert "--dry-run" not in args  # the bare (client) dry run would not consult the server
    assert "--dry-run=client" not in args
    plain = upgrade_arguments("rel", "ns", "milvus", "5.0.0", "v.json")
    assert not [a for a in plain if a.startswith("--dry-run")]
    assert plain[-2:] == ["--output", "json"]     # the applied release tells its new revision


def test_upgrade_returns_the_release_and_repeats_only_the_dry_run():
    release = {"name": "rel", "version": 7, "info": {"status": "deployed"}}
    helm, run = helm_with((0, json.dumps(release), ""))
    assert helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json")["version"] == 7
    helm, run = helm_with((0, "Release \"rel\" has been upgraded.", ""))   # no JSON: the caller reads history
    assert helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json") is None
    busy = (1, "", "Error: the server is currently unable to handle the request")
    helm, run = helm_with(busy, (0, json.dumps(release), ""))
    with pytest.raises(HelmError):                # a real upgrade is never repeated here
        helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json")
    assert len(run.calls) == 1


# -- Helm.run and the environment -------------------------------------------------------------

def test_run_prefixes_binary_and_passes_environment():
    helm, run = helm_with((0, "ok\n", ""))
    assert helm.run(["status", "rel"]) == "ok\n"
    assert run.calls == [{"args": ["/usr/local/bin/helm", "status", "rel"], "env": dict(ENV, GOMAXPROCS="1")}]


def test_environment_is_a_copy_not_the_callers_dict():
    env = {"HELM_KUBECONTEXT": "a"}
    helm = Helm(FakeRun(), "helm", env, inherited_environment={"GOMAXPROCS": "4"})
    env["HELM_KUBECONTEXT"] = "b"
    assert helm.environment == {"HELM_KUBECONTEXT": "a"}


def test_helm_runs_single_threaded_go_unless_the_environment_says_otherwise():
    assert helm_module.go_runtime_environment({}) == {"GOMAXPROCS": "1"}
    assert helm_module.go_runtime_environment({"PATH": "/bin"}) == {"GOMAXPROCS": "1"}
    # an operator's own GOMAXPROCS (inherited by helm through the module's environment) is left alone
    assert helm_module.go_runtime_environment({"GOMAXPROCS": "8"}) == {}
    assert Helm(FakeRun(), "helm", {}, inherited_environment={"GOMAXPROCS": "8"}).environment == {}


def test_helm_reads_the_inherited_environment_from_the_process_by_default(monkeypatch):
    monkeypatch.delenv("GOMAXPROCS", raising=False)
    assert Helm(FakeRun(), "helm", {"HELM_KUBECONTEXT": "a"}).environment == {
        "HELM_KUBECONTEXT": "a", "GOMAXPROCS": "1"}
    monkeypatch.setenv("GOMAXPROCS", "3")
    assert Helm(FakeRun(), "helm", {"HELM_KUBECONTEXT": "a"}).environment == {"HELM_KUBECONTEXT": "a"}


def test_environment_passed_on_every_call_and_token_never_in_args():
    history = f.history([("deployed", "4.2.20", "2.4.16", "Install complete")])
    helm, run = helm_with(
        (0, "v3.17.3", ""),
        (0, json.dumps(history), ""),
        (0, "{}", ""),
        (0, "---\nkind: Service\n", ""),
        (0, json.dumps({"name": "rel", "manifest": ""}), ""),
        (0, "Release \"rel\" has been upgraded.", ""),
    )
    helm.version()
    helm.history("rel", "milvus")
    helm.get_values("rel", "milvus")
    helm.get_manifest("rel", "milvus")
    helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json", repo_url=REPO, dry_run=True)
    helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json", repo_url=REPO)
    assert len(run.calls) == 6
    for call in run.calls:
        assert call["env"] == dict(ENV, GOMAXPROCS="1")
        assert call["args"][0] == "/usr/local/bin/helm"
        assert not [a for a in call["args"] if "s3cr3t-token" in a]


def test_failure_raises_helm_error_with_stderr_and_command():
    helm, run = helm_with((1, "", "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in "
                                  "progress\n"))
    with pytest.raises(HelmError) as info:
        helm.run(["upgrade", "rel"])
    exc = info.value
    assert not isinstance(exc, ReleaseNotFound)
    assert exc.rc == 1
    assert exc.stderr == "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"
    assert exc.command == ["/usr/local/bin/helm", "upgrade", "rel"]
    assert "another operation" in str(exc)
    assert "rc=1" in str(exc)
    assert exc.unreachable is False


def test_failure_message_falls_back_to_stdout_when_stderr_empty():
    helm, run = helm_with((2, "something on stdout", ""))
    with pytest.raises(HelmError) as info:
        helm.run(["get", "values"])
    assert "something on stdout" in str(info.value)


def test_unreachable_cluster_is_recognised(monkeypatch):
    monkeypatch.setattr(helm_module, "READ_RETRY_SECONDS", 0)  # one answer only: no repeat
    helm, run = helm_with((1, "", "Error: Kubernetes cluster unreachable: Get \"https://10.0.0.1:6443/version\": "
                                  "dial tcp 10.0.0.1:6443: connect: connection refused"))
    with pytest.raises(HelmError) as info:
        helm.version()
    assert info.value.unreachable is True


# -- history ----------------------------------------------------------------------------------

def test_history_arguments_and_rows():
    rows = f.history([("superseded", "4.2.20", "2.4.16", "Install complete"),
                      ("deployed", "4.2.58", "2.5.16", "milvusops.cluster: hop mixcoord to chart 4.2.58")])
    helm, run = helm_with((0, json.dumps(rows), ""))
    assert helm.history("vectors", "milvus") == rows
    assert run.calls[0]["args"] == ["/usr/local/bin/helm", "history", "vectors", "--namespace", "milvus",
                                    "--max", "20", "--output", "json"]


def test_history_max_revisions():
    helm, run = helm_with((0, "[]", ""))
    assert helm.history("rel", "ns", max_revisions=5) == []
    assert run.calls[0]["args"][run.calls[0]["args"].index("--max") + 1] == "5"


def test_history_of_a_missing_release_is_none():
    helm, run = helm_with((1, "", "Error: release: not found\n"))
    assert helm.history("ghost", "milvus") is None
    assert len(run.calls) == 1


def test_history_other_failure_raises_with_stderr(monkeypatch):
    monkeypatch.setattr(helm_module, "READ_RETRY_SECONDS", 0)
    stderr = "Error: Kubernetes cluster unreachable: Get \"https://api:6443/version\": i/o timeout"
    helm, run = helm_with((1, "", stderr))
    with pytest.raises(HelmError) as info:
        helm.history("rel", "milvus")
    assert not isinstance(info.value, ReleaseNotFound)
    assert info.value.stderr == stderr
    assert "i/o timeout" in str(info.value)


def test_history_forbidden_is_an_error_not_a_missing_release():
    stderr = ('Error: query: failed to query with labels: secrets is forbidden: User "system:serviceaccount:ci:x" '
              'cannot list resource "secrets" in API group "" in the namespace "milvus"')
    helm, run = helm_with((1, "", stderr))
    with pytest.raises(HelmError) as info:
        helm.history("rel", "milvus")
    assert "forbidden" in info.value.stderr


def test_run_json_rejects_non_json():
    helm, run = helm_with((0, "WARNING: kubeconfig is group-readable\n[]", ""))
    with pytest.raises(HelmError) as info:
        helm.history("rel", "milvus")
    assert "not JSON" in str(info.value)


# -- version ----------------------------------------------------------------------------------

@pytest.mark.parametrize("out,expected", [("v3.17.3", "3.17.3"), ("v3.14.0\n", "3.14.0"), ("3.15.1", "3.15.1")])
def test_version_strips_the_v(out, expected):
    helm, run = helm_with((0, out, ""))
    assert helm.version() == expected
    assert run.calls[0]["args"] == ["/usr/local/bin/helm", "version", "--template", "{{.Version}}"]


# -- get values / manifest --------------------------------------------------------------------

def test_get_values_user_supplied():
    helm, run = helm_with((0, json.dumps({"image": {"all": {"tag": "v2.5.10"}}}), ""))
    assert helm.get_values("rel", "milvus") == {"image": {"all": {"tag": "v2.5.10"}}}
    assert run.calls[0]["args"] == ["/usr/local/bin/helm", "get", "values", "rel", "--namespace", "milvus",
                                    "--output", "json"]


def test_get_values_all_and_revision_flags():
    values = f.all_values()
    helm, run = helm_with((0, json.dumps(values), ""))
    assert helm.get_values("rel", "milvus", all_values=True, revision=3) == values
    assert run.calls[0]["args"] == ["/usr/local/bin/helm", "get", "values", "rel", "--namespace", "milvus",
                                    "--all", "--revision", "3", "--output", "json"]


@pytest.mark.parametrize("out", ["null", "null\n", ""])
def test_get_values_none_stored_is_empty_dict(out):
    # `helm get values -o json` of a release installed without values prints null
    helm, run = helm_with((0, out, ""))
    assert helm.get_values("rel", "milvus") == {}


def test_get_manifest_arguments():
    helm, run = helm_with((0, "---\nkind: Service\n", ""), (0, "", ""))
    assert helm.get_manifest("rel", "milvus") == "---\nkind: Service\n"
    helm.get_manifest("rel", "milvus", revision=2)
    assert run.calls[0]["args"] == ["/usr/local/bin/helm", "get", "manifest", "rel", "--namespace", "milvus"]
    assert run.calls[1]["args"] == ["/usr/local/bin/helm", "get", "manifest", "rel", "--namespace", "milvus",
                                    "--revision", "2"]


# -- upgrade ----------------------------------------------------------------------------------

def test_upgrade_dry_run_returns_parsed_release():
    release = {"name": "rel", "namespace": "milvus", "version": 4, "info": {"status": "pending-upgrade"},
               "manifest": "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: rel-milvus\n"}
    helm, run = helm_with((0, json.dumps(release), ""))
    assert helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json", repo_url=REPO, dry_run=True) == release
    args = run.calls[0]["args"]
    assert args[0] == "/usr/local/bin/helm"
    assert args[1:] == upgrade_arguments("rel", "milvus", "milvus", "5.0.0", "v.json", repo_url=REPO, dry_run=True)


def test_upgrade_dry_run_without_json_is_an_error():
    helm, run = helm_with((0, "Release \"rel\" has been upgraded. Happy Helming!", ""))
    with pytest.raises(HelmError) as info:
        helm.upgrade("rel", "milvus", "milvus", "5.0.0", "v.json", dry_run=True)
    assert "--dry-run=server" in str(info.value)


def test_upgrade_real_returns_the_release_and_has_no_dry_run():
    helm, run = helm_with((0, json.dumps({"name": "rel", "version": 4}), ""))
    out = helm.upgrade(release="rel", namespace="milvus", chart_ref="milvus", version="4.2.58",
                       values_file="v.json", repo_url=REPO, timeout="10m", description="milvusops.cluster: hop x")
    assert out == {"name": "rel", "version": 4}
    args = run.calls[0]["args"]
    assert not [a for a in args if a.startswith("--dry-run")]
    assert args[args.index("--description") + 1] == "milvusops.cluster: hop x"


def test_upgrade_failure_raises_with_stderr():
    stderr = "Error: UPGRADE FAILED: cannot patch \"rel-pulsar-bookie\" with kind StatefulSet: field is immutable"
    helm, run = helm_with((1, "", stderr))
    with pytest.raises(HelmError) as info:
        helm.upgrade("rel", "milvus", "milvus", "4.2.58", "v.json")
    assert info.value.stderr == stderr
    assert "field is immutable" in str(info.value)


# -- retries of passing API failures ------------------------------------------------------------

SERVER_ERROR = ("Error: an error on the server (\"Internal Server Error\") has prevented the request from "
                "succeeding (get secrets)")


def test_reads_are_repeated_through_a_passing_server_error(monkeypatch):
    monkeypatch.setattr(helm_module.time, "sleep", lambda seconds: None)
    helm, run = helm_with((1, "", SERVER_ERROR), (1, "", SERVER_ERROR), (0, "[]", ""))
    assert helm.history("rel", "milvus") == []
    assert len(run.calls) == 3


def test_reads_give_up_after_the_retry_budget(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(helm_module.time, "time", lambda: clock[0])
    monkeypatch.setattr(helm_module.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    helm, run = helm_with(*[(1, "", SERVER_ERROR)] * 100)
    with pytest.raises(HelmError) as info:
        helm.get_values("rel", "milvus")
    assert info.value.transient
    assert 3 < len(run.calls) < 30  # repeated with growing delays for READ_RETRY_SECONDS, then given up


def test_permanent_errors_and_real_upgrades_are_not_repeated(monkeypatch):
    monkeypatch.setattr(helm_module.time, "sleep", lambda seconds: None)
    helm, run = helm_with((1, "", "Error: release: not found"))
    assert helm.history("rel", "milvus") is None
    assert len(run.calls) == 1
    helm, run = helm_with((1, "", SERVER_ERROR), (0, "ok", ""))
    with pytest.raises(HelmError):
        helm.upgrade("rel", "milvus", "milvus", "4.2.58", "/tmp/v.json")
    assert len(run.calls) == 1  # a real upgrade is only repeated by the hop module, after checking the release


def test_a_helm_failure_without_any_message_is_repeated(monkeypatch):
    monkeypatch.setattr(helm_module.time, "sleep", lambda seconds: None)
    helm, run = helm_with((1, "", ""), (1, "", "Error: release: not found"))
    assert helm.history("rel", "milvus") is None
    assert len(run.calls) == 2


# -- is it helm, and does the chart resolve --------------------------------------------------

@pytest.mark.parametrize("out", ["", "\n", "hello", "Version: 3.17.3", "{{.Version}}", "v3.17", "3.17.3 extra",
                                 "usage: fake [options]"])
def test_a_binary_whose_version_output_is_not_helms_is_not_helm(out):
    helm, run = helm_with((0, out, ""))
    with pytest.raises(NotHelm) as info:
        helm.version()
    assert "/usr/local/bin/helm is not helm" in str(info.value)
    assert len(run.calls) == 1             # not repeated like an API outage
    assert not info.value.transient


@pytest.mark.parametrize("out,expected", [("v3.17.3", "3.17.3"), ("v3.18.0-rc.1", "3.18.0-rc.1"),
                                          ("v3.14.0+g1234abc", "3.14.0+g1234abc")])
def test_parse_helm_version_accepts_helm_versions(out, expected):
    assert parse_helm_version("helm", out) == expected


@pytest.mark.parametrize("repo,expected_tail", [
    (REPO, ["milvus", "--repo", REPO, "--version", "4.2.58"]),
    (None, ["milvus", "--version", "4.2.58"])])
def test_pull_arguments(repo, expected_tail):
    assert pull_arguments("milvus", "4.2.58", "/d", repo) == ["pull"] + expected_tail + ["--destination", "/d"]
    assert pull_arguments("oci://registry/charts/milvus", "4.2.58", "/d", REPO) == [
        "pull", "oci://registry/charts/milvus", "--version", "4.2.58", "--destination", "/d"]


@pytest.mark.parametrize("stderr", [
    'Error: looks like "http://127.0.0.1:1/charts" is not a valid chart repository or cannot be reached: '
    'Get "http://127.0.0.1:1/charts/index.yaml": dial tcp 127.0.0.1:1: connect: connection refused',
    'Error: chart "milvus" version "9.9.9" not found in http://127.0.0.1:8879 repository',
    'Error: failed to fetch http://127.0.0.1:8879/index.yaml : 404 Not Found',
    'Error: failed to download "milvus" at version "4.2.58"'])
def test_a_failing_chart_repository_fails_at_once_not_retried_like_an_api_outage(stderr, monkeypatch):
    monkeypatch.setattr(helm_module.time, "sleep", lambda seconds: (_ for _ in ()).throw(AssertionError("slept")))
    helm, run = helm_with((1, "", stderr))
    with pytest.raises(HelmError) as info:
        helm.pull("milvus", "4.2.58", REPO, "/d")
    assert info.value.repository and not info.value.transient
    assert len(run.calls) == 1


def test_a_read_through_a_passing_api_outage_is_retried(monkeypatch):
    monkeypatch.setattr(helm_module.time, "sleep", lambda seconds: None)
    helm, run = helm_with((1, "", "Error: Kubernetes cluster unreachable: connection refused"),
                          (0, '{"version": 3}', ""))
    helm.pull("milvus", "4.2.58", REPO, "/d")
    assert len(run.calls) == 2


@pytest.mark.parametrize("stderr", [
    'Error: UPGRADE FAILED: error validating "": error validating data: failed to download openapi: '
    'the server could not find the requested resource',
    "Error: UPGRADE FAILED: failed to download openapi: Get \"https://127.0.0.1:6443/openapi/v3\": EOF",
])
def test_the_api_servers_own_download_failures_are_an_outage_not_a_chart_repository(stderr):
    error = HelmError("helm upgrade failed", stderr=stderr)
    assert error.transient and not error.repository

"""AWX across a fleet, as AWX runs it: the custom credential type, job slices and their reports.

The credential type (extensions/awx/fleet_kubeconfig_credential_type.yml) is rendered the way AWX
renders injectors (a sandboxed Jinja environment, the file under `tower.filename.<name>`, the env
vars), for a kubeconfig with one context per cluster of a TLS fleet that requires a token. That
kubeconfig holds no CA, so TLS verification decides every run:

- slice 1 (awx_job_id 101, verification skipped in the credential): a host without
  milvus_kube_validate_certs follows the credential and is read; a host with
  milvus_kube_validate_certs=true in the inventory is refused by TLS verification;
- slice 2 (awx_job_id 102, the credential's default): a host without milvus_kube_validate_certs is
  refused by TLS verification; a host with milvus_kube_validate_certs=false is read.

Both slices write into one milvus_report_dir (a volume every slice mounts), each its own fleet report,
publish the fleet result with set_stats, and extensions/awx/merge_fleet_reports.py merges them.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.harness import ROOT, Run

# Simulator only: AWX's credential is rendered against clusters that demand their own TLS certificates and tokens.
pytestmark = pytest.mark.kubesim

TOKEN = "awx-fleet-token-%s" % secrets.token_hex(16)
FOLLOWS, INVENTORY_WINS = "follows-credential", "inventory-verifies"
VERIFIES, INVENTORY_SKIPS = "default-verifies", "inventory-skips"
CLUSTERS = [(name, "v2516-mixcoord") for name in (FOLLOWS, INVENTORY_WINS, VERIFIES, INVENTORY_SKIPS)]
CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "fleet_kubeconfig_credential_type.yml"
TLS_REFUSED = re.compile(r"certificate verify failed|CERTIFICATE_VERIFY_FAILED|x509|unknown authority", re.I)


def fleet_kubeconfig(fleet, names):
    """One context per cluster: server and token only (no CA), as a person would paste it."""
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": names[0],
        "clusters": [{"name": n, "cluster": {"server": fleet[n].url}} for n in names],
        "users": [{"name": n, "user": {"token": TOKEN}} for n in names],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in names],
    })


def inject(credential_type, inputs, folder):
    """What AWX gives a job for a credential of this type: (files written, environment)."""
    fields = dict((f["id"], f) for f in credential_type["inputs"]["fields"])
    assert set(inputs) <= set(fields)
    assert set(credential_type["inputs"].get("required", [])) <= set(inputs)
    jinja = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    filenames, files = {}, {}
    for key, template in credential_type["injectors"].get("file", {}).items():
        name = key.split(".", 1)[1]
        path = folder / ("credential-%s" % name)
        path.write_text(jinja.from_string(template).render(**inputs))
        os.chmod(str(path), 0o600)
        filenames[name], files[name] = str(path), path
    namespace = dict(inputs, tower={"filename": filenames})
    env = dict((key, jinja.from_string(template).render(**namespace))
               for key, template in credential_type["injectors"]["env"].items())
    return files, env


def custom_stats(output):
    """The run's set_stats data, from the default callback's CUSTOM STATS block."""
    match = re.search(r"^\s*RUN: (\{.*\})\s*$", output, re.M)
    assert match, output[-3000:]
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def scenario(make_harness, tmp_path_factory):
    harness = make_harness(CLUSTERS, tls=True, token=TOKEN)
    tmp = tmp_path_factory.mktemp("awx")
    credential_type = yaml.safe_load(CREDENTIAL_TYPE.read_text())
    names = [name for name, _ in CLUSTERS]
    kubeconfig = fleet_kubeconfig(harness.fleet, names)
    report_dir = tmp / "volume" / "milvus"
    base = yaml.safe_load(harness.inventory().read_text())["all"]["hosts"]

    def host(name, **extra):
        # the inventory names the context only: the kubeconfig and the TLS setting come from the credential
        settings = dict(base[name], milvus_kubeconfig="", milvus_kube_context=name)
        assert "milvus_kube_validate_certs" not in settings
        settings.update(extra)
        return settings

    slices = {
        "101": ({"kubeconfig": kubeconfig, "skip_tls_verify": True},
                {FOLLOWS: host(FOLLOWS), INVENTORY_WINS: host(INVENTORY_WINS, milvus_kube_validate_certs=True)}),
        "102": ({"kubeconfig": kubeconfig},
                {VERIFIES: host(VERIFIES), INVENTORY_SKIPS: host(INVENTORY_SKIPS, milvus_kube_validate_certs=False)}),
    }
    runs, envs = {}, {}
    for job, (inputs, hosts) in slices.items():
        folder = tmp / ("job-%s" % job)
        folder.mkdir()
        _, env_update = inject(credential_type, inputs, folder)
        envs[job] = env_update
        inventory = folder / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": {
            "milvus_clusters": {"hosts": dict((n, {}) for n in hosts)}}}}))
        command, env, _ = harness._command("preflight", [], {"milvus_report_dir": str(report_dir),
                                                             "awx_job_id": int(job)}, inventory)
        env.pop("KUBECONFIG")  # only what the credential injects reaches the cluster
        env.update(env_update)
        env["ANSIBLE_SHOW_CUSTOM_STATS"] = "true"
        started = time.monotonic()
        proc = subprocess.run(command, env=env, cwd=str(harness.workdir), capture_output=True, text=True,
                              timeout=600)
        runs[job] = Run(proc, report_dir, time.monotonic() - started)
    return dict(harness=harness, runs=runs, envs=envs, report_dir=report_dir, kubeconfig=kubeconfig)


def test_the_credential_injects_the_fleet_kubeconfig_as_a_private_file(scenario, tmp_path):
    credential_type = yaml.safe_load(CREDENTIAL_TYPE.read_text())
    fields = dict((f["id"], f) for f in credential_type["inputs"]["fields"])
    assert fields["kubeconfig"]["secret"] is True and fields["kubeconfig"]["multiline"] is True
    files, env = inject(credential_type, {"kubeconfig": scenario["kubeconfig"]}, tmp_path)
    assert env["K8S_AUTH_KUBECONFIG"] == str(files["kubeconfig"]) == env["KUBECONFIG"]
    assert yaml.safe_load(files["kubeconfig"].read_text())["contexts"] == yaml.safe_load(
        scenario["kubeconfig"])["contexts"]
    # verification stays on unless the credential says otherwise, whatever AWX does with an unset boolean
    assert env["K8S_AUTH_VERIFY_SSL"] == "true"
    assert scenario["envs"]["101"]["K8S_AUTH_VERIFY_SSL"] == "false"
    assert inject(credential_type, {"kubeconfig": "x", "skip_tls_verify": False}, tmp_path)[1][
        "K8S_AUTH_VERIFY_SSL"] == "true"


def test_a_host_without_validate_certs_follows_the_credential(scenario):
    run = scenario["runs"]["101"]
    report = run.cluster_report(FOLLOWS)
    assert report["status"] == "awaiting_confirmation", (report, run.output[-3000:])
    assert report["from_version"] == "2.5.16"


def test_the_inventory_validate_certs_wins_over_the_credential(scenario):
    run = scenario["runs"]["101"]
    report = run.cluster_report(INVENTORY_WINS)
    assert report["status"] == "failed", (report, run.output[-4000:])
    assert TLS_REFUSED.search(report["error"]), report["error"]
    run = scenario["runs"]["102"]
    report = run.cluster_report(INVENTORY_SKIPS)
    assert report["status"] == "awaiting_confirmation", (report, run.output[-4000:])


def test_the_credentials_default_verifies_certificates(scenario):
    report = scenario["runs"]["102"].cluster_report(VERIFIES)
    assert report["status"] == "failed"
    assert TLS_REFUSED.search(report["error"]), report["error"]


def test_each_slice_writes_its_own_fleet_report_and_publishes_it_with_set_stats(scenario):
    report_dir = scenario["report_dir"]
    assert sorted(p.name for p in report_dir.glob("fleet-report*")) == [
        "fleet-report-job101.json", "fleet-report-job101.txt", "fleet-report-job102.json", "fleet-report-job102.txt"]
    assert sorted(p.name for p in (report_dir / "clusters").iterdir()) == sorted(
        "%s.json" % name for name, _ in CLUSTERS)
    expected = {"101": {"awaiting_confirmation": [FOLLOWS], "failed": [INVENTORY_WINS]}, "102": {"awaiting_confirmation": [INVENTORY_SKIPS], "failed": [VERIFIES]}}
    for job, by_status in expected.items():
        fleet = json.loads((report_dir / ("fleet-report-job%s.json" % job)).read_text())
        assert sorted(c["cluster"] for c in fleet["clusters"]) == sorted(sum(by_status.values(), []))
        stats = custom_stats(scenario["runs"][job].output)
        assert stats["milvus_fleet"] == {"clusters": len(fleet["clusters"]), "by_status": by_status,
                                         "report": str(report_dir / ("fleet-report-job%s.json" % job))}
        assert sorted(stats["milvus_upgrade"]) == sorted(sum(by_status.values(), []))
        for name, result in stats["milvus_upgrade"].items():
            assert result == json.loads((report_dir / "clusters" / ("%s.json" % name)).read_text())


def test_the_documented_merge_gives_one_report_for_the_whole_fleet(scenario):
    report_dir = scenario["report_dir"]
    subprocess.run([sys.executable, str(ROOT / "extensions" / "awx" / "merge_fleet_reports.py"), str(report_dir)],
                   check=True, capture_output=True)
    merged = json.loads((report_dir / "fleet-report.json").read_text())
    assert merged["jobs"] == ["101", "102"]
    assert [(c["cluster"], c["job"], c["status"]) for c in merged["clusters"]] == sorted([
        (FOLLOWS, "101", "awaiting_confirmation"), (INVENTORY_WINS, "101", "failed"), (VERIFIES, "102", "failed"),
        (INVENTORY_SKIPS, "102", "awaiting_confirmation")])


def test_nothing_changed_on_any_cluster(scenario):
    harness = scenario["harness"]
    for name, _ in CLUSTERS:
        assert [row["revision"] for row in harness.history(name)] == [1], name

"""The ways real clusters authenticate, on the real control plane: an exec credential plugin (how EKS,
GKE, AKS and OIDC helpers hand out tokens), a client certificate with an API URL and no kubeconfig,
and KUBECONFIG naming several files. Each must reach the Python client and helm alike: the upgrade
reads with both before it changes anything, so a run that succeeds used the credential with each.
"""

import base64
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml

NAME = "auth"


@pytest.fixture(scope="module")
def harness(make_harness):
    harness = make_harness([(NAME, "v2516-kafka")])
    if harness.fleet.backend != "real":
        pytest.skip("needs the real control plane's ServiceAccount tokens and client certificates")
    return harness


def fleet_kubeconfig(harness):
    return yaml.safe_load(Path(harness.fleet.kubeconfig).read_text())


def write_private(path, text):
    path.write_text(text)
    path.chmod(0o600)
    return path


def exec_plugin(folder, token):
    """A credential plugin as cloud CLIs are: prints an ExecCredential, and logs which program asked."""
    log = folder / "exec-calls.log"
    script = folder / "fake-cloud-auth"
    script.write_text("#!%s\n" % sys.executable + "\n".join([
        "import json, os, sys",
        "caller = open('/proc/%d/cmdline' % os.getppid(), 'rb').read().split(b'\\0')[0].decode()",
        "open(%r, 'a').write(os.path.basename(caller) + '\\n')" % str(log),
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',",
        "                  'status': {'token': %r}}))" % token,
    ]) + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_an_exec_credential_plugin_serves_the_client_and_helm(harness, tmp_path):
    config = fleet_kubeconfig(harness)
    token = config["users"][0]["user"].pop("token")
    script, log = exec_plugin(tmp_path, token)
    config["users"][0]["user"]["exec"] = {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script),
                                          "interactiveMode": "Never"}
    kubeconfig = write_private(tmp_path / "exec.kubeconfig", yaml.safe_dump(config))
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True, "milvus_kubeconfig": str(kubeconfig)})
    assert run.rc == 0, run.output
    assert run.cluster_report(NAME)["status"] == "upgraded"
    assert harness.history(NAME)[-1]["chart"] == "milvus-5.0.0"
    callers = set(log.read_text().split())
    assert "helm" in callers, callers                        # helm ran the plugin itself
    assert callers - {"helm"}, callers                      # and so did the modules' Python client


def test_a_client_certificate_with_an_api_url_and_no_kubeconfig(harness, tmp_path):
    plane = harness.fleet.plane
    user = plane.admin_user()
    cert = write_private(tmp_path / "client.crt", base64.b64decode(user["client-certificate-data"]).decode())
    key = write_private(tmp_path / "client.key", base64.b64decode(user["client-key-data"]).decode())
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # no kubeconfig anywhere: what the run reaches, it reaches with the certificate; the modules' own
    # temporary files go to a folder of this test's, to see that helm's kubeconfig does not outlive them
    environment = {"KUBECONFIG": str(tmp_path / "absent"), "TMPDIR": str(scratch)}
    host_vars = {NAME: {"milvus_kubeconfig": "", "milvus_kube_context": "", "milvus_kube_host": plane.server,
                        "milvus_kube_ca_cert": plane.ca_file, "milvus_kube_client_cert": str(cert),
                        "milvus_kube_client_key": str(key)}}
    run = harness.playbook("upgrade", inventory=harness.inventory(extra_host_vars=host_vars),
                           extra_vars={"milvus_upgrade_confirm": True}, environment=environment)
    assert run.rc == 0, run.output
    assert run.cluster_report(NAME)["status"] == "up_to_date"
    assert not list(scratch.rglob("milvusops-helm-kubeconfig-*"))

    # a certificate without its key is refused before anything is read, naming both variables
    host_vars[NAME].pop("milvus_kube_client_key")
    refused = harness.playbook("upgrade", inventory=harness.inventory(extra_host_vars=host_vars),
                               extra_vars={"milvus_upgrade_confirm": True}, environment=environment)
    assert refused.rc != 0
    assert "milvus_kube_client_cert" in refused.output and "milvus_kube_client_key" in refused.output


def test_kubeconfig_naming_several_files_is_merged(harness, tmp_path):
    config = fleet_kubeconfig(harness)
    # credentials in one file, clusters and contexts in another, as people keep them
    users = write_private(tmp_path / "users.yaml", yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Config", "users": config.pop("users")}))
    rest = write_private(tmp_path / "clusters.yaml", yaml.safe_dump(config))
    host_vars = {NAME: {"milvus_kubeconfig": ""}}
    run = harness.playbook("upgrade", inventory=harness.inventory(extra_host_vars=host_vars),
                           extra_vars={"milvus_upgrade_confirm": True},
                           environment={"KUBECONFIG": os.pathsep.join([str(tmp_path / "missing.yaml"),
                                                                       str(users), str(rest)])})
    assert run.rc == 0, run.output
    assert run.cluster_report(NAME)["status"] == "up_to_date"
    assert run.recap()[NAME]["changed"] == 0

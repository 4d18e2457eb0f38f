"""Secrets and TLS: a real upgrade over TLS with bearer tokens, watched from the outside.

One kubesim fleet that requires TLS and a token. Two confirmed playbook runs at once, both with
-vvv --diff:

- four hosts that are upgraded: API URL + api_key + CA (no kubeconfig at all); a kubeconfig holding
  the token and a client key; a kubeconfig with a stale token overridden by api_key; api_key with
  validate_certs=false and no CA;
- two hosts that must be refused by TLS verification: no CA (verification is on by default) and a
  CA that did not sign the server's certificate.

The controller's KUBECONFIG points at an empty file, so nothing but each host's own settings can
authenticate. While the runs go, a thread reads /proc/<pid>/cmdline of every process (helm among
them), and helm_binary is a wrapper that records what helm receives (argv, the values file's mode
and folder, a hash of HELM_KUBETOKEN) before it execs the real helm with the same argv.
"""

import base64
import datetime
import hashlib
import json
import os
import secrets
import stat
import subprocess
import tempfile
import threading
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness import Run, write_helm_wrapper
from tests.kubesim.tls import make_ca

# Simulator only: needs clusters that demand their own TLS certificates and tokens.
pytestmark = pytest.mark.kubesim

TOKEN = "kubesim-token-%s" % secrets.token_hex(16)
STALE_TOKEN = "stale-token-%s" % secrets.token_hex(16)
MINIO_SECRET = "minio-secret-%s" % secrets.token_hex(12)          # hidden because of its key name
ROOT_PASSWORD = "root-password-%s" % secrets.token_hex(12)        # hidden because milvus_secret_values says so
UPGRADED = ["api-key", "kubeconfig-token", "stale-kubeconfig-token", "insecure"]
REFUSED = ["no-ca", "wrong-ca"]
CLUSTERS = [(name, "v2516-mixcoord") for name in UPGRADED + REFUSED]
WITH_STORED_SECRETS = ("api-key", "kubeconfig-token")
SECRET_PATHS = ["extraConfigFiles.user\\.yaml"]


class ProcScanner(threading.Thread):
    """Collects the command line of every process on the machine until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.cmdlines = set()
        self.rounds = 0

    def run(self):
        while not self.stopped.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as handle:
                            raw = handle.read()
                    except OSError:   # gone in between
                        continue
                    if raw:
                        self.cmdlines.add(raw)
            self.rounds += 1
            self.stopped.wait(0.002)

    def helm(self, markers):
        """argv lists of helm processes (the wrapper before its exec, the real helm after) with one of markers
        in their argv (other test runs on this machine run helm too)."""
        result = []
        for raw in self.cmdlines:
            argv = [part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0")]
            if any(arg.endswith("/helm") for arg in argv[:2]) and set(markers) & set(argv):
                result.append(argv)
        return result


def our_helm_markers(scenario):
    """What only this scenario's helm command lines hold: its fleet's chart repository (`--repo <url>`, the
    pulls) and the chart packages its runs pulled from it (the upgrades install those)."""
    packages = set(arg for call in scenario["calls"] for arg in call["argv"] if "/milvusops-charts-" in arg)
    return {scenario["harness"].fleet.chart_repo_url} | packages


def client_key_pair():
    """(cert PEM, key PEM) of a throwaway client certificate for a kubeconfig user."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "operator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_kubeconfig(path, member, token, client=None):
    config = member.cluster.kubeconfig_dict(member.name)
    config["users"][0]["user"] = {"token": token}
    if client:
        config["users"][0]["user"].update({
            "client-certificate-data": base64.b64encode(client[0]).decode(),
            "client-key-data": base64.b64encode(client[1]).decode()})
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(config, handle)
    return path


def run_concurrently(harness, inventories, env_update, args):
    """Start one ansible-playbook per inventory with env_update applied; return {name: Run}."""
    started = {}
    for name, inventory in inventories.items():
        command, env, report_dir = harness._command("upgrade", list(args), None, inventory)
        env.update(env_update)
        proc = subprocess.Popen(command, env=env, cwd=str(harness.workdir), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        started[name] = (proc, report_dir, time.monotonic())
    runs = {}
    for name, (proc, report_dir, began) in started.items():
        out, _ = proc.communicate(timeout=900)
        runs[name] = Run(subprocess.CompletedProcess(proc.args, proc.returncode, out, ""), report_dir,
                         time.monotonic() - began)
    return runs


def cluster_state(harness, name):
    member = harness.fleet[name]
    history = [row["revision"] for row in harness.history(name)]
    objects = {}
    for kind in ("Deployment", "StatefulSet", "ConfigMap", "Secret", "Service", "Lease"):
        for obj in member.cluster.store.list(kind, member.namespace):
            objects[(kind, obj["metadata"]["name"])] = obj["metadata"]["resourceVersion"]
    return history, objects


@pytest.fixture(scope="module")
def scenario(make_harness, tmp_path_factory):
    harness = make_harness(CLUSTERS, tls=True, token=TOKEN)
    tmp = tmp_path_factory.mktemp("secrets")

    # Stored values holding credentials, as an operator's earlier upgrade left them.
    stored = {"minio": {"accessKey": "minio-operator", "secretKey": MINIO_SECRET},
              "extraConfigFiles": {"user.yaml": "common:\n  security:\n    defaultRootPassword: %s\n" % ROOT_PASSWORD}}
    stored_file = tmp / "stored-secrets.yaml"
    stored_file.write_text(yaml.safe_dump(stored))
    for name in WITH_STORED_SECRETS:
        harness.fleet.helm("upgrade", "rel", "fixture/milvus", "--version", "4.2.58", "--namespace", "milvus",
                           "--reuse-values", "--values", str(stored_file), cluster=name)
        harness.fleet.wait_ready(name, timeout=120)

    client = client_key_pair()
    kubeconfigs = {
        "kubeconfig-token": write_kubeconfig(tmp / "token.kubeconfig", harness.fleet["kubeconfig-token"], TOKEN, client),
        "stale-kubeconfig-token": write_kubeconfig(tmp / "stale.kubeconfig", harness.fleet["stale-kubeconfig-token"],
                                                   STALE_TOKEN),
    }
    other_ca = tmp / "other-ca.crt"
    other_ca.write_bytes(make_ca("not-the-kubesim-ca")[1].public_bytes(serialization.Encoding.PEM))
    empty_kubeconfig = tmp / "empty.kubeconfig"
    empty_kubeconfig.write_text("")
    wrapper_log = tmp / "helm-calls"
    wrapper_log.mkdir()
    wrapper = write_helm_wrapper(tmp / "bin", harness.fleet.helm_binary, wrapper_log)

    base = yaml.safe_load(harness.inventory().read_text())["all"]["hosts"]
    hosts = {}
    for name in UPGRADED + REFUSED:
        member = harness.fleet[name]
        host = dict(base[name], milvus_upgrade_confirm=True, milvus_helm_binary=str(wrapper),
                    milvus_secret_values=SECRET_PATHS, milvus_kubeconfig="", milvus_kube_context="",
                    milvus_kube_host=member.url, milvus_kube_api_key=TOKEN)
        hosts[name] = host
    hosts["api-key"]["milvus_kube_ca_cert"] = harness.fleet["api-key"].cluster.ca_cert_path
    for name in ("kubeconfig-token", "stale-kubeconfig-token"):
        hosts[name].update(milvus_kubeconfig=str(kubeconfigs[name]), milvus_kube_context=name, milvus_kube_host="")
    del hosts["kubeconfig-token"]["milvus_kube_api_key"]          # the kubeconfig's token is the only one
    hosts["insecure"]["milvus_kube_validate_certs"] = False        # and no CA
    hosts["wrong-ca"]["milvus_kube_ca_cert"] = str(other_ca)       # no-ca: neither, verification on by default

    inventories = {}
    for group, names in (("upgraded", UPGRADED), ("refused", REFUSED)):
        inventories[group] = tmp / ("inventory-%s.yml" % group)
        inventories[group].write_text(yaml.safe_dump({"all": {"hosts": dict((n, hosts[n]) for n in names),
                                                              "children": {"milvus_clusters": {"hosts": dict(
                                                                  (n, {}) for n in names)}}}}))
    before = dict((name, cluster_state(harness, name)) for name, _ in CLUSTERS)

    scanner = ProcScanner()
    started = time.time()
    scanner.start()
    try:
        runs = run_concurrently(harness, inventories, {"KUBECONFIG": str(empty_kubeconfig)}, ["-vvv", "--diff"])
    finally:
        scanner.stopped.set()
        scanner.join()
    calls = [json.loads(path.read_text()) for path in sorted(wrapper_log.iterdir())]
    key_body = client[1].decode().splitlines()[1]   # a line of the private key's base64 body
    return dict(harness=harness, runs=runs, hosts=hosts, before=before, scanner=scanner, calls=calls,
                started=started, client_key=[key_body, base64.b64encode(client[1]).decode()[:60]])


def secret_strings(scenario):
    return [TOKEN, STALE_TOKEN, MINIO_SECRET, ROOT_PASSWORD] + scenario["client_key"]


def report_files(run):
    return dict((str(path), path.read_text()) for path in run.report_dir.rglob("*") if path.is_file())


def host_run(scenario, host):
    return scenario["runs"]["upgraded" if host in UPGRADED else "refused"]


# -- the upgrades went through, each with its own way of authenticating --

@pytest.mark.parametrize("host", UPGRADED)
def test_upgraded_over_tls(scenario, host):
    report = host_run(scenario, host).cluster_report(host)
    assert report["status"] == "upgraded", report
    assert [hop["name"] for hop in report["hops_applied"]] == ["streaming"]
    history, _ = cluster_state(scenario["harness"], host)
    assert history == scenario["before"][host][0] + [scenario["before"][host][0][-1] + 1]


def helm_calls(scenario, host):
    settings = scenario["hosts"][host]
    if settings["milvus_kubeconfig"]:
        return [call for call in scenario["calls"] if call["KUBECONFIG"] == settings["milvus_kubeconfig"]]
    return [call for call in scenario["calls"] if call["HELM_KUBEAPISERVER"] == settings["milvus_kube_host"]]


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_helm_gets_each_hosts_own_connection_through_its_environment(scenario):
    # The controller's KUBECONFIG is an empty file, so these settings are all helm had to go on; the token
    # went through HELM_KUBETOKEN (api_key) or the host's own kubeconfig, never through argv.
    expected = {
        "api-key": (TOKEN, scenario["hosts"]["api-key"]["milvus_kube_ca_cert"], None),
        "insecure": (TOKEN, None, "true"),
        "stale-kubeconfig-token": (TOKEN, None, None),   # api_key wins over the kubeconfig's stale token
        "kubeconfig-token": ("", None, None),            # helm reads the token from the kubeconfig itself
    }
    for host, (token, ca_file, insecure) in expected.items():
        calls = helm_calls(scenario, host)
        assert calls and any(call["argv"][:1] == ["upgrade"] for call in calls), host
        for call in calls:
            assert call["token_sha256"] == sha256(token), (host, call["argv"][:2])
            assert (call["HELM_KUBECAFILE"], call["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"]) == (ca_file, insecure), host
    assert not [call for call in scenario["calls"] if call["token_sha256"] == sha256(STALE_TOKEN)]
    for host in REFUSED:   # refused before helm ever ran
        assert helm_calls(scenario, host) == [], host


# -- secrets never leak --

def test_secrets_never_in_output_reports_or_any_command_line(scenario):
    scanner = scenario["scanner"]
    helm = scanner.helm(our_helm_markers(scenario))
    upgrades = [argv for argv in helm if "upgrade" in argv and "--reset-then-reuse-values" in argv]
    assert upgrades, "the /proc scan saw no helm upgrade (%d rounds, %d helm command lines)" % (
        scanner.rounds, len(helm))
    everything = [raw.decode("utf-8", "replace") for raw in scanner.cmdlines]
    for secret in secret_strings(scenario):
        assert not [line for line in everything if secret in line], secret
        for group, run in scenario["runs"].items():
            assert secret not in run.output, (group, secret)
            for path, text in report_files(run).items():
                assert secret not in text, (path, secret)
    # the secrets were really there to leak: the redaction marker stands where they were
    out = scenario["runs"]["upgraded"].output
    assert '"secretKey": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in out
    assert '"user.yaml": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in out
    assert '"api_key": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in out


def test_no_file_written_during_the_run_holds_a_secret(scenario):
    # temp files of the kubernetes client (client key), Ansible's module payloads, helm's cache, the reports
    hits = []
    roots = {tempfile.gettempdir(), str(scenario["harness"].workdir)}
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                    if not stat.S_ISREG(info.st_mode) or info.st_mtime < scenario["started"] or info.st_size > 2 ** 20:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read().decode("utf-8", "replace")
                except OSError:
                    continue
                hits += [(path, secret[:12]) for secret in secret_strings(scenario) if secret in data]
    assert hits == []


def test_values_file_is_private_and_removed(scenario):
    upgrades = [call for call in scenario["calls"] if call["argv"][:1] == ["upgrade"]]
    for host in UPGRADED:   # hop 2 all at once: one upgrade, its render checked by the gate (its post-renderer)
        argvs = [call["argv"] for call in helm_calls(scenario, host) if call["argv"][:1] == ["upgrade"]]
        assert [(any(arg.startswith("--dry-run") for arg in argv), "--post-renderer" in argv) for argv in argvs] == [
            (False, True)], (host, argvs)
    folders = set()
    for call in upgrades:
        values = call["values"]
        assert values["mode"] == 0o600 and values["uid"] == os.geteuid(), values
        assert values["folder_mode"] == 0o700 and values["folder_uid"] == os.geteuid(), values
        assert os.path.basename(os.path.dirname(values["path"])).startswith("milvusops-hop-"), values["path"]
        assert "--reset-then-reuse-values" in call["argv"]
        for secret in secret_strings(scenario):
            assert secret not in values["content"]
        json.loads(values["content"])   # the hop's own values, nothing else
        assert set(json.loads(values["content"])) >= {"image", "streaming", "indexNode"}
        folders.add(os.path.dirname(values["path"]))
        assert not os.path.exists(values["path"]), values["path"]
    assert len(folders) == len(UPGRADED)   # one private folder per hop (render and upgrade share it)
    assert not [folder for folder in folders if os.path.exists(folder)]
    # the /proc scan saw the same paths on helm's command line while helm ran
    seen = set(argv[argv.index("--values") + 1]
               for argv in scenario["scanner"].helm(our_helm_markers(scenario)) if "--values" in argv)
    assert seen and seen <= set(call["values"]["path"] for call in upgrades)


# -- TLS verification --

@pytest.mark.parametrize("host", REFUSED)
def test_tls_verification_refuses_an_unverified_server(scenario, host):
    report = host_run(scenario, host).cluster_report(host)
    assert report["status"] == "failed", report
    error = report["error"]
    assert "cluster %s" % host in error and scenario["harness"].fleet[host].url in error, error
    assert "certificate verify failed" in error, error
    assert "set milvus_kube_ca_cert to the CA that signed it" in error, error
    assert cluster_state(scenario["harness"], host) == scenario["before"][host]   # no change, no lock left


def test_validate_certs_false_works_without_a_ca(scenario):
    host = scenario["hosts"]["insecure"]
    assert host["milvus_kube_validate_certs"] is False and "milvus_kube_ca_cert" not in host
    assert host_run(scenario, "insecure").cluster_report("insecure")["status"] == "upgraded"


# -- secrets inside embedded configuration text, hidden without being listed --------------------------
#
# A release whose stored values carry credentials inside text: extraConfigFiles user.yaml (a root password, an
# object-store key, a Pulsar URL with user-info that Milvus really reads) and a URL with credentials in a plain
# value. No milvus_secret_values at all. A check-mode --diff run and a confirmed --diff run, both -vvv: the
# secrets must appear nowhere (output, reports), while the rest of the text is shown as the operator wrote it.

EMBEDDED_ROOT = "embedded-root-%s" % secrets.token_hex(8)
EMBEDDED_S3 = "embedded-s3-%s" % secrets.token_hex(8)
EMBEDDED_PULSAR = "embedded-pulsar-%s" % secrets.token_hex(8)
EMBEDDED_URL = "embedded-url-%s" % secrets.token_hex(8)
EMBEDDED_USER_YAML = (
    "# operator settings: keep authorization on\n"
    "common:\n"
    "  security:\n"
    "    authorizationEnabled: true\n"
    "    defaultRootPassword: %s\n"
    "minio:\n"
    "  secretAccessKey: \"%s\"\n"
    "pulsar:\n"
    "  address: pulsar://milvus-client:%s@rel-pulsarv3-proxy:6650\n" % (EMBEDDED_ROOT, EMBEDDED_S3, EMBEDDED_PULSAR))


@pytest.fixture(scope="module")
def embedded(make_harness, tmp_path_factory):
    harness = make_harness([("embedded", "v2516-mixcoord")])
    tmp = tmp_path_factory.mktemp("embedded")
    stored = {"extraConfigFiles": {"user.yaml": EMBEDDED_USER_YAML},
              "backup": {"target": "s3://backup-user:%s@backups.internal/milvus" % EMBEDDED_URL}}
    stored_file = tmp / "stored.yaml"
    stored_file.write_text(yaml.safe_dump(stored))
    harness.fleet.helm("upgrade", "rel", "fixture/milvus", "--version", "4.2.58", "--namespace", "milvus",
                       "--reuse-values", "--values", str(stored_file), cluster="embedded")
    harness.fleet.wait_ready("embedded", timeout=120)
    check = harness.playbook("upgrade", "--check", "--diff", "-vvv")
    confirmed = harness.playbook("upgrade", "--diff", "-vvv", extra_vars={"milvus_upgrade_confirm": True})
    return dict(harness=harness, runs={"check": check, "confirmed": confirmed})


def test_embedded_secrets_are_hidden_everywhere_without_being_listed(embedded):
    for name, run in embedded["runs"].items():
        for secret in (EMBEDDED_ROOT, EMBEDDED_S3, EMBEDDED_PULSAR, EMBEDDED_URL):
            assert secret not in run.output, (name, secret)
            for path, text in report_files(run).items():
                assert secret not in text, (name, path, secret)
    report = embedded["runs"]["confirmed"].cluster_report("embedded")
    assert report["status"] == "upgraded", report
    assert embedded["runs"]["check"].cluster_report("embedded")["status"] == "planned"


def test_embedded_text_is_still_shown_line_by_line_in_the_diff(embedded):
    # not the whole text replaced: the operator's settings stay readable, only the credentials are gone
    for name, run in embedded["runs"].items():
        out = run.output
        assert "authorizationEnabled: true" in out, name
        assert "# operator settings: keep authorization on" in out, name
        assert "defaultRootPassword: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in out, name
        assert "pulsar://VALUE_SPECIFIED_IN_NO_LOG_PARAMETER@rel-pulsarv3-proxy:6650" in out, name
        assert "s3://VALUE_SPECIFIED_IN_NO_LOG_PARAMETER@backups.internal/milvus" in out, name
        assert "stored values" in out, name   # the --diff of the hop was printed


def test_hiding_is_for_display_only_the_release_keeps_its_values(embedded):
    harness = embedded["harness"]
    values = harness.helm_json("embedded", "get", "values", "rel")
    assert values["extraConfigFiles"]["user.yaml"] == EMBEDDED_USER_YAML
    assert EMBEDDED_URL in values["backup"]["target"]
    assert values["image"]["all"]["tag"] == "v2.6.4"
    # the Pulsar URL with user-info was understood as the release's own Pulsar v3, not an external one
    assert harness.fleet["embedded"].cluster.store.get("configmaps", "rel-milvus", "milvus")["data"]["user.yaml"] \
        .strip() == EMBEDDED_USER_YAML.strip()

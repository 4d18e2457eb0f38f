"""Integration harness: kubesim fleets, an inventory for them, and the real ansible-playbook.

The collection is made importable as milvusops.cluster through a symlink tree (the same one the unit
tests use), and playbooks are called by their FQCN exactly as a user would.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.kubesim.fleet import Fleet  # noqa: E402

BIN = Path(sys.executable).parent
HELM = str(BIN / "helm") if (BIN / "helm").exists() else "helm"


def collections_path():
    """ansible_collections/milvusops/cluster -> this checkout, in a temp folder."""
    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    import conftest as unit_conftest  # noqa: F401  (creates the symlink tree)
    return unit_conftest._PATH


class Run:
    """One ansible-playbook run and what it left behind."""

    def __init__(self, proc, report_dir, seconds):
        self.proc = proc
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.report_dir = Path(report_dir)
        self.seconds = seconds

    def cluster_report(self, name):
        return json.loads((self.report_dir / "clusters" / ("%s.json" % name)).read_text())

    def fleet_report(self):
        return json.loads((self.report_dir / "fleet-report.json").read_text())

    def recap(self):
        """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from the PLAY RECAP."""
        result = {}
        in_recap = False
        for line in self.proc.stdout.splitlines():
            if line.startswith("PLAY RECAP"):
                in_recap = True
                continue
            if in_recap and ":" in line:
                host, _, counters = line.partition(":")
                result[host.strip()] = dict(
                    (key, int(value)) for key, value in (item.split("=") for item in counters.split()))
        return result


class Harness:
    def __init__(self, fleet, workdir):
        self.fleet = fleet
        self.workdir = Path(workdir)
        self.collections = collections_path()
        self.runs = 0

    def inventory(self, extra_host_vars=None, canary=()):
        hosts = {}
        for member in self.fleet:
            hosts[member.name] = {
                "milvus_release": member.release,
                "milvus_namespace": member.namespace,
                "milvus_kube_context": member.context,
                "milvus_kubeconfig": str(self.fleet.kubeconfig),
                "milvus_chart_repo_url": self.fleet.chart_repo_url,
                "milvus_helm_binary": HELM,
                "milvus_settle_after_mixcoord": 1,
                "milvus_wait_timeout": 240,
                "milvus_progress_interval": 20,
            }
            hosts[member.name].update((extra_host_vars or {}).get(member.name, {}))
        children = {"milvus_clusters": {"hosts": dict((name, {}) for name in hosts if name not in canary)}}
        if canary:
            children["milvus_canary"] = {"hosts": dict((name, {}) for name in canary)}
            children["milvus_clusters"]["children"] = {"milvus_canary": {}}
        inventory = {"all": {"hosts": hosts, "children": children}}
        path = self.workdir / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        return path

    def playbook(self, name, *args, extra_vars=None, inventory=None, timeout=900):
        self.runs += 1
        report_dir = self.workdir / ("report-%d" % self.runs)
        env = self.fleet.helm_env()
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-tmp"),
            "ANSIBLE_FORKS": str(max(5, len(self.fleet))),
            "PATH": "%s%s%s" % (BIN, os.pathsep, env.get("PATH", "")),
        })
        variables = {"milvus_report_dir": str(report_dir)}
        variables.update(extra_vars or {})
        command = [str(BIN / "ansible-playbook"), "-i", str(inventory or self.inventory()),
                   "milvusops.cluster.%s" % name, "-e", json.dumps(variables)] + list(args)
        started = time.monotonic()
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=str(self.workdir))
        return Run(proc, report_dir, time.monotonic() - started)

    # -- cluster state for assertions -------------------------------------------------------

    def helm_json(self, cluster, *args):
        member = self.fleet[cluster]
        proc = self.fleet.helm(*args, "--namespace", member.namespace, "-o", "json", cluster=cluster)
        return json.loads(proc.stdout)

    def history(self, cluster):
        return self.helm_json(cluster, "history", self.fleet[cluster].release)

    def objects(self, cluster, kind):
        """{name: object} of one kind in the release namespace, read from kubesim's store."""
        member = self.fleet[cluster]
        return dict((obj["metadata"]["name"], obj)
                    for obj in member.cluster.store.list(kind, member.namespace))


@pytest.fixture(scope="module")
def make_harness(tmp_path_factory):
    fleets = []

    def make(clusters, pod_start_delay=0.0):
        workdir = tmp_path_factory.mktemp("fleet")
        fleet = Fleet(workdir / "state", clusters, pod_start_delay=pod_start_delay).up()
        fleets.append(fleet)
        return Harness(fleet, workdir)

    yield make
    for fleet in fleets:
        fleet.down()

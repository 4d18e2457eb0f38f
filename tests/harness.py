"""Drive the real ansible-playbook against a fleet (integration tests, make demo, make bench): the
simulator's (tests/kubesim/fleet.py) or the real control plane's (tests/controlplane/fleet.py).

The collection is made importable as milvusops.cluster through a symlink tree (the same one the unit
tests use), and playbooks are called by their FQCN exactly as a user would.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The helm the collection drives: the venv's (tests/requirements.txt), or MILVUSOPS_TEST_HELM, which
# `make test-matrix` sets to each helm of tests/controlplane/versions.env in turn.
HELM = os.environ.get("MILVUSOPS_TEST_HELM") or (str(BIN / "helm") if (BIN / "helm").exists() else "helm")


def write_helm_wrapper(directory, real_helm, log_dir):
    """A `helm` that records what it was given, then execs the real helm with the same argv."""
    directory.mkdir()
    wrapper = directory / "helm"
    wrapper.write_text(textwrap.dedent("""\
        #!%(python)s
        import hashlib, json, os, stat, sys
        args = sys.argv[1:]
        entry = {"argv": args, "token_sha256": hashlib.sha256(os.environ.get("HELM_KUBETOKEN", "").encode()).hexdigest()}
        for name in ("KUBECONFIG", "HELM_KUBECONTEXT", "HELM_KUBEAPISERVER", "HELM_KUBECAFILE",
                     "HELM_KUBEINSECURE_SKIP_TLS_VERIFY"):
            entry[name] = os.environ.get(name)
        if "--values" in args:
            path = args[args.index("--values") + 1]
            info, folder = os.stat(path), os.stat(os.path.dirname(path))
            with open(path) as handle:
                content = handle.read()
            entry["values"] = {"path": path, "mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid,
                               "folder_mode": stat.S_IMODE(folder.st_mode), "folder_uid": folder.st_uid,
                               "content": content}
        with open(os.path.join(%(log)r, "%%d.json" %% os.getpid()), "w") as handle:
            json.dump(entry, handle)
        os.execv(%(real)r, [%(real)r] + args)
        """ % {"python": sys.executable, "log": str(log_dir), "real": real_helm}))
    wrapper.chmod(0o755)
    return wrapper


def collections_path():
    """A temp folder whose ansible_collections/milvusops/cluster links to this checkout."""
    base = Path(tempfile.mkdtemp(prefix="milvusops-collections-"))
    (base / "ansible_collections" / "milvusops").mkdir(parents=True)
    (base / "ansible_collections" / "milvusops" / "cluster").symlink_to(ROOT)
    return str(base)


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

    def inventory(self, extra_host_vars=None, canary=(), ordered_rollout=False):
        """ordered_rollout: the scenarios written before the ordered hop 2 assert helm's all-at-once hop 2
        (one revision per hop); tests/integration/test_ordered_rollout.py and the kind smoke run the default."""
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
                "milvus_settle_after_streaming": 1,
                "milvus_wait_timeout": 240,
                "milvus_progress_interval": 20,
                "milvus_ordered_rollout": ordered_rollout,
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

    def start_playbook(self, name, *args, extra_vars=None, inventory=None):
        """Start a playbook in the background (its own process group, so a test can kill it whole)."""
        command, env, report_dir = self._command(name, args, extra_vars, inventory, None)
        proc = subprocess.Popen(command, env=env, cwd=str(self.workdir), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        return proc, report_dir

    def finish_playbook(self, proc, report_dir, timeout=900):
        started = time.monotonic()
        out, _ = proc.communicate(timeout=timeout)
        return Run(subprocess.CompletedProcess(proc.args, proc.returncode, out, ""), report_dir,
                   time.monotonic() - started)

    def _command(self, name, args, extra_vars, inventory, environment=None):
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
        env.update(environment or {})
        variables = {"milvus_report_dir": str(report_dir)}
        variables.update(extra_vars or {})
        playbook = str(name) if str(name).endswith(".yml") else "milvusops.cluster.%s" % name
        command = [str(BIN / "ansible-playbook"), "-i", str(inventory or self.inventory()),
                   playbook, "-e", json.dumps(variables)] + list(args)
        return command, env, report_dir

    def playbook(self, name, *args, extra_vars=None, inventory=None, timeout=900, stream=False, environment=None):
        """Run a playbook to its end; `environment` is laid over ansible-playbook's own (KUBECONFIG, ...)."""
        command, env, report_dir = self._command(name, args, extra_vars, inventory, environment)
        started = time.monotonic()
        if stream:  # the demo: the person watching sees the playbook's own output as it happens
            proc = subprocess.run(command, env=env, text=True, timeout=timeout, cwd=str(self.workdir),
                                  stdout=None, stderr=None)
            proc.stdout = proc.stderr = ""
        else:
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

    def milvus_images(self, cluster):
        """The images the release's Milvus Deployments run, sorted, each once."""
        return sorted(set(
            c["image"] for obj in self.objects(cluster, "Deployment").values()
            if obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "milvus"
            for c in obj["spec"]["template"]["spec"]["containers"]))

    def objects(self, cluster, kind):
        """{name: object} of one kind in the release namespace (the backend's own store or API)."""
        member = self.fleet[cluster]
        return dict((obj["metadata"]["name"], obj)
                    for obj in member.cluster.store.list(kind, member.namespace))


@contextlib.contextmanager
def rollout_held(cluster, image=None, component=None):
    """Inside the block, pods of `image` (a substring) and/or `component` never turn Ready: a run waits for them
    however long a test takes to act (kill it, read its state, stop the API server), where a start delay is a
    race a loaded machine can lose. On leaving, the held pods are restarted (the fault is cleared) and start as
    usual."""
    rule = dict((key, value) for key, value in (("image", image), ("component", component)) if value)
    cluster.faults.add(dict(rule, type="neverready"))
    try:
        yield
    finally:
        cluster.faults.clear()


def wait_until(condition, timeout, what):
    """Poll a cheap in-process condition (a backend's store, a file) with a deadline; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))

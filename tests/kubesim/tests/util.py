"""Helpers for kubesim tests: condition waits with deadlines, helm/kubectl runners."""

import json
import os
import shutil
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HELM = os.path.join(REPO, ".venv", "bin", "helm")


def wait_for(fn, timeout=10.0, interval=0.02, what="condition"):
    """Poll fn() until it returns something truthy; fail with `what` after `timeout` seconds. A read that
    fails (OSError: a server shedding load, a connection reset) is one more falsy answer, as for a
    client-go poll: the wait fails only if it still fails, or the condition is still false, at the end."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def client_env(cluster, tmp_path, context="kubesim"):
    """Environment for helm/kubectl: private HOME, caches and a kubeconfig for `cluster`."""
    home = tmp_path / "home"
    for sub in ("cache", "config", "data"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    kubeconfig = cluster.kubeconfig(str(tmp_path / "kubeconfig"), context)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HELM_", "XDG_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), HELM_CACHE_HOME=str(home / "cache" / "helm"),
               HELM_CONFIG_HOME=str(home / "config" / "helm"), HELM_DATA_HOME=str(home / "data" / "helm"),
               KUBECONFIG=kubeconfig)
    return env


def run(cmd, env, check=True, timeout=120):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def helm(env, *args, check=True):
    return run([HELM, *args], env, check=check)


def helm_json(env, *args):
    return json.loads(helm(env, *args, "-o", "json").stdout)


def kubectl_path():
    return shutil.which("kubectl")

"""kubectl get / apply / delete against kubesim (skipped when kubectl is not installed)."""

import json
import subprocess

import pytest

from .util import kubectl_path, wait_for

KUBECTL = kubectl_path()
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not found on PATH")

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: kc, labels: {app: kc}}
spec:
  replicas: 2
  selector: {matchLabels: {app: kc}}
  template:
    metadata: {labels: {app: kc}}
    spec:
      containers:
        - name: main
          image: nginx:%s
          env: [{name: A, value: "1"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kc-conf}
data: {k: "%s"}
"""


def kubectl(env, *args, stdin=None):
    proc = subprocess.run([KUBECTL, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_kubectl_get_apply_delete(kubesim, kube_env):
    out = kubectl(kube_env, "apply", "-f", "-", stdin=MANIFEST % ("1", "a"))
    assert "deployment.apps/kc created" in out and "configmap/kc-conf created" in out
    wait_for(lambda: (kubesim.store.get("deployments", "kc", "default").get("status") or {}).get(
        "readyReplicas") == 2, what="deployment ready")
    out = kubectl(kube_env, "apply", "-f", "-", stdin=MANIFEST % ("2", "b"))
    assert "deployment.apps/kc configured" in out and "configmap/kc-conf configured" in out
    d = kubesim.store.get("deployments", "kc", "default")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert kubesim.store.get("configmaps", "kc-conf", "default")["data"] == {"k": "b"}
    assert "unchanged" in kubectl(kube_env, "apply", "-f", "-", stdin=MANIFEST % ("2", "b"))
    names = kubectl(kube_env, "get", "deploy", "-o", "jsonpath={.items[*].metadata.name}")
    assert names == "kc"
    pods = json.loads(kubectl(kube_env, "get", "pods", "-l", "app=kc", "-o", "json"))
    assert pods["items"] and all(p["metadata"]["labels"]["app"] == "kc" for p in pods["items"])
    assert "kc-conf" in kubectl(kube_env, "get", "cm")
    assert "default" in kubectl(kube_env, "get", "ns")
    kubectl(kube_env, "rollout", "status", "deployment/kc", "--timeout=30s")
    kubectl(kube_env, "delete", "deployment", "kc", "--wait=true", "--timeout=30s")
    assert kubesim.store.get("deployments", "kc", "default") is None

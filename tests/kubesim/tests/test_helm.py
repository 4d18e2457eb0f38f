"""The real helm binary against kubesim: install, upgrade, rollback, history, values, uninstall."""

import os
import textwrap

import pytest
import yaml

from .util import HELM, helm, helm_json, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(HELM), reason="helm binary not installed in .venv")

CHART = {
    "Chart.yaml": """
        apiVersion: v2
        name: tiny
        version: 0.1.0
        appVersion: "1.0"
    """,
    "values.yaml": """
        image: {repository: example/web, tag: "1.0"}
        replicas: 2
        greeting: hello
        config: {enabled: true}
        port: 8080
    """,
    "templates/configmap.yaml": """
        {{- if .Values.config.enabled }}
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-config
          labels: {app: {{ .Release.Name }}}
        data:
          greeting: {{ .Values.greeting | quote }}
        {{- end }}
    """,
    "templates/service.yaml": """
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}-web
        spec:
          selector: {app: {{ .Release.Name }}, tier: web}
          ports:
            - {name: http, port: {{ .Values.port }}, targetPort: 8080}
    """,
    "templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}-web
          labels: {app: {{ .Release.Name }}, tier: web}
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app: {{ .Release.Name }}, tier: web}
          template:
            metadata:
              labels: {app: {{ .Release.Name }}, tier: web}
              annotations: {greeting: {{ .Values.greeting | quote }}}
            spec:
              containers:
                - name: web
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  env:
                    - {name: GREETING, value: {{ .Values.greeting | quote }}}
                    - {name: MODE, value: fast}
                  ports:
                    - {containerPort: 8080, name: http}
    """,
    "templates/statefulset.yaml": """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: {{ .Release.Name }}-db
        spec:
          serviceName: {{ .Release.Name }}-db
          replicas: 2
          selector:
            matchLabels: {app: {{ .Release.Name }}, tier: db}
          template:
            metadata:
              labels: {app: {{ .Release.Name }}, tier: db}
            spec:
              containers:
                - name: db
                  image: "example/db:{{ .Values.image.tag }}"
                  volumeMounts:
                    - {name: data, mountPath: /data}
          volumeClaimTemplates:
            - metadata: {name: data}
              spec:
                accessModes: [ReadWriteOnce]
                resources: {requests: {storage: 1Gi}}
    """,
}


@pytest.fixture
def chart(tmp_path):
    root = tmp_path / "tiny"
    for rel, text in CHART.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return str(root)


def subset(want, have, path="$"):
    """Assert every field of `want` is in `have` (lists element by element)."""
    if isinstance(want, dict):
        assert isinstance(have, dict), f"{path}: expected an object, got {have!r}"
        for k, v in want.items():
            assert k in have, f"{path}.{k} missing in live object"
            subset(v, have[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(have, list) and len(want) == len(have), f"{path}: {want!r} != {have!r}"
        for n, (w, h) in enumerate(zip(want, have)):
            subset(w, h, f"{path}[{n}]")
    else:
        assert want == have or str(want) == str(have), f"{path}: want {want!r}, live {have!r}"


def assert_live_matches(cluster, env, release, ns="default"):
    docs = [d for d in yaml.safe_load_all(helm(env, "get", "manifest", release, "-n", ns).stdout) if d]
    assert docs, "empty manifest"
    for doc in docs:
        live = cluster.store.get(doc["kind"], doc["metadata"]["name"], ns)
        assert live is not None, f"{doc['kind']} {doc['metadata']['name']} not live"
        subset({k: v for k, v in doc.items() if k != "metadata"}, live, doc["kind"])
        subset(doc["metadata"].get("labels", {}), live["metadata"].get("labels", {}), "labels")
    return docs


def deployment_rolled(cluster, name, image, ns="default"):
    d = cluster.store.get("deployments", name, ns)
    if not d or d["spec"]["template"]["spec"]["containers"][0]["image"] != image:
        return False
    st = d.get("status") or {}
    pods = [p for p in cluster.store.list("pods", ns, "tier=web")]
    return (st.get("observedGeneration") == d["metadata"]["generation"] and
            st.get("updatedReplicas") == st.get("availableReplicas") == d["spec"]["replicas"] and
            st.get("replicas") == d["spec"]["replicas"] and
            all(p["spec"]["containers"][0]["image"] == image for p in pods))


def test_helm_lifecycle(kubesim, kube_env, chart):
    env = kube_env
    helm(env, "install", "rel", chart, "--wait", "--timeout", "60s")
    assert_live_matches(kubesim, env, "rel")
    wait_for(lambda: deployment_rolled(kubesim, "rel-web", "example/web:1.0"), what="first rollout")
    assert kubesim.store.get("pvc", "data-rel-db-1", "default")["status"]["phase"] == "Bound"
    assert kubesim.store.get("pods", "rel-db-1", "default")["spec"]["volumes"][0]["persistentVolumeClaim"] \
        == {"claimName": "data-rel-db-1"}
    svc = kubesim.store.get("services", "rel-web", "default")
    assert svc["spec"]["clusterIP"].startswith("10.96.")
    [rel] = helm_json(env, "list")
    assert (rel["name"], rel["status"], rel["revision"]) == ("rel", "deployed", "1")

    # Upgrade: reset-then-reuse keeps nothing stored (no user values yet) and sets a new tag.
    helm(env, "upgrade", "rel", chart, "--reset-then-reuse-values", "--set", "image.tag=2.0",
         "--set", "greeting=hi")
    assert_live_matches(kubesim, env, "rel")
    wait_for(lambda: deployment_rolled(kubesim, "rel-web", "example/web:2.0"), what="rollout to 2.0")
    cm = kubesim.store.get("configmaps", "rel-config", "default")
    assert cm["data"] == {"greeting": "hi"}
    dep = kubesim.store.get("deployments", "rel-web", "default")
    assert [e["name"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]] == ["GREETING", "MODE"]
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

    # Second upgrade keeps the stored user values and drops the ConfigMap.
    helm(env, "upgrade", "rel", chart, "--reset-then-reuse-values", "--set", "config.enabled=false")
    assert kubesim.store.get("configmaps", "rel-config", "default") is None
    assert helm_json(env, "get", "values", "rel") == {"config": {"enabled": False}, "greeting": "hi",
                                                      "image": {"tag": "2.0"}}
    all_values = helm_json(env, "get", "values", "rel", "--all")
    assert all_values["image"] == {"repository": "example/web", "tag": "2.0"} and all_values["replicas"] == 2
    assert_live_matches(kubesim, env, "rel")

    # Server-side dry run changes nothing.
    rv = kubesim.store.resource_version
    out = helm(env, "upgrade", "rel", chart, "--reset-then-reuse-values", "--set", "image.tag=3.0",
               "--dry-run=server").stdout
    assert "example/web:3.0" in out
    assert kubesim.store.resource_version == rv

    history = helm_json(env, "history", "rel")
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "superseded"),
                                                                 (3, "deployed")]

    # Rollback to revision 1: the ConfigMap returns, the image goes back.
    helm(env, "rollback", "rel", "1", "--wait", "--timeout", "60s")
    assert_live_matches(kubesim, env, "rel")
    assert kubesim.store.get("configmaps", "rel-config", "default")["data"] == {"greeting": "hello"}
    wait_for(lambda: deployment_rolled(kubesim, "rel-web", "example/web:1.0"), what="rollback rollout")
    assert helm_json(env, "history", "rel")[-1]["status"] == "deployed"
    secrets = kubesim.store.list("secrets", "default", "owner=helm,name=rel")
    assert len(secrets) == 4 and all(s["type"] == "helm.sh/release.v1" for s in secrets)

    helm(env, "uninstall", "rel", "--wait")
    for kind, name in (("deployments", "rel-web"), ("services", "rel-web"), ("statefulsets", "rel-db"),
                       ("configmaps", "rel-config")):
        assert kubesim.store.get(kind, name, "default") is None
    wait_for(lambda: not kubesim.store.list("pods", "default", "app=rel"), what="pods gone")
    # StatefulSet claims are not owned: they stay.
    assert kubesim.store.get("pvc", "data-rel-db-0", "default") is not None
    assert helm_json(env, "list") == []
    assert not kubesim.manager.errors, kubesim.manager.errors


def test_helm_counts_requests_and_uses_protobuf(kubesim, kube_env, chart):
    helm(kube_env, "install", "rel", chart, "-n", "default")
    counts = kubesim.counters()
    assert counts.get("create secrets") == 1 and counts.get("update secrets") == 1
    assert counts.get("create deployments") == 1 and counts.get("create statefulsets") == 1
    secret = kubesim.store.list("secrets", "default", "owner=helm")[0]
    assert secret["metadata"]["labels"]["status"] == "deployed" and "release" in secret["data"]
    # helm refuses to install over its own release.
    proc = helm(kube_env, "install", "rel", chart, check=False)
    assert proc.returncode != 0 and "cannot re-use a name" in proc.stderr


def test_helm_install_into_missing_namespace_fails(kubesim, kube_env, chart):
    proc = helm(kube_env, "install", "rel", chart, "-n", "nowhere", check=False)
    assert proc.returncode != 0 and "not found" in proc.stderr
    helm(kube_env, "install", "rel", chart, "-n", "made", "--create-namespace")
    assert kubesim.store.get("namespaces", "made") is not None
    assert kubesim.store.get("deployments", "rel-web", "made") is not None

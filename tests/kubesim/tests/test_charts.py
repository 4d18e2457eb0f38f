"""The fixture milvus chart renders what the facts say the real chart renders.

Rendering tests use `helm template`; the trap tests install on kubesim and upgrade with the real helm.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.kubesim.states import load_states
from tests.kubesim.tests.chart_fixtures import (  # noqa: F401 - pytest fixtures
    fixture_charts, helm_binary, helm_home)

VERSIONS = ["4.2.20", "4.2.40", "4.2.58", "5.0.0", "5.0.19"]
SEPARATE = ["mixCoordinator.enabled=false", "rootCoordinator.enabled=true",
            "queryCoordinator.enabled=true", "dataCoordinator.enabled=true",
            "indexCoordinator.enabled=true"]
HOP1 = ["image.all.tag=v2.5.16", "mixCoordinator.enabled=true", "rootCoordinator.enabled=false",
        "indexCoordinator.enabled=false", "queryCoordinator.enabled=false",
        "dataCoordinator.enabled=false"]
MILVUS = {"app.kubernetes.io/name": "milvus"}


# ---------------------------------------------------------------------------- helpers
def render(charts, helm, env, version, release="rel", sets=(), extra=()):
    cmd = [helm, "template", release, str(charts / f"milvus-{version}.tgz"), "--namespace", "milvus"]
    for s in sets:
        cmd += ["--set", s]
    cmd += list(extra)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs, kind, labels=None):
    out = {}
    for d in docs:
        if d["kind"] != kind:
            continue
        have = d["metadata"].get("labels") or {}
        if labels and any(have.get(k) != v for k, v in labels.items()):
            continue
        out[d["metadata"]["name"]] = d
    return out


def milvus_components(docs):
    return sorted(d["metadata"]["labels"]["component"]
                  for d in by_kind(docs, "Deployment", MILVUS).values())


def default_yaml(docs, name="rel-milvus"):
    return by_kind(docs, "ConfigMap")[name]["data"]["default.yaml"]


def mq_blocks(text):
    """[(mq.type, pulsar.address or kafka.brokerList or None), ...] per top-level mq: block."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line == "mq:":
            blocks.append(lines[i + 1].split(":", 1)[1].strip())
    return blocks


def top_value(text, section, key):
    """Value of `section.key` (first occurrence) in a rendered default.yaml."""
    m = re.search(rf"^{section}:\n(?:  .*\n)*?  {key}: (.*)$", text, re.M)
    return m.group(1).strip() if m else None


@pytest.fixture(scope="module")
def r(fixture_charts, helm_binary, helm_home):
    def _render(version, release="rel", sets=(), extra=()):
        return render(fixture_charts, helm_binary, helm_home, version, release, sets, extra)
    return _render


# ---------------------------------------------------------------------------- versions
@pytest.mark.parametrize("version,app,tag", [
    ("4.2.20", "2.4.16", "v2.4.16"), ("4.2.40", "2.5.13", "v2.5.13"),
    ("4.2.58", "2.5.16", "v2.5.16"), ("5.0.0", "2.6.0", "v2.6.0"), ("5.0.19", "2.6.15", "v2.6.15"),
])
def test_chart_metadata_and_default_image(fixture_charts, helm_binary, helm_home, version, app, tag):
    show = subprocess.run([helm_binary, "show", "chart", str(fixture_charts / f"milvus-{version}.tgz")],
                          env=helm_home, capture_output=True, text=True, check=True).stdout
    meta = yaml.safe_load(show)
    assert meta["name"] == "milvus" and meta["version"] == version and meta["appVersion"] == app
    values = yaml.safe_load(subprocess.run(
        [helm_binary, "show", "values", str(fixture_charts / f"milvus-{version}.tgz")],
        env=helm_home, capture_output=True, text=True, check=True).stdout)
    assert values["image"]["all"] == {"repository": "milvusdb/milvus", "tag": tag,
                                      "pullPolicy": "IfNotPresent"}


def test_index_lists_every_version(fixture_charts):
    index = yaml.safe_load((fixture_charts / "index.yaml").read_text())
    assert sorted(e["version"] for e in index["entries"]["milvus"]) == sorted(VERSIONS)
    assert all(e["urls"] == [f"milvus-{e['version']}.tgz"] for e in index["entries"]["milvus"])


@pytest.mark.parametrize("version", VERSIONS)
def test_per_version_defaults(fixture_charts, helm_binary, helm_home, version):
    values = yaml.safe_load(subprocess.run(
        [helm_binary, "show", "values", str(fixture_charts / f"milvus-{version}.tgz")],
        env=helm_home, capture_output=True, text=True, check=True).stdout)
    new_mq = version != "4.2.20"
    assert values["pulsar"]["enabled"] is (not new_mq)
    assert ("pulsarv3" in values) is new_mq
    if new_mq:
        assert values["pulsarv3"]["enabled"] is True
    assert ("woodpecker" in values) is (version in ("4.2.58", "5.0.0", "5.0.19"))
    if "woodpecker" in values:
        assert values["woodpecker"]["enabled"] is False
    hop2 = version.startswith("5.")
    assert values["streaming"]["enabled"] is hop2
    assert values["indexNode"]["enabled"] is (not hop2)
    assert "streamingNode" in values
    assert values["mixCoordinator"]["enabled"] is True
    for coord in ("rootCoordinator", "queryCoordinator", "dataCoordinator", "indexCoordinator"):
        assert values[coord]["enabled"] is False
    assert values["cluster"]["enabled"] is True
    for key in ("kafka", "externalPulsar", "externalKafka"):
        assert values[key]["enabled"] is False
    assert values["etcd"]["enabled"] is True and values["minio"]["enabled"] is True
    assert values["fullnameOverride"] == "" and values["nameOverride"] == ""
    assert values["customConfigMap"] == ""


def test_subchart_image_changes_between_versions(r):
    def images(version):
        docs = r(version, sets=["kafka.enabled=true"])
        return {n: d["spec"]["template"]["spec"]["containers"][0]["image"]
                for n, d in by_kind(docs, "StatefulSet").items()}
    old, hop1, v500, v5019 = images("4.2.20"), images("4.2.58"), images("5.0.0"), images("5.0.19")
    assert old["rel-etcd"].endswith(":3.5.14-r1") and hop1["rel-etcd"].endswith(":3.5.18-r1")
    assert old["rel-minio"] != hop1["rel-minio"] != v500["rel-minio"]
    assert v500["rel-kafka"].startswith("docker.io/bitnami/kafka:")
    assert v500["rel-zookeeper"].startswith("docker.io/bitnami/zookeeper:")
    assert v5019["rel-kafka"].startswith("docker.io/bitnamilegacy/kafka:")
    assert v5019["rel-zookeeper"].startswith("docker.io/bitnamilegacy/zookeeper:")
    etcd_chart = {v: by_kind(r(v), "StatefulSet")["rel-etcd"]["metadata"]["labels"]["helm.sh/chart"]
                  for v in ("5.0.0", "5.0.19")}
    assert etcd_chart == {"5.0.0": "etcd-6.3.3", "5.0.19": "etcd-8.12.0"}


# ---------------------------------------------------------------------------- components
@pytest.mark.parametrize("version,sets,components,services", [
    # facts section 3: 2.5.x separate coordinators
    ("4.2.20", SEPARATE,
     ["datacoord", "datanode", "indexcoord", "indexnode", "proxy", "querycoord", "querynode",
      "rootcoord"],
     {"rel-milvus": [19530, 9091], "rel-milvus-rootcoord": [53100, 9091],
      "rel-milvus-querycoord": [19531, 9091], "rel-milvus-datacoord": [13333, 9091],
      "rel-milvus-indexcoord": [31000, 9091], "rel-milvus-querynode": [9091],
      "rel-milvus-datanode": [9091], "rel-milvus-indexnode": [9091]}),
    # after hop 1
    ("4.2.58", HOP1, ["datanode", "indexnode", "mixcoord", "proxy", "querynode"],
     {"rel-milvus": [19530, 9091], "rel-milvus-mixcoord": [9091], "rel-milvus-querynode": [9091],
      "rel-milvus-datanode": [9091], "rel-milvus-indexnode": [9091]}),
    # after hop 2
    ("5.0.0", ["image.all.tag=v2.6.4", "streaming.enabled=true", "indexNode.enabled=false"],
     ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"],
     {"rel-milvus": [19530, 9091], "rel-milvus-mixcoord": [9091], "rel-milvus-querynode": [9091],
      "rel-milvus-datanode": [9091], "rel-milvus-streamingnode": [9091]}),
    # 5.0.0 does not stop someone skipping hop 1
    ("5.0.0", SEPARATE,
     ["datacoord", "datanode", "indexcoord", "proxy", "querycoord", "querynode", "rootcoord",
      "streamingnode"], None),
    ("4.2.20", [], ["datanode", "indexnode", "mixcoord", "proxy", "querynode"], None),
    ("5.0.19", [], ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"], None),
])
def test_milvus_components_per_state(r, version, sets, components, services):
    docs = r(version, sets=sets)
    assert milvus_components(docs) == components
    deps = by_kind(docs, "Deployment", MILVUS)
    assert sorted(deps) == sorted(f"rel-milvus-{c}" for c in components)
    if services is not None:
        svcs = by_kind(docs, "Service", MILVUS)
        assert {n: [p["port"] for p in s["spec"]["ports"]] for n, s in svcs.items()} == services


def test_deployment_shape(r):
    docs = r("4.2.58", sets=SEPARATE + ["mixCoordinator.enabled=true"])
    deps = by_kind(docs, "Deployment", MILVUS)
    cm = by_kind(docs, "ConfigMap")["rel-milvus"]
    ports = {"proxy": [19530, 9091], "mixcoord": [9091], "rootcoord": [53100, 9091],
             "querycoord": [19531, 9091], "datacoord": [13333, 9091], "indexcoord": [31000, 9091],
             "querynode": [21123, 9091], "datanode": [21124, 9091], "indexnode": [21121, 9091]}
    for name, d in deps.items():
        comp = d["metadata"]["labels"]["component"]
        assert d["metadata"]["labels"] == {
            "helm.sh/chart": "milvus-4.2.58", "app.kubernetes.io/name": "milvus",
            "app.kubernetes.io/instance": "rel", "app.kubernetes.io/version": "2.5.16",
            "app.kubernetes.io/managed-by": "Helm", "component": comp}
        sel = {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": "rel",
               "component": comp}
        assert d["spec"]["selector"]["matchLabels"] == sel
        assert d["spec"]["template"]["metadata"]["labels"] == sel
        assert d["spec"]["replicas"] == 1
        expect_strategy = "Recreate" if comp.endswith("coord") else "RollingUpdate"
        assert d["spec"]["strategy"]["type"] == expect_strategy, name
        assert re.fullmatch(r"[0-9a-f]{64}",
                            d["spec"]["template"]["metadata"]["annotations"]["checksum/config"])
        (c,) = d["spec"]["template"]["spec"]["containers"]
        assert c["name"] == comp and c["image"] == "milvusdb/milvus:v2.5.16"
        assert [p["containerPort"] for p in c["ports"]] == ports[comp]
        assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert c["readinessProbe"]["initialDelaySeconds"] == 90
        assert c["livenessProbe"]["tcpSocket"] == {"port": "metrics"}
        if comp == "mixcoord":
            assert c["args"] == ["milvus", "run", "mixture", "-rootcoord", "-querycoord",
                                 "-datacoord", "-indexcoord"]
        else:
            assert c["args"] == ["milvus", "run", comp]
        vols = d["spec"]["template"]["spec"]["volumes"]
        assert vols[0]["configMap"]["name"] == cm["metadata"]["name"]
    assert sorted(cm["data"]) == ["default.yaml", "user.yaml"]


def test_liveness_probe_before_4_2_38_is_http(r):
    (c,) = by_kind(r("4.2.20"), "Deployment", MILVUS)["rel-milvus-proxy"]["spec"]["template"][
        "spec"]["containers"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_active_standby_rolls_instead_of_recreate(r):
    docs = r("4.2.58", sets=["mixCoordinator.activeStandby.enabled=true"])
    assert by_kind(docs, "Deployment")["rel-milvus-mixcoord"]["spec"]["strategy"]["type"] == \
        "RollingUpdate"


def test_checksum_follows_config(r):
    def checksum(sets):
        d = by_kind(r("4.2.58", sets=sets), "Deployment")["rel-milvus-proxy"]
        return d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    base = checksum([])
    assert checksum(["image.all.tag=v2.5.17"]) == base
    assert checksum(["kafka.enabled=true"]) != base
    assert checksum(["extraConfigFiles.user\\.yaml=a: 1"]) != base


@pytest.mark.parametrize("release,sets,fullname,name_label", [
    ("rel", [], "rel-milvus", "milvus"),
    ("my-milvus", [], "my-milvus", "milvus"),
    ("milvus", [], "milvus", "milvus"),
    ("rel", ["fullnameOverride=vec"], "vec", "milvus"),
    ("rel", ["nameOverride=vdb"], "rel-vdb", "vdb"),
])
def test_fullname_rule(r, release, sets, fullname, name_label):
    docs = r("4.2.58", release=release, sets=sets)
    deps = by_kind(docs, "Deployment", {"app.kubernetes.io/name": name_label})
    assert f"{fullname}-proxy" in deps and f"{fullname}-mixcoord" in deps
    assert fullname in by_kind(docs, "Service") and fullname in by_kind(docs, "ConfigMap")
    proxy_cm = deps[f"{fullname}-proxy"]["spec"]["template"]["spec"]["volumes"][0]
    assert proxy_cm["configMap"]["name"] == fullname


def test_custom_configmap_renders_no_configmap(r):
    docs = r("5.0.0", sets=["customConfigMap=my-config"])
    assert "rel-milvus" not in by_kind(docs, "ConfigMap")
    for d in by_kind(docs, "Deployment", MILVUS).values():
        assert d["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == "my-config"


def test_standalone_mode(r):
    docs = r("5.0.0", sets=["cluster.enabled=false"])
    assert sorted(by_kind(docs, "Deployment", MILVUS)) == ["rel-milvus-standalone"]


@pytest.mark.parametrize("version", VERSIONS)
def test_no_helm_hooks(r, version):
    docs = r(version, sets=["kafka.enabled=true", "pulsar.enabled=true"])
    for d in docs:
        assert "helm.sh/hook" not in (d["metadata"].get("annotations") or {}), d["metadata"]["name"]


# ---------------------------------------------------------------------------- message queue
@pytest.mark.parametrize("version,sets,blocks,pulsar_address,broker_list", [
    ("4.2.20", [], ["pulsar"], "rel-pulsar-proxy", None),
    ("4.2.40", [], ["pulsar"], "rel-pulsarv3-proxy", None),
    ("4.2.58", [], ["pulsar"], "rel-pulsarv3-proxy", None),
    ("5.0.0", [], ["pulsar"], "rel-pulsarv3-proxy", None),
    ("4.2.58", ["pulsar.enabled=true"], ["pulsar"], "rel-pulsar-proxy", None),
    ("4.2.58", ["pulsar.enabled=true", "pulsarv3.enabled=false"], ["pulsar"], "rel-pulsar-proxy",
     None),
    ("4.2.58", ["woodpecker.enabled=true"], ["woodpecker"], None, None),
    ("4.2.40", ["woodpecker.enabled=true"], ["pulsar"], "rel-pulsarv3-proxy", None),
    ("4.2.58", ["woodpecker.enabled=true", "pulsar.enabled=true"], ["pulsar"], "rel-pulsar-proxy",
     None),
    ("4.2.58", ["externalPulsar.enabled=true", "externalPulsar.host=ext.example",
                "pulsar.enabled=true"], ["pulsar"], "ext.example", None),
    ("4.2.20", ["pulsar.enabled=false", "kafka.enabled=true"], ["kafka"], None, "rel-kafka:9092"),
    ("4.2.58", ["pulsarv3.enabled=false", "kafka.enabled=true"], ["kafka"], None, "rel-kafka:9092"),
    ("4.2.58", ["kafka.enabled=true"], ["pulsar", "kafka"], "rel-pulsarv3-proxy", "rel-kafka:9092"),
    ("4.2.20", ["kafka.enabled=true"], ["pulsar", "kafka"], "rel-pulsar-proxy", "rel-kafka:9092"),
    ("4.2.58", ["pulsarv3.enabled=false", "externalKafka.enabled=true",
                "externalKafka.brokerList=k.example:9092", "kafka.enabled=true"],
     ["kafka"], None, "k.example:9092"),
    ("4.2.58", ["pulsarv3.enabled=false"], [], None, None),
])
def test_mq_block(r, version, sets, blocks, pulsar_address, broker_list):
    text = default_yaml(r(version, sets=sets))
    assert mq_blocks(text) == blocks
    assert top_value(text, "pulsar", "address") == pulsar_address
    assert top_value(text, "kafka", "brokerList") == broker_list


def test_mq_subchart_objects_and_labels(r):
    docs = r("4.2.58", sets=["pulsar.enabled=true", "kafka.enabled=true"])
    sts = by_kind(docs, "StatefulSet")
    for app in ("pulsar", "pulsarv3"):
        for comp in ("zookeeper", "bookie", "broker", "proxy", "recovery"):
            name = f"rel-{app}-{comp}"
            s = sts[name]
            labels = s["metadata"]["labels"]
            assert {k: labels[k] for k in ("app", "release", "component", "cluster")} == {
                "app": app, "release": "rel", "component": comp, "cluster": f"rel-{app}"}
            assert s["spec"]["selector"]["matchLabels"] == {"app": app, "release": "rel",
                                                            "component": comp}
            assert s["spec"]["replicas"] == 1
            assert name in by_kind(docs, "Service") and name in by_kind(docs, "ConfigMap")
        assert len(sts[f"rel-{app}-zookeeper"]["spec"]["volumeClaimTemplates"]) == 1
        assert len(sts[f"rel-{app}-bookie"]["spec"]["volumeClaimTemplates"]) == 2
        assert {f"rel-{app}-bookie-init", f"rel-{app}-pulsar-init"} <= set(by_kind(docs, "Job"))
        for kind in ("ServiceAccount", "Role", "RoleBinding"):
            assert any(n.startswith(f"rel-{app}-") for n in by_kind(docs, kind)), (app, kind)
    kafka = sts["rel-kafka"]["metadata"]["labels"]
    assert (kafka["app.kubernetes.io/name"], kafka["app.kubernetes.io/component"],
            kafka["app.kubernetes.io/instance"]) == ("kafka", "kafka", "rel")
    assert sts["rel-zookeeper"]["metadata"]["labels"]["app.kubernetes.io/name"] == "zookeeper"
    assert {"rel-kafka", "rel-zookeeper"} <= set(by_kind(docs, "Service"))
    etcd = sts["rel-etcd"]["metadata"]["labels"]
    assert (etcd["app.kubernetes.io/name"], etcd["app.kubernetes.io/instance"]) == ("etcd", "rel")
    minio = sts["rel-minio"]["metadata"]["labels"]
    assert (minio["app"], minio["release"]) == ("minio", "rel")
    for name in ("rel-kafka", "rel-zookeeper", "rel-etcd", "rel-minio"):
        assert sts[name]["spec"]["volumeClaimTemplates"], name
    # Pulsar's proxy carries component=proxy too: only the three Milvus labels select Milvus pods
    proxies = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
               and d["spec"]["template"]["metadata"]["labels"].get("component") == "proxy"]
    assert sorted(d["metadata"]["name"] for d in proxies) == [
        "rel-milvus-proxy", "rel-pulsar-proxy", "rel-pulsarv3-proxy"]


def test_no_pulsarv3_subchart_before_4_2_21(r):
    docs = r("4.2.20", sets=["pulsarv3.enabled=true"])
    assert not [d for d in docs if "pulsarv3" in d["metadata"]["name"]]
    assert mq_blocks(default_yaml(docs)) == ["pulsar"]


# ---------------------------------------------------------------------------- states file
@pytest.mark.parametrize("state", list(load_states().values()), ids=lambda s: s.name)
def test_state_renders_its_expectation(r, state):
    docs = r(state.chart, release=state.release, sets=state.set_flags()[1::2])
    assert milvus_components(docs) == sorted(state.expect["components"])
    images = {c["image"] for d in by_kind(docs, "Deployment", MILVUS).values()
              for c in d["spec"]["template"]["spec"]["containers"]}
    repo = state.image_repository or "milvusdb/milvus"
    assert images == {f"{repo}:{state.expect['image_tag']}"}
    fullname = state.release if "milvus" in state.release else f"{state.release}-milvus"
    text = default_yaml(docs, fullname)
    kinds = []
    for mq in mq_blocks(text):
        if mq == "pulsar":
            addr = top_value(text, "pulsar", "address")
            kinds.append({f"{state.release}-pulsar-proxy": "pulsar-v2",
                          f"{state.release}-pulsarv3-proxy": "pulsar-v3"}.get(addr,
                                                                              "external-pulsar"))
        else:
            kinds.append(mq)
    assert "+".join(kinds) == state.expect["mq"]


# ---------------------------------------------------------------------------- the trap (kubesim)
def _kube_objects(fleet, member, kind_path):
    api = fleet.reader(member.name)
    return {o["metadata"]["name"]: o for o in api.get(kind_path)["items"]}


MQ_KINDS = {
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Service": "/api/v1/namespaces/{ns}/services",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "PersistentVolumeClaim": "/api/v1/namespaces/{ns}/persistentvolumeclaims",
}


def objects_with_prefix(fleet, member, prefix):
    """{(kind, name): uid} of live objects whose name starts with prefix."""
    out = {}
    for kind, path in MQ_KINDS.items():
        if kind == "PersistentVolumeClaim":
            continue
        for name, obj in _kube_objects(fleet, member, path.format(ns=member.namespace)).items():
            if name.startswith(prefix):
                out[(kind, name)] = obj["metadata"]["uid"]
    return out


def live_default_yaml(fleet, member):
    cms = _kube_objects(fleet, member, MQ_KINDS["ConfigMap"].format(ns=member.namespace))
    return cms[f"{member.release}-milvus"]["data"]["default.yaml"]


@pytest.fixture(scope="module")
def trap_fleet(tmp_path_factory):
    pytest.importorskip("tests.kubesim.server")
    from tests.kubesim.fleet import Fleet

    fleet = Fleet(tmp_path_factory.mktemp("trap-fleet"),
                  clusters=[("unpinned", "v2416-old"), ("pinned", "v2416-old"),
                            ("kafka", "v2516-kafka"), ("reuse", "v2416-old"),
                            ("path", "v2510-separate-pulsar2")],
                  pod_start_delay=0.0, seed_workers=2, ready_timeout=120)
    fleet.up()
    yield fleet
    fleet.down()


def _upgrade(fleet, member, version, sets, *flags, check=True):
    args = ["upgrade", member.release, "fixture/milvus", "--version", version,
            "--namespace", member.namespace, *flags]
    for s in sets:
        args += ["--set", s]
    return fleet.helm(*args, cluster=member.name, check=check)


def test_trap_unpinned_hop1_replaces_pulsar_v2_with_empty_v3(trap_fleet):
    m = trap_fleet["unpinned"]
    before = objects_with_prefix(trap_fleet, m, "rel-pulsar-")
    expected_kinds = {"StatefulSet": 5, "Service": 5, "ConfigMap": 5, "Job": 2,
                      "ServiceAccount": 1, "Role": 1, "RoleBinding": 1}
    assert {k: sum(1 for kk, _ in before if kk == k) for k in expected_kinds} == expected_kinds
    assert not objects_with_prefix(trap_fleet, m, "rel-pulsarv3-")
    pvcs_before = set(_kube_objects(trap_fleet, m, MQ_KINDS["PersistentVolumeClaim"].format(
        ns=m.namespace)))
    assert {"rel-pulsar-bookie-ledgers-rel-pulsar-bookie-0",
            "rel-pulsar-zookeeper-data-rel-pulsar-zookeeper-0"} <= pvcs_before
    assert top_value(live_default_yaml(trap_fleet, m), "pulsar", "address") == "rel-pulsar-proxy"

    _upgrade(trap_fleet, m, "4.2.58", HOP1, "--reset-then-reuse-values")

    assert not objects_with_prefix(trap_fleet, m, "rel-pulsar-")          # all deleted
    after = objects_with_prefix(trap_fleet, m, "rel-pulsarv3-")
    assert {k: sum(1 for kk, _ in after if kk == k) for k in expected_kinds} == expected_kinds
    text = live_default_yaml(trap_fleet, m)
    assert mq_blocks(text) == ["pulsar"]
    assert top_value(text, "pulsar", "address") == "rel-pulsarv3-proxy"
    # the old PVCs are orphaned, not deleted
    pvcs_after = set(_kube_objects(trap_fleet, m, MQ_KINDS["PersistentVolumeClaim"].format(
        ns=m.namespace)))
    assert pvcs_before <= pvcs_after
    values = json.loads(trap_fleet.helm("get", "values", m.release, "-n", m.namespace, "--all",
                                        "-o", "json", cluster=m.name).stdout)
    assert (values["pulsar"]["enabled"], values["pulsarv3"]["enabled"]) == (False, True)
    trap_fleet.wait_ready(m.name, timeout=120)


def test_trap_pinned_hop1_keeps_pulsar_v2_objects(trap_fleet):
    m = trap_fleet["pinned"]
    before = objects_with_prefix(trap_fleet, m, "rel-pulsar-")
    assert len(before) == 20
    _upgrade(trap_fleet, m, "4.2.58", HOP1 + ["pulsar.enabled=true", "pulsarv3.enabled=false"],
             "--reset-then-reuse-values")
    assert objects_with_prefix(trap_fleet, m, "rel-pulsar-") == before    # same objects, same uids
    assert not objects_with_prefix(trap_fleet, m, "rel-pulsarv3-")
    text = live_default_yaml(trap_fleet, m)
    assert mq_blocks(text) == ["pulsar"]
    assert top_value(text, "pulsar", "address") == "rel-pulsar-proxy"
    deps = _kube_objects(trap_fleet, m, f"/apis/apps/v1/namespaces/{m.namespace}/deployments")
    assert sorted(deps) == ["rel-milvus-datanode", "rel-milvus-indexnode", "rel-milvus-mixcoord",
                            "rel-milvus-proxy", "rel-milvus-querynode"]


def test_trap_kafka_release_gains_unused_pulsar_v3_and_double_mq(trap_fleet):
    m = trap_fleet["kafka"]
    assert mq_blocks(live_default_yaml(trap_fleet, m)) == ["kafka"]
    assert not objects_with_prefix(trap_fleet, m, "vectors-pulsar")
    _upgrade(trap_fleet, m, "4.2.58", ["image.all.tag=v2.5.16"], "--reset-then-reuse-values")
    assert len(objects_with_prefix(trap_fleet, m, "vectors-pulsarv3-")) == 20
    text = live_default_yaml(trap_fleet, m)
    assert mq_blocks(text) == ["pulsar", "kafka"]
    assert top_value(text, "pulsar", "address") == "vectors-pulsarv3-proxy"


def test_plain_reuse_values_fails_to_render(trap_fleet):
    m = trap_fleet["reuse"]
    proc = _upgrade(trap_fleet, m, "4.2.58", HOP1, "--reuse-values", check=False)
    assert proc.returncode != 0
    assert "nil pointer" in proc.stderr
    status = json.loads(trap_fleet.helm("status", m.release, "-n", m.namespace, "-o", "json",
                                        cluster=m.name).stdout)
    assert status["version"] == 1 and status["info"]["status"] == "deployed"


def test_documented_path_with_pins_keeps_pulsar_and_reaches_streaming(trap_fleet):
    m = trap_fleet["path"]
    pins = ["pulsar.enabled=true", "pulsarv3.enabled=false"]
    before = objects_with_prefix(trap_fleet, m, "rel-pulsar-")
    assert len(before) == 20
    deps_path = f"/apis/apps/v1/namespaces/{m.namespace}/deployments"

    _upgrade(trap_fleet, m, "4.2.58", HOP1 + pins, "--reset-then-reuse-values")
    trap_fleet.wait_ready(m.name, timeout=120)
    assert sorted(_kube_objects(trap_fleet, m, deps_path)) == [
        "rel-milvus-datanode", "rel-milvus-indexnode", "rel-milvus-mixcoord", "rel-milvus-proxy",
        "rel-milvus-querynode"]

    _upgrade(trap_fleet, m, "5.0.0", ["image.all.tag=v2.6.4", "streaming.enabled=true",
                                      "indexNode.enabled=false"] + pins,
             "--reset-then-reuse-values")
    trap_fleet.wait_ready(m.name, timeout=120)
    deps = _kube_objects(trap_fleet, m, deps_path)
    assert sorted(deps) == ["rel-milvus-datanode", "rel-milvus-mixcoord", "rel-milvus-proxy",
                            "rel-milvus-querynode", "rel-milvus-streamingnode"]
    images = {c["image"] for d in deps.values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"milvusdb/milvus:v2.6.4"}
    assert objects_with_prefix(trap_fleet, m, "rel-pulsar-") == before
    assert not objects_with_prefix(trap_fleet, m, "rel-pulsarv3-")
    text = live_default_yaml(trap_fleet, m)
    assert mq_blocks(text) == ["pulsar"]
    assert top_value(text, "pulsar", "address") == "rel-pulsar-proxy"

"""Release shapes beyond the chart's defaults, several of them side by side in one namespace.

One simulated cluster, one namespace `milvus`, five Milvus 2.5.16 releases (chart 4.2.58, default Pulsar v3),
each installed the way an operator would, and one confirmed playbook run that upgrades them all at once
(one inventory host per release), then a second run:

- `rel`: its configuration moved to an operator-managed ConfigMap (`customConfigMap=rel-ops-config`), so the
  chart renders no `rel-milvus` ConfigMap;
- `milvus`: a release name that already contains `milvus` (fullname `milvus`);
- `vectors`: `nameOverride=vdb` (objects labelled `app.kubernetes.io/name=vdb`, fullname `vectors-vdb`);
- `search`: `nameOverride=vdb` and `fullnameOverride=search-engine`;
- `blind`: `customConfigMap=blind-config`, a ConfigMap that says nothing about the message queue, so a hop
  could never be verified: it must be refused before anything changes.

Asserted on cluster state: helm history, the image every pod runs, the Deployments and Services by the names
the chart gives them, the message-queue StatefulSets (same uids) and the operator's ConfigMaps (untouched).
"""

import json

import pytest
import yaml
from kubernetes import client as kube_client
from kubernetes import config as kube_config

# Simulator only: five releases in one namespace of one simulated cluster (on the real backend: next).
pytestmark = pytest.mark.kubesim

CLUSTER = "shapes"
NAMESPACE = "milvus"
# host -> (release, what helm install sets, fullname, chart name label)
SHAPES = {
    "custom-configmap": ("rel", None, "rel-milvus", "milvus"),
    "name-contains-milvus": ("milvus", [], "milvus", "milvus"),
    "name-override": ("vectors", ["nameOverride=vdb"], "vectors-vdb", "vdb"),
    "fullname-override": ("search", ["nameOverride=vdb", "fullnameOverride=search-engine"], "search-engine", "vdb"),
}
BLIND = ("blind", "blind-config")
UPGRADED = sorted(SHAPES)
HOP2_COMPONENTS = ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]


def core_api(harness):
    return kube_client.CoreV1Api(kube_config.new_client_from_config(
        config_file=str(harness.fleet.kubeconfig), context=harness.fleet[CLUSTER].context))


def create_configmap(api, name, data):
    """An operator-managed ConfigMap (not helm's): what customConfigMap points at."""
    api.create_namespaced_config_map(NAMESPACE, kube_client.V1ConfigMap(
        metadata=kube_client.V1ObjectMeta(name=name, labels={"managed-by": "operator"}), data=data))


def release_objects(harness, release):
    """{(kind, name): (uid, resourceVersion)} of every object of one release (by helm's annotation or name)."""
    member = harness.fleet[CLUSTER]
    found = {}
    for kind in ("Deployment", "StatefulSet", "Service", "ConfigMap", "Pod", "Job", "Lease"):
        for obj in member.cluster.store.list(kind, NAMESPACE):
            meta = obj["metadata"]
            owner = (meta.get("annotations") or {}).get("meta.helm.sh/release-name")
            labels = meta.get("labels") or {}
            if owner == release or labels.get("app.kubernetes.io/instance") == release \
                    or labels.get("release") == release or meta["name"].startswith(release + "-"):
                found[(kind, meta["name"])] = (meta.get("uid"), meta.get("resourceVersion"))
    return found


def revisions(harness, release):
    proc = harness.fleet.helm("history", release, "--namespace", NAMESPACE, "-o", "json", cluster=CLUSTER)
    return [row["revision"] for row in json.loads(proc.stdout)]


def mq_statefulsets(harness, release):
    return dict((name, obj["metadata"]["uid"]) for name, obj in harness.objects(CLUSTER, "StatefulSet").items()
                if (obj["metadata"].get("labels") or {}).get("release") == release)


@pytest.fixture(scope="module")
def scenario(make_harness, tmp_path_factory):
    harness = make_harness([(CLUSTER, "v2516-mixcoord")])   # release `rel`, seeded and ready
    api = core_api(harness)

    def helm(*args):
        return harness.fleet.helm(*args, "--namespace", NAMESPACE, cluster=CLUSTER)

    # rel: the operator takes over the configuration the chart rendered, as its own ConfigMap
    rendered = api.read_namespaced_config_map("rel-milvus", NAMESPACE).data
    create_configmap(api, "rel-ops-config", {"default.yaml": rendered["default.yaml"],
                                             "user.yaml": rendered.get("user.yaml") or ""})
    helm("upgrade", "rel", "fixture/milvus", "--version", "4.2.58", "--reuse-values",
         "--set", "customConfigMap=rel-ops-config")
    # blind: its own ConfigMap has the storage settings but not a word about the message queue
    create_configmap(api, BLIND[1], {"default.yaml": "etcd:\n  endpoints:\n    - blind-etcd:2379\n"
                                                     "minio:\n  address: blind-minio\n  port: 9000\n",
                                     "user.yaml": ""})
    installs = [(release, sets) for release, sets, _, _ in SHAPES.values() if sets is not None]
    installs.append((BLIND[0], ["customConfigMap=%s" % BLIND[1]]))
    for release, sets in installs:
        flags = [arg for value in sets for arg in ("--set", value)]
        helm("install", release, "fixture/milvus", "--version", "4.2.58", *flags)
    harness.fleet.wait_ready(CLUSTER, timeout=300)

    base = yaml.safe_load(harness.inventory().read_text())["all"]["hosts"][CLUSTER]
    hosts = dict((host, dict(base, milvus_release=release, milvus_upgrade_confirm=True))
                 for host, (release, _, _, _) in SHAPES.items())
    hosts["custom-configmap-blind"] = dict(base, milvus_release=BLIND[0], milvus_upgrade_confirm=True)
    inventory = tmp_path_factory.mktemp("shapes") / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": {
        "milvus_clusters": {"hosts": dict((name, {}) for name in hosts)}}}}))

    configmaps = dict((name, harness.objects(CLUSTER, "ConfigMap")[name]["metadata"]["resourceVersion"])
                      for name in ("rel-ops-config", BLIND[1]))
    before = dict(
        history=dict((release, revisions(harness, release))
                     for release in [shape[0] for shape in SHAPES.values()] + [BLIND[0]]),
        statefulsets=dict((release, mq_statefulsets(harness, release)) for release, _, _, _ in SHAPES.values()),
        blind=release_objects(harness, BLIND[0]))
    first = harness.playbook("upgrade", "--forks", str(len(hosts)), inventory=inventory)
    after_first = dict(blind=release_objects(harness, BLIND[0]),
                       configmaps=dict((name, harness.objects(CLUSTER, "ConfigMap")[name]["metadata"]["resourceVersion"])
                                       for name in configmaps))
    second = harness.playbook("upgrade", "--forks", str(len(hosts)), inventory=inventory)
    return dict(harness=harness, first=first, second=second, before=before, after_first=after_first,
                configmaps=configmaps)


@pytest.mark.parametrize("host", UPGRADED)
def test_each_release_shape_is_upgraded_where_the_chart_put_it(scenario, host):
    harness, run = scenario["harness"], scenario["first"]
    release, _, fullname, name = SHAPES[host]
    report = run.cluster_report(host)
    assert report["status"] == "upgraded", (report, run.output[-4000:])
    assert [hop["name"] for hop in report["hops_applied"]] == ["streaming"]
    assert report["message_queue"] == "pulsar-v3"
    history = scenario["before"]["history"][release]
    assert revisions(harness, release) == history + [history[-1] + 1]
    deployments = dict((dep_name, dep) for dep_name, dep in harness.objects(CLUSTER, "Deployment").items()
                       if dep["metadata"]["labels"].get("app.kubernetes.io/instance") == release
                       and dep["metadata"]["labels"].get("app.kubernetes.io/name") == name)
    assert sorted(deployments) == ["%s-%s" % (fullname, c) for c in HOP2_COMPONENTS]
    pods = [pod for pod in harness.objects(CLUSTER, "Pod").values()
            if pod["metadata"]["labels"].get("app.kubernetes.io/instance") == release
            and pod["metadata"]["labels"].get("app.kubernetes.io/name") == name]
    assert pods and all(pod["spec"]["containers"][0]["image"] == "milvusdb/milvus:v2.6.4" for pod in pods)
    assert fullname in harness.objects(CLUSTER, "Service")   # the proxy Service /healthz was asked through
    # the queue is the one it was: the same StatefulSets, not recreated
    assert mq_statefulsets(harness, release) == scenario["before"]["statefulsets"][release]


def test_a_custom_configmap_is_read_before_and_after_the_hop_and_left_alone(scenario):
    objects = scenario["harness"].objects(CLUSTER, "ConfigMap")
    assert "rel-milvus" not in objects   # the chart renders none: the wait must not look for it
    assert scenario["after_first"]["configmaps"]["rel-ops-config"] == scenario["configmaps"]["rel-ops-config"]
    report = scenario["first"].cluster_report("custom-configmap")
    assert report["status"] == "upgraded" and "error" not in report, report   # not "the message queue changed"
    assert not [w for w in report["warnings"] if "message queue" in w], report["warnings"]
    assert scenario["second"].cluster_report("custom-configmap")["status"] == "up_to_date"


def test_a_queue_that_could_not_be_verified_after_a_hop_is_refused_before_it(scenario):
    report = scenario["first"].cluster_report("custom-configmap-blind")
    assert report["status"] == "failed", report
    error = report["error"]
    assert "cluster custom-configmap-blind: release blind in namespace milvus" in error, error
    assert "customConfigMap blind-config does not say which message queue Milvus uses" in error, error
    assert "could not be verified after a hop" in error and "nothing was changed" in error, error
    assert report["failed_task"] == "Inspect the release and plan the upgrade", report
    assert revisions(scenario["harness"], "blind") == scenario["before"]["history"]["blind"]
    assert scenario["after_first"]["blind"] == scenario["before"]["blind"]   # not one object touched
    assert scenario["after_first"]["configmaps"][BLIND[1]] == scenario["configmaps"][BLIND[1]]


@pytest.mark.parametrize("host", UPGRADED)
def test_a_second_run_finds_every_shape_up_to_date(scenario, host):
    # the verification of a cluster with nothing left to do reads the same layout: no stuck "failed" cluster
    report = scenario["second"].cluster_report(host)
    assert report["status"] == "up_to_date", (report, scenario["second"].output[-3000:])
    release = SHAPES[host][0]
    history = scenario["before"]["history"][release]
    assert revisions(scenario["harness"], release) == history + [history[-1] + 1]

"""One fleet upgrade with whatever tools this pytest runs with: the helm of MILVUSOPS_TEST_HELM and the
ansible-core and kubernetes client of this Python. `make test-matrix` runs it once per helm of
tests/controlplane/versions.env and once on the lowest ansible-core and client the collection
declares; the default suite leaves it out (marker `matrix`), test_upgrade_fleet covers its own tools.

Per version it proves what the collection relies on helm for: the version check, history and values
parsing (preflight's plan), the server-side render (check mode's diff), `--reset-then-reuse-values`
(the values a hop leaves behind), an idempotent second run, and the ordered hop 2 (the default): helm's
upgrade keeps the `spec.paused` only the live Deployments have (helm 3's three-way merge, helm 4's
server-side apply), so the Deployments are rolled out by the resumes, and the end state has every
component on 2.6.4, nothing paused and no index node. helm 4 upgrades a release installed by helm 3 the
client-side way (`--server-side=auto` keeps the release's method), as the main fleet is; with helm 4 a
cluster installed by helm 4 itself proves the server-side apply path too.
"""

import subprocess
import sys

import pytest

from tests.harness import HELM

pytestmark = pytest.mark.matrix

CLUSTERS = [
    ("gpu", "v2514-gpu-private"),   # both hops; a GPU image from a private registry (a user value)
    ("kafka", "v2516-kafka"),       # hop 2 only; Kafka chosen by user values, pinned through the hop
]
TARGET_IMAGES = {"gpu": ["registry.example.internal/ai/milvus:v2.6.4-gpu"], "kafka": ["milvusdb/milvus:v2.6.4"],
                 "ssa": ["milvusdb/milvus:v2.6.4"]}

# the values the two hops set (image, the coordinators, the streaming node); the rest is the user's
HOP_OWNED = {"image", "mixCoordinator", "rootCoordinator", "queryCoordinator", "dataCoordinator",
             "indexCoordinator", "streaming", "streamingNode", "indexNode"}
TARGET_COMPONENTS = ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
# what hop 2 pauses before helm: the Deployments it changes that wait for another (mixcoord, first in the order,
# rolls out with helm; the index node, which the hop removes, is kept instead)
PAUSED_BY_HOP_2 = ["querynode", "datanode", "proxy"]


def upgrade(harness, *args, **extra_vars):
    """The upgrade playbook on the fixture's ordered inventory (playbook() without one writes the older scenarios'
    all-at-once inventory)."""
    return harness.playbook("upgrade", *args, inventory=harness.workdir / "inventory.yml", extra_vars=extra_vars)


def tool_versions():
    helm = subprocess.run([HELM, "version", "--template", "{{.Version}}"], capture_output=True, text=True,
                          check=True).stdout.strip().lstrip("v")
    import ansible.release
    import kubernetes
    return {"helm": helm, "ansible-core": ansible.release.__version__, "kubernetes": kubernetes.__version__,
            "python": sys.version.split()[0]}


@pytest.fixture(scope="module")
def harness(make_harness):
    print("tools:", tool_versions())
    h = make_harness(CLUSTERS)
    h.inventory(ordered_rollout=True)      # the default hop 2: pause, keep the index node, helm, resume in order
    return h


def milvus_objects(harness, name, kind):
    return [obj for obj in harness.objects(name, kind).values()
            if obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "milvus"]


def assert_ordered_end_state(harness, name):
    """Every component rolled out on the target image (pods, not only templates: a paused Deployment has the new
    template and the old pods), nothing paused or marked paused, the index node gone."""
    deployments = milvus_objects(harness, name, "Deployment")
    assert sorted(d["metadata"]["labels"].get("component") for d in deployments) == TARGET_COMPONENTS, name
    for d in deployments:
        meta, status = d["metadata"], d.get("status") or {}
        assert not d["spec"].get("paused"), (name, meta["name"], "left paused")
        assert "milvusops.cluster/paused-for" not in (meta.get("annotations") or {}), (name, meta["name"])
        assert status.get("observedGeneration") == meta["generation"], (name, meta["name"], status)
        assert status.get("updatedReplicas") == d["spec"].get("replicas", 1), (name, meta["name"], status)
    images = sorted(set(c["image"] for pod in milvus_objects(harness, name, "Pod")
                        for c in pod["spec"]["containers"]))
    assert images == TARGET_IMAGES[name], (name, images)


def assert_index_node_deleted_after_the_proxy(hop):
    """helm kept the index node (helm.sh/resource-policy: keep); the wait deleted it once the proxy ran 2.6."""
    deleted = hop["rollout"]["deleted"]
    assert [entry["component"] for entry in deleted] == ["indexnode"], hop["rollout"]
    assert deleted[0]["seconds"] >= hop["rollout"]["components"]["proxy"]["ready"], hop["rollout"]
    assert hop["rollout"]["still_kept"] == [] and hop["rollout"]["still_paused"] == []


def test_check_mode_renders_on_the_server_and_changes_nothing(harness):
    revisions = dict((name, harness.history(name)[-1]["revision"]) for name, _ in CLUSTERS)
    run = upgrade(harness, "--check", "--diff")
    assert run.rc == 0, run.output
    assert "+ Deployment/vectors-milvus-streamingnode" in run.output   # from helm's --dry-run=server manifest
    assert "- Deployment/vectors-milvus-indexnode" in run.output
    for name, _ in CLUSTERS:
        assert harness.history(name)[-1]["revision"] == revisions[name], name
    report = run.cluster_report("gpu")
    assert report["planned_hops"] == ["mixcoord", "streaming"]
    assert report["helm_version"] == tool_versions()["helm"]      # the helm under test drove it


def test_the_fleet_is_upgraded_and_a_second_run_changes_nothing(harness):
    user_values = dict((name, harness.helm_json(name, "get", "values", harness.fleet[name].release)) for name, _ in CLUSTERS)
    run = upgrade(harness, milvus_upgrade_confirm=True)
    assert run.rc == 0, run.output
    for name, _ in CLUSTERS:
        assert harness.milvus_images(name) == TARGET_IMAGES[name], name
        assert harness.history(name)[-1]["chart"] == "milvus-5.0.0", name
        values = harness.helm_json(name, "get", "values", harness.fleet[name].release)
        # --reset-then-reuse-values: every value the user had set is still set, beside what the hops set
        for key in set(user_values[name]) - HOP_OWNED:
            assert values.get(key) == user_values[name][key], (name, key)
        assert values["streaming"]["enabled"] is True and values["indexNode"]["enabled"] is False, name
    assert [h["name"] for h in run.cluster_report("gpu")["hops_applied"]] == ["mixcoord", "streaming"]
    for name, _ in CLUSTERS:
        assert_ordered_end_state(harness, name)
        hops = dict((h["name"], h) for h in run.cluster_report(name)["hops_applied"])
        # paused before helm, and resumed one at a time after it: helm kept spec.paused
        assert [p["component"] for p in hops["streaming"]["paused_before_helm"]] == PAUSED_BY_HOP_2, name
        timeline = hops["streaming"]["rollout"]["components"]
        resumed = sorted((c for c in timeline if timeline[c]["resumed"] is not None), key=lambda c: timeline[c]["resumed"])
        assert resumed == PAUSED_BY_HOP_2, (name, timeline)
        assert all(timeline[c]["ready"] >= timeline[c]["resumed"] for c in resumed), (name, timeline)
        # mixcoord rolled out with helm's write, and was ready before anything was resumed
        assert timeline["mixcoord"]["ready"] <= timeline[resumed[0]]["resumed"], (name, timeline)
        assert_index_node_deleted_after_the_proxy(hops["streaming"])
    assert {"pulsar", "kafka"} <= set(user_values["kafka"]) - HOP_OWNED   # the user values that must survive

    again = upgrade(harness, milvus_upgrade_confirm=True)
    assert again.rc == 0, again.output
    for name, _ in CLUSTERS:
        assert again.recap()[name]["changed"] == 0, (name, again.recap()[name])
        assert again.cluster_report(name)["status"] == "up_to_date", name


def test_helm_4_server_side_apply_keeps_the_pause_of_the_ordered_hop_2(make_harness):
    """A release installed by helm 4 is upgraded with server-side apply: spec.paused, set by the hop with a merge
    patch of its own, is a field helm's apply does not own, so it must survive helm's upgrade as under helm 3's
    three-way merge."""
    if int(tool_versions()["helm"].split(".")[0]) < 4:
        pytest.skip("server-side apply is helm 4's")
    h = make_harness([("ssa", "v2516-kafka")], helm=HELM)   # seeded (installed) by the helm under test
    h.inventory(ordered_rollout=True)
    managers = set((m.get("manager"), m.get("operation")) for d in milvus_objects(h, "ssa", "Deployment")
                   for m in d["metadata"].get("managedFields") or [])
    assert any(op == "Apply" for _, op in managers), managers       # helm 4 installed it server-side
    run = upgrade(h, milvus_upgrade_confirm=True)
    assert run.rc == 0, run.output[-3000:]
    assert_ordered_end_state(h, "ssa")
    hops = dict((hop["name"], hop) for hop in run.cluster_report("ssa")["hops_applied"])
    assert list(hops) == ["streaming"]
    assert [p["component"] for p in hops["streaming"]["paused_before_helm"]] == PAUSED_BY_HOP_2
    timeline = hops["streaming"]["rollout"]["components"]
    resumed = sorted((c for c in timeline if timeline[c]["resumed"] is not None), key=lambda c: timeline[c]["resumed"])
    assert resumed == PAUSED_BY_HOP_2, timeline
    assert_index_node_deleted_after_the_proxy(hops["streaming"])


def test_a_render_the_gate_refuses_is_never_written_by_this_helm(harness):
    """The render guard runs as this helm's post-renderer (helm 4: a plugin): a hop whose values would delete the
    Kafka StatefulSets is refused inside helm upgrade, and helm writes nothing, not even a revision."""
    name = "kafka"
    history = harness.history(name)
    playbook = harness.workdir / "switch-queue.yml"
    playbook.write_text("""
- hosts: kafka
  connection: local
  gather_facts: false
  tasks:
    - name: A hop whose values switch the message queue from Kafka to Pulsar
      milvusops.cluster.milvus_helm_hop:
        release: "{{ milvus_release }}"
        namespace: "{{ milvus_namespace }}"
        context: "{{ milvus_kube_context }}"
        kubeconfig: "{{ milvus_kubeconfig }}"
        helm_binary: "{{ milvus_helm_binary }}"
        chart_repo_url: "{{ milvus_chart_repo_url }}"
        hop_name: streaming
        chart_version: 5.0.0
        values:
          kafka: {enabled: false}
          pulsarv3: {enabled: true}
""")
    run = harness.playbook(str(playbook), "--limit", name, inventory=harness.workdir / "inventory.yml",
                           extra_vars={"ansible_python_interpreter": sys.executable})
    assert run.rc != 0
    assert "StatefulSet/%s-kafka" % harness.fleet[name].release in run.output, run.output[-3000:]
    assert "nothing was changed" in run.output
    assert harness.history(name) == history

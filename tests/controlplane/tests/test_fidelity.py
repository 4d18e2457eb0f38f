"""kubesim's fidelity, measured: the same sequences sent to kubesim and to the real control plane,
and what the collection depends on compared. A divergence either is fixed in kubesim or is listed in
ACCEPTED with why it does not matter to the collection (the comparison then skips exactly that)."""

import json
import subprocess
import time

import pytest
import yaml

from tests.controlplane.api import Api
from tests.harness import HELM
from tests.kubesim.chartrepo import ChartRepo, build_fixture_charts
from tests.kubesim.server import Cluster
from tests.kubesim.states import get_state
from tests.kubesim.tests.util import client_env, wait_for

# (sequence, field) -> why the difference does not matter to the collection
ACCEPTED = {}


class Side:
    """One backend as the sequences see it: a JSON client, a namespace, and helm's environment."""

    def __init__(self, name, kubeconfig, namespace, env):
        self.name = name
        self.api = Api(kubeconfig)
        self.namespace = namespace
        self.env = env

    def path(self, plural, name=None, group="/api/v1"):
        path = "%s/namespaces/%s/%s" % (group, self.namespace, plural)
        return path + "/" + name if name else path

    def helm(self, *args, check=True):
        proc = subprocess.run([HELM, *args, "--namespace", self.namespace], env=self.env, capture_output=True,
                              text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError("%s: helm %s failed: %s" % (self.name, " ".join(args), proc.stderr))
        return proc


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    directory = tmp_path_factory.mktemp("charts")
    build_fixture_charts(directory, versions=["4.2.58", "5.0.0"], helm=HELM)
    repo = ChartRepo(directory).start()
    yield repo
    repo.stop()


@pytest.fixture(scope="module")
def sides(control_plane, charts, tmp_path_factory):
    sim = Cluster(name="fidelity", pod_start_delay=0.0, terminate_delay=0.1).start()
    made = []
    for name in ("kubesim", "real"):
        tmp = tmp_path_factory.mktemp(name)
        if name == "kubesim":
            env = client_env(sim, tmp)
        else:
            env = client_env(sim, tmp)
            env["KUBECONFIG"] = str(control_plane.admin_kubeconfig)
        side = Side(name, env["KUBECONFIG"], "fidelity", env)
        side.api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fidelity"}})
        side.helm("repo", "add", "fixture", charts.url)
        made.append(side)
    yield made
    made[1].api.request("DELETE", "/api/v1/namespaces/fidelity")
    sim.stop()


def compare(sequence, results):
    """Assert both sides gave the same answers, but for the accepted divergences."""
    kubesim, real = results["kubesim"], results["real"]
    diverging = sorted(key for key in set(kubesim) | set(real)
                       if kubesim.get(key) != real.get(key) and (sequence, key) not in ACCEPTED)
    assert not diverging, "\n".join("%s: kubesim %s, real %s" % (key, json.dumps(kubesim.get(key)),
                                                                 json.dumps(real.get(key))) for key in diverging)


def run_both(sides, sequence, steps):
    results = dict((side.name, steps(side)) for side in sides)
    compare(sequence, results)
    return results


def configmap(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {}}


def test_client_create_replace_and_errors(sides):
    def steps(side):
        out = {}
        status, created = side.api.request("POST", side.path("configmaps"), configmap("cm-a", {"x": "1"}, {"k": "v"}))
        out["create.status"] = status
        out["create.has uid, resourceVersion, creationTimestamp"] = all(
            created["metadata"].get(key) for key in ("uid", "resourceVersion", "creationTimestamp"))
        status, again = side.api.request("POST", side.path("configmaps"), configmap("cm-a"))
        out["create again"] = (status, again.get("reason"))
        status, missing = side.api.request("GET", side.path("configmaps", "nothing-here"))
        out["get missing"] = (status, missing.get("reason"), missing.get("details", {}).get("kind"))
        stale = dict(created, data={"k": "stale"})
        stale["metadata"] = dict(created["metadata"], resourceVersion="1")
        status, answer = side.api.request("PUT", side.path("configmaps", "cm-a"), stale)
        out["replace with a stale resourceVersion"] = (status, answer.get("reason"))
        fresh = dict(created, data={"k": "fresh"})
        status, replaced = side.api.request("PUT", side.path("configmaps", "cm-a"), fresh)
        out["replace"] = (status, replaced["data"],
                          replaced["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"])
        status, answer = side.api.request("DELETE", side.path("configmaps", "cm-a"))
        out["delete"] = status
        return out
    run_both(sides, "client", steps)


def test_the_three_patch_types(sides):
    def steps(side):
        out = {}
        side.api.ensure(side.path("configmaps"), configmap("cm-p", data={"a": "1", "b": "2"}))
        status, obj = side.api.request("PATCH", side.path("configmaps", "cm-p"),
                                       [{"op": "add", "path": "/data/c", "value": "3"}],
                                       content_type="application/json-patch+json")
        out["json patch"] = (status, obj["data"])
        status, obj = side.api.request("PATCH", side.path("configmaps", "cm-p"), {"data": {"a": None, "d": "4"}},
                                       content_type="application/merge-patch+json")
        out["merge patch (null removes)"] = (status, obj["data"])
        side.api.ensure(side.path("deployments", group="/apis/apps/v1"), deployment("web", ["main", "sidecar"]))
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "example/side:2"}]}}}}
        status, obj = side.api.request("PATCH", side.path("deployments", "web", group="/apis/apps/v1"), patch,
                                       content_type="application/strategic-merge-patch+json")
        out["strategic merge patch (containers merged by name)"] = (
            status, [(c["name"], c["image"]) for c in obj["spec"]["template"]["spec"]["containers"]],
            obj["metadata"]["generation"])
        status, answer = side.api.request("PATCH", side.path("configmaps", "cm-p"), [{"op": "test", "path": "/data/a",
                                                                                      "value": "nope"}],
                                          content_type="application/json-patch+json")
        out["failed json patch test"] = status
        return out
    run_both(sides, "patch", steps)


def deployment(name, containers, **template_extra):
    spec = {"containers": [{"name": c, "image": "example/%s:1" % c} for c in containers]}
    spec.update(template_extra)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def test_list_and_watch(sides):
    def steps(side):
        out = {}
        for name, team in (("l-1", "a"), ("l-2", "b"), ("l-3", "a")):
            side.api.ensure(side.path("configmaps"), configmap(name, {"team": team}))
        listing = side.api.get(side.path("configmaps") + "?labelSelector=team%3Da")
        out["list by label"] = sorted(item["metadata"]["name"] for item in listing["items"])
        out["list has resourceVersion"] = bool(listing["metadata"].get("resourceVersion"))
        events = []

        def watch():
            for event in side.api.watch(side.path("configmaps") + "?labelSelector=team%3Dw",
                                        listing["metadata"]["resourceVersion"], timeout=10):
                events.append((event["type"], event["object"]["metadata"]["name"],
                               event["object"].get("data", {}).get("v")))
                if event["type"] == "DELETED":
                    return
        import threading
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        side.api.ensure(side.path("configmaps"), configmap("w-1", {"team": "w"}, {"v": "1"}))
        side.api.request("PATCH", side.path("configmaps", "w-1"), {"data": {"v": "2"}},
                         content_type="application/merge-patch+json")
        side.api.request("DELETE", side.path("configmaps", "w-1"))
        watcher.join(15)
        out["watch events"] = events
        return out
    run_both(sides, "watch", steps)


def test_nulls_and_defaults_in_nested_templates(sides):
    """A chart that renders nulls (Bitnami-style `annotations: null`) and leaves defaults to the server."""
    def statefulset():
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "nulls"},
                "spec": {"serviceName": "nulls", "replicas": 1, "selector": {"matchLabels": {"app": "nulls"}},
                         "template": {"metadata": {"labels": {"app": "nulls"}, "annotations": None},
                                      "spec": {"containers": [{"name": "main", "image": "example/db:1",
                                                               "resources": None, "env": None}]}},
                         "volumeClaimTemplates": [{"metadata": {"name": "data", "annotations": None,
                                                                "labels": None},
                                                   "spec": {"accessModes": ["ReadWriteOnce"],
                                                            "resources": {"requests": {"storage": "1Gi"}}}}]}}

    def steps(side):
        out = {}
        path = side.path("statefulsets", group="/apis/apps/v1")
        status, created = side.api.request("POST", path, statefulset())
        out["create with nulls"] = status
        spec = created["spec"]
        out["template.metadata"] = spec["template"]["metadata"]
        out["volumeClaimTemplates[0].metadata"] = spec["volumeClaimTemplates"][0]["metadata"]
        container = spec["template"]["spec"]["containers"][0]
        out["template.spec.containers[0].resources"] = container.get("resources")
        out["template.spec.containers[0] defaults"] = dict(
            (key, container.get(key)) for key in ("imagePullPolicy", "terminationMessagePath",
                                                  "terminationMessagePolicy"))
        out["spec defaults"] = dict((key, spec.get(key)) for key in (
            "podManagementPolicy", "revisionHistoryLimit", "updateStrategy"))
        out["template.spec defaults"] = dict((key, spec["template"]["spec"].get(key)) for key in (
            "restartPolicy", "dnsPolicy", "schedulerName", "terminationGracePeriodSeconds"))
        # helm's unchanged three-way patch of the same rendering, nulls included
        status, answer = side.api.request("PATCH", path + "/nulls", {"spec": statefulset()["spec"]},
                                          content_type="application/strategic-merge-patch+json")
        out["unchanged patch with nulls"] = (status, answer.get("message") if status != 200 else None)
        status, answer = side.api.request("PATCH", path + "/nulls",
                                          {"spec": {"volumeClaimTemplates": [{"metadata": {"name": "other"}}]}},
                                          content_type="application/strategic-merge-patch+json")
        out["changing volumeClaimTemplates is refused"] = (status, answer.get("reason"))
        out["deployment defaults"] = (lambda d: dict(
            strategy=d["spec"]["strategy"], revisionHistoryLimit=d["spec"]["revisionHistoryLimit"],
            progressDeadlineSeconds=d["spec"]["progressDeadlineSeconds"]))(
            side.api.ensure(side.path("deployments", group="/apis/apps/v1"), deployment("defaults", ["main"])))
        return out
    run_both(sides, "defaults", steps)


def test_helm_install_upgrade_dry_run_and_rollback_of_the_fixture_chart(sides):
    state = get_state("v2516-mixcoord")

    def steps(side):
        out = {}
        side.helm("install", state.release, "fixture/milvus", "--version", state.chart, *state.set_flags())
        hop = ["upgrade", state.release, "fixture/milvus", "--version", "5.0.0", "--reset-then-reuse-values",
               "--set", "streaming.enabled=true", "--set", "indexNode.enabled=false",
               "--set", "pulsar.enabled=false", "--set", "pulsarv3.enabled=true"]
        dry = side.helm(*hop, "--dry-run=server", "-o", "json")
        out["dry-run kinds and names"] = manifest_objects(json.loads(dry.stdout)["manifest"])
        out["dry-run left the release at revision"] = helm_history(side)[-1]["revision"]
        side.helm(*hop)
        out["after upgrade: history"] = [(h["revision"], h["status"], h["chart"]) for h in helm_history(side)]
        out["after upgrade: values"] = json.loads(side.helm("get", "values", state.release, "-o", "json").stdout)
        out["after upgrade: manifest"] = manifest_objects(side.helm("get", "manifest", state.release).stdout)
        out["live Deployments"] = sorted(wait_for(lambda: live_deployments(side, out["after upgrade: manifest"]),
                                                  60, 0.2, "%s: the Deployments of the manifest" % side.name))
        side.helm("rollback", state.release, "1")
        out["after rollback: history"] = [(h["revision"], h["status"], h["chart"]) for h in helm_history(side)]
        out["after rollback: no streaming node left"] = wait_for(
            lambda: not [n for n in live_deployment_names(side) if n.endswith("streamingnode")] or None,
            60, 0.2, "%s: the streaming node deleted by the rollback" % side.name)
        return out
    run_both(sides, "helm", steps)


def helm_history(side):
    return json.loads(side.helm("history", get_state("v2516-mixcoord").release, "-o", "json").stdout)


def manifest_objects(text):
    return sorted((doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(text) if doc)


def live_deployment_names(side):
    return [d["metadata"]["name"] for d in side.api.get(side.path("deployments", group="/apis/apps/v1"))["items"]]


def live_deployments(side, manifest):
    wanted = set(name for kind, name in manifest if kind == "Deployment")
    live = set(live_deployment_names(side))
    return wanted if wanted <= live else None


def test_cascading_deletion(sides):
    def steps(side):
        side.api.ensure(side.path("deployments", group="/apis/apps/v1"), deployment("gone", ["main"]))
        selector = "?labelSelector=app%3Dgone"
        wait_for(lambda: side.api.get(side.path("pods") + selector)["items"], 60, 0.2, "%s: pods" % side.name)
        assert side.api.delete(side.path("deployments", "gone", group="/apis/apps/v1"))
        started = time.monotonic()
        wait_for(lambda: not side.api.get(side.path("replicasets", group="/apis/apps/v1") + selector)["items"]
                 and not side.api.get(side.path("pods") + selector)["items"], 60, 0.2,
                 "%s: ReplicaSets and pods removed by the garbage collector" % side.name)
        return {"ReplicaSets and pods follow their Deployment": time.monotonic() - started < 60}
    run_both(sides, "gc", steps)


def test_a_dependent_created_for_owners_already_gone(sides):
    """A controller that read its owner just before the owner's deletion creates a dependent that the
    cascade never saw: the garbage collector deletes it when all its owners are gone and drops only the
    dangling references otherwise (kubesim's ReplicaSet controller can race a Deployment's deletion so)."""
    def reference(owner):
        return {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"]}

    def steps(side):
        gone = side.api.ensure(side.path("configmaps"), configmap("owner-gone"))
        live = side.api.ensure(side.path("configmaps"), configmap("owner-live"))
        assert side.api.delete(side.path("configmaps", "owner-gone"))
        for name, owners in (("orphan", [gone]), ("half-orphan", [gone, live])):
            body = configmap(name)
            body["metadata"]["ownerReferences"] = [reference(o) for o in owners]
            side.api.ensure(side.path("configmaps"), body)

        def owners_of(name):
            found = side.api.get(side.path("configmaps", name))
            return None if found is None else [r["name"] for r in found["metadata"]["ownerReferences"]]
        wait_for(lambda: owners_of("orphan") is None and owners_of("half-orphan") == ["owner-live"], 60, 0.2,
                 "%s: the orphan deleted and the dangling reference dropped" % side.name)
        return {"orphan": owners_of("orphan"), "half-orphan": owners_of("half-orphan")}
    run_both(sides, "dangling owners", steps)

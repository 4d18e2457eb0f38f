"""Controllers: Deployment rolling/recreate rollouts, StatefulSet, Job, DaemonSet, cascade deletion."""

import threading
import time

from kubernetes import client, watch

from .test_client import api_client
from .util import wait_for


def deployment(name, image, replicas=4, strategy=None):
    labels = {"app": name}
    spec = {"replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "main", "image": image}]}}}
    if strategy:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def rollout_done(cluster, name, ns="default"):
    d = cluster.store.get("deployments", name, ns)
    st = d.get("status") or {}
    conds = {c["type"]: c for c in st.get("conditions", [])}
    return (st.get("observedGeneration") == d["metadata"]["generation"] and
            conds.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable" and
            st.get("updatedReplicas") == st.get("availableReplicas") == d["spec"]["replicas"])


class PodTracker:
    """Watch pods of one app and keep the live set plus every event, for invariant checks."""

    def __init__(self, cluster, selector):
        self.core = client.CoreV1Api(api_client(cluster))
        self.live, self.events, self.violations = {}, [], []
        self.check = None
        self._w = watch.Watch()
        self._t = threading.Thread(target=self._run, args=(selector,), daemon=True)
        self._started = threading.Event()
        self._t.start()
        self._started.wait()

    def _run(self, selector):
        self._started.set()
        try:
            self._loop(selector)
        except Exception:   # the cluster stopping under a stopped tracker is not a failure
            if not self._w._stop:
                raise

    def _loop(self, selector):
        for ev in self._w.stream(self.core.list_namespaced_pod, "default", label_selector=selector,
                                 timeout_seconds=30):
            pod = ev["object"]
            if ev["type"] == "DELETED":
                self.live.pop(pod.metadata.name, None)
            else:
                self.live[pod.metadata.name] = pod
            self.events.append((ev["type"], pod.metadata.name))
            if self.check:
                msg = self.check(ev["type"], pod, self.live)
                if msg:
                    self.violations.append(msg)

    def stop(self):
        self._w.stop()


def test_rolling_update_status_transitions(kubesim):
    kubesim.set_config(pod_start_delay=0.05)
    apps = client.AppsV1Api(api_client(kubesim))
    apps.create_namespaced_deployment("default", deployment("web", "nginx:1", replicas=4))
    wait_for(lambda: rollout_done(kubesim, "web"), what="initial rollout")
    rs1 = kubesim.store.list("replicasets", "default", "app=web")
    assert len(rs1) == 1 and rs1[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert rs1[0]["metadata"]["name"] == "web-" + rs1[0]["metadata"]["labels"]["pod-template-hash"]
    assert rs1[0]["metadata"]["ownerReferences"][0]["controller"] is True

    def invariant(etype, pod, live):
        # maxSurge 25% of 4 = 1, maxUnavailable 25% of 4 = 1.
        active = [p for p in live.values() if not p.metadata.deletion_timestamp]
        ready = [p for p in active if any(c.type == "Ready" and c.status == "True"
                                          for c in (p.status.conditions or []))]
        if len(active) > 5:
            return f"{len(active)} active pods > replicas + maxSurge"
        if len(ready) < 3 and len(active) >= 4:
            return f"only {len(ready)} ready pods"
    tracker = PodTracker(kubesim, "app=web")
    wait_for(lambda: len(tracker.live) == 4, what="tracker initial list")
    tracker.check = invariant
    statuses = []
    w = watch.Watch()
    apps.patch_namespaced_deployment("web", "default",
                                     {"spec": {"template": {"spec": {"containers": [{"name": "main",
                                                                                      "image": "nginx:2"}]}}}})
    for ev in w.stream(apps.list_namespaced_deployment, "default", field_selector="metadata.name=web",
                       timeout_seconds=20):
        st = ev["object"].status
        conds = {c.type: c.reason for c in (st.conditions or [])}
        statuses.append((st.observed_generation, st.updated_replicas, st.available_replicas,
                         conds.get("Progressing")))
        if st.observed_generation == 2 and conds.get("Progressing") == "NewReplicaSetAvailable":
            w.stop()
    tracker.stop()
    assert statuses[-1] == (2, 4, 4, "NewReplicaSetAvailable")
    assert any(s[3] in ("ReplicaSetUpdated", "NewReplicaSetCreated") and s[0] == 2 for s in statuses)
    assert any(s[0] == 2 and (s[1] or 0) < 4 for s in statuses), statuses
    assert not tracker.violations, tracker.violations
    d = kubesim.store.get("deployments", "web", "default")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert {c["type"]: c["status"] for c in d["status"]["conditions"]} == {"Available": "True",
                                                                          "Progressing": "True"}
    wait_for(lambda: all(p["spec"]["containers"][0]["image"] == "nginx:2"
                         for p in kubesim.store.list("pods", "default", "app=web")), what="old pods gone")
    # The old pods went through Terminating before disappearing.
    terminating = [e for e in kubesim.events(type="PodTerminating")]
    assert len(terminating) >= 4
    assert kubesim.events(type="DeploymentRolloutComplete")[-1]["generation"] == 2
    assert not kubesim.manager.errors


def test_recreate_takes_old_pods_down_first(kubesim):
    kubesim.set_config(pod_start_delay=0.05, terminate_delay=0.2)
    apps = client.AppsV1Api(api_client(kubesim))
    apps.create_namespaced_deployment("default", deployment("coord", "milvus:1", 3, {"type": "Recreate"}))
    wait_for(lambda: rollout_done(kubesim, "coord"), what="initial rollout")

    def invariant(etype, pod, live):
        if etype == "ADDED" and pod.spec.containers[0].image == "milvus:2":
            old = [n for n, p in live.items() if p.spec.containers[0].image == "milvus:1"]
            if old:
                return f"new pod {pod.metadata.name} created while old pods exist: {old}"
    tracker = PodTracker(kubesim, "app=coord")
    wait_for(lambda: len(tracker.live) == 3, what="tracker initial list")
    tracker.check = invariant
    apps.patch_namespaced_deployment("coord", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "milvus:2"}]}}}})
    wait_for(lambda: rollout_done(kubesim, "coord") and
             (kubesim.store.get("deployments", "coord", "default").get("status") or {}).get("observedGeneration") == 2,
             what="recreate rollout")
    wait_for(lambda: len(tracker.live) == 3 and all(p.spec.containers[0].image == "milvus:2"
                                                    for p in tracker.live.values()), what="tracker sees new pods")
    tracker.stop()
    assert not tracker.violations, tracker.violations
    assert any(t == "MODIFIED" for t, _ in tracker.events)


def test_a_paused_deployment_keeps_its_pods_has_no_deadline_and_rolls_out_when_resumed(kubesim):
    """What the ordered hop 2 relies on, as the real Deployment controller does it: a paused Deployment whose
    template changes gets no new ReplicaSet, its status follows the generation with no updated replica, its
    Progressing condition says DeploymentPaused (never ProgressDeadlineExceeded), and resuming rolls it out."""
    apps = client.AppsV1Api(api_client(kubesim))
    body = deployment("held", "milvus:1", 2)
    body["spec"]["progressDeadlineSeconds"] = 1
    apps.create_namespaced_deployment("default", body)
    wait_for(lambda: rollout_done(kubesim, "held"), what="initial rollout")
    apps.patch_namespaced_deployment("held", "default", {"spec": {"paused": True}})
    apps.patch_namespaced_deployment("held", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "milvus:2"}]}}}})

    def status():
        d = kubesim.store.get("deployments", "held", "default")
        return d, d.get("status") or {}, dict((c["type"], c) for c in (d.get("status") or {}).get("conditions", []))
    wait_for(lambda: status()[1].get("observedGeneration") == status()[0]["metadata"]["generation"] == 3,
             what="the paused Deployment's status follows its generation")
    time.sleep(2.0)     # twice the progress deadline
    d, st, conds = status()
    assert conds["Progressing"]["status"] == "Unknown" and conds["Progressing"]["reason"] == "DeploymentPaused", conds
    assert not st.get("updatedReplicas") and st.get("availableReplicas") == 2, st
    assert len(kubesim.store.list("replicasets", "default", "app=held")) == 1
    assert all(p["spec"]["containers"][0]["image"] == "milvus:1" for p in kubesim.store.list("pods", "default", "app=held"))

    apps.patch_namespaced_deployment("held", "default", {"spec": {"paused": None}})
    wait_for(lambda: rollout_done(kubesim, "held") and status()[1].get("observedGeneration") == 4,
             what="the rollout after the resume")
    pods = kubesim.store.list("pods", "default", "app=held")
    wait_for(lambda: all(p["spec"]["containers"][0]["image"] == "milvus:2"
                         for p in kubesim.store.list("pods", "default", "app=held")), what="only new pods")
    assert pods


def test_rollback_reuses_old_replicaset_with_new_revision(kubesim):
    apps = client.AppsV1Api(api_client(kubesim))
    apps.create_namespaced_deployment("default", deployment("rb", "img:1", 2))
    wait_for(lambda: rollout_done(kubesim, "rb"))
    for image in ("img:2", "img:1"):
        apps.patch_namespaced_deployment("rb", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "main", "image": image}]}}}})
        wait_for(lambda: rollout_done(kubesim, "rb"), what=f"rollout to {image}")
    rss = kubesim.store.list("replicasets", "default", "app=rb")
    assert len(rss) == 2
    revs = {r["spec"]["template"]["spec"]["containers"][0]["image"]:
            r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for r in rss}
    assert revs == {"img:1": "3", "img:2": "2"}


def test_statefulset_pods_claims_and_rolling_update(kubesim):
    apps = client.AppsV1Api(api_client(kubesim))
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "db:1"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}]}}
    apps.create_namespaced_stateful_set("default", sts)

    def ready(rev_image):
        s = kubesim.store.get("statefulsets", "db", "default").get("status") or {}  # the controller may not have written it yet
        pods = kubesim.store.list("pods", "default", "app=db")
        return (s.get("readyReplicas") == 3 and s.get("currentRevision") == s.get("updateRevision") and
                s.get("updatedReplicas") == 3 and len(pods) == 3 and
                all(p["spec"]["containers"][0]["image"] == rev_image for p in pods))
    wait_for(lambda: ready("db:1"), what="statefulset ready")
    assert sorted(p["metadata"]["name"] for p in kubesim.store.list("pods", "default", "app=db")) == \
        ["db-0", "db-1", "db-2"]
    pvcs = kubesim.store.list("pvc", "default")
    assert sorted(p["metadata"]["name"] for p in pvcs) == ["data-db-0", "data-db-1", "data-db-2"]
    assert all(p["status"]["phase"] == "Bound" and "ownerReferences" not in p["metadata"] for p in pvcs)
    rev1 = kubesim.store.get("statefulsets", "db", "default")["status"]["currentRevision"]
    apps.patch_namespaced_stateful_set("db", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "db", "image": "db:2"}]}}}})
    wait_for(lambda: ready("db:2"), what="statefulset rolled")
    assert kubesim.store.get("statefulsets", "db", "default")["status"]["currentRevision"] != rev1
    apps.delete_namespaced_stateful_set("db", "default")
    wait_for(lambda: not kubesim.store.list("pods", "default", "app=db"), what="sts pods gone")
    assert len(kubesim.store.list("pvc", "default")) == 3


def test_job_completes_and_daemonset_runs(kubesim):
    batch = client.BatchV1Api(api_client(kubesim))
    batch.create_namespaced_job("default", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "init"},
                                            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                                           "containers": [{"name": "c", "image": "busybox"}]}}}})

    def complete():
        st = kubesim.store.get("jobs", "init", "default").get("status") or {}
        return st.get("succeeded") == 1 and any(c["type"] == "Complete" and c["status"] == "True"
                                                for c in st.get("conditions", []))
    wait_for(complete, what="job complete")
    [pod] = kubesim.store.list("pods", "default", "job-name=init")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    # Jobs are immutable in their template.
    from kubernetes.client.rest import ApiException
    try:
        batch.patch_namespaced_job("init", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "busybox:2"}]}}}})
        raise AssertionError("job template patch must be refused")
    except ApiException as e:
        assert e.status == 422 and "field is immutable" in e.body
    apps = client.AppsV1Api(api_client(kubesim))
    apps.create_namespaced_daemon_set("default", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
            "metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}})
    wait_for(lambda: (kubesim.store.get("daemonsets", "agent", "default").get("status") or {}).get("numberReady") == 1,
             what="daemonset ready")


def test_cascade_orphan_and_namespace_deletion(kubesim):
    apps = client.AppsV1Api(api_client(kubesim))
    core = client.CoreV1Api(api_client(kubesim))
    apps.create_namespaced_deployment("default", deployment("casc", "x:1", 2))
    wait_for(lambda: rollout_done(kubesim, "casc"))
    apps.delete_namespaced_deployment("casc", "default", propagation_policy="Orphan")
    [rs] = kubesim.store.list("replicasets", "default", "app=casc")
    assert "ownerReferences" not in rs["metadata"]
    assert len(kubesim.store.list("pods", "default", "app=casc")) == 2
    apps.delete_namespaced_replica_set(rs["metadata"]["name"], "default", propagation_policy="Foreground")
    wait_for(lambda: not kubesim.store.list("pods", "default", "app=casc"), what="pods cascade-deleted")
    core.create_namespace({"metadata": {"name": "temp"}})
    apps.create_namespaced_deployment("temp", deployment("t", "x:1", 1))
    wait_for(lambda: kubesim.store.list("pods", "temp"), what="pod in temp")
    core.delete_namespace("temp")
    assert kubesim.store.get("namespaces", "temp") is None
    assert not kubesim.store.list("deployments", "temp") and not kubesim.store.list("pods", "temp")

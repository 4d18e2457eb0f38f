"""What the benchmark records of a run, from the object changes both backends deliver (no I/O here).

kubesim's store subscription (tests/bench/run.py) and the real control plane's watches (tests/bench/real.py)
feed the same ObjectRecorder, so a figure means the same thing on both backends:

- writes: Milvus Deployment spec writes (created, deleted, or a new metadata.generation), the hop boundaries;
- revisions: helm release Secrets ``sh.helm.release.v1.<release>.v<N>`` created (a new revision);
- events: DeploymentRolloutComplete (every replica updated and available for a pod template not seen rolled out
  before: pausing or resuming a Deployment changes its generation but rolls nothing out), PodRunning and PodReady
  (a pod's phase turning Running, its Ready condition turning True; both carry the pod's first image) and
  PodDeleted, of the release's Milvus objects.

Timestamps are the caller's (when the change was seen); objects present when recording starts are ``LISTED``
and are no change.
"""

import json
import threading

LISTED = "LISTED"


def is_milvus(obj, release):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/name") == "milvus" and labels.get("app.kubernetes.io/instance") == release


def rolled_out(deployment):
    """The deployment controller has seen the current spec and every replica is updated and available."""
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    replicas = spec.get("replicas", 1)
    return (status.get("observedGeneration") == meta.get("generation")
            and status.get("updatedReplicas", 0) == replicas == status.get("replicas", 0)
            and status.get("availableReplicas", 0) == replicas)


def _image(pod):
    containers = ((pod.get("spec") or {}).get("containers")) or [{}]
    return containers[0].get("image")


def _template(deployment):
    return json.dumps((deployment.get("spec") or {}).get("template"), sort_keys=True)


class ObjectRecorder:
    """Writes, revisions and rollout events of some releases ({namespace: release}); thread-safe, append-only."""

    def __init__(self, releases):
        self.releases = dict(releases)
        self.lock = threading.Lock()
        self.writes = dict((ns, []) for ns in self.releases)      # (ts, event type, deployment name)
        self.revisions = dict((ns, []) for ns in self.releases)   # (ts, revision)
        self.events = dict((ns, []) for ns in self.releases)      # {ts, type, kind, namespace, name[, image]}
        self.deployments = dict((ns, set()) for ns in self.releases)
        self._generation = {}     # (ns, name) -> last seen metadata.generation
        self._rolled = {}         # (ns, name) -> the pod template last seen rolled out
        self._pods = {}           # pod uid -> (running, ready)

    def observe(self, kind, etype, obj, ts):
        """One change: kind deployments / pods / secrets, etype LISTED / ADDED / MODIFIED / DELETED."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace")
        release = self.releases.get(namespace)
        if release is None:
            return
        with self.lock:
            if kind == "deployments" and is_milvus(obj, release):
                self._deployment(etype, obj, namespace, meta, ts)
            elif kind == "pods" and is_milvus(obj, release):
                self._pod(etype, obj, namespace, meta, ts)
            elif kind == "secrets" and etype == "ADDED":
                prefix = "sh.helm.release.v1.%s.v" % release
                if meta.get("name", "").startswith(prefix) and meta["name"][len(prefix):].isdigit():
                    self.revisions[namespace].append((ts, int(meta["name"][len(prefix):])))

    def _event(self, namespace, ts, etype, kind, name, **extra):
        self.events[namespace].append(dict({"ts": ts, "type": etype, "kind": kind, "namespace": namespace,
                                            "name": name}, **extra))

    def _deployment(self, etype, obj, namespace, meta, ts):
        key = (namespace, meta["name"])
        self.deployments[namespace].add(meta["name"])
        generation = meta.get("generation")
        if etype == LISTED:
            self._generation[key] = generation
            self._rolled[key] = _template(obj) if rolled_out(obj) else None
            return
        if etype in ("ADDED", "DELETED") or self._generation.get(key) != generation:
            self.writes[namespace].append((ts, etype, meta["name"]))
        if etype == "DELETED":
            self._generation.pop(key, None)
            self._rolled.pop(key, None)
            return
        self._generation[key] = generation
        template = _template(obj)
        if rolled_out(obj) and self._rolled.get(key) != template:
            self._rolled[key] = template
            self._event(namespace, ts, "DeploymentRolloutComplete", "Deployment", meta["name"])

    def _pod(self, etype, obj, namespace, meta, ts):
        uid = meta.get("uid")
        if etype == "DELETED":
            self._pods.pop(uid, None)
            self._event(namespace, ts, "PodDeleted", "Pod", meta.get("name"), image=_image(obj))
            return
        status = obj.get("status") or {}
        running = status.get("phase") == "Running"
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        was_running, was_ready = self._pods.get(uid, (False, False))
        self._pods[uid] = (running, ready)
        if etype == LISTED:
            return
        if running and not was_running:
            self._event(namespace, ts, "PodRunning", "Pod", meta.get("name"), image=_image(obj))
        if ready and not was_ready:
            self._event(namespace, ts, "PodReady", "Pod", meta.get("name"), image=_image(obj))

    def record(self, namespace):
        with self.lock:
            return {"deployments": sorted(self.deployments[namespace]), "writes": list(self.writes[namespace]),
                    "revisions": list(self.revisions[namespace])}

    def events_since(self, namespace, since):
        with self.lock:
            return [e for e in self.events[namespace] if e["ts"] > since]

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a hop done? A snapshot of the release's Milvus Deployments, ReplicaSets and Pods -> ready,
still rolling, or failed with the pod and the reason (pure).

Pod Ready only means /healthz said OK (StandBy counts), and a Deployment's own conditions are met
with pods of the old revision still serving, so readiness here is stricter: the rollout has been
observed, every count equals the desired replicas, every Milvus pod runs the expected image, nothing
is Terminating or left over from an old ReplicaSet, and removed components are gone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.milvusops.cluster.plugins.module_utils.names import CHART_NAME
from ansible_collections.milvusops.cluster.plugins.module_utils.names import component_of as _component_of
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import same_image

READY = "ready"
ROLLING = "rolling"
FAILED = "failed"
MISSING = "missing"
REMOVING = "removing"

# Waiting reasons that will not go away by waiting.
FATAL_WAITING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                 "InvalidImageName", "CreateContainerError")
FATAL_TERMINATED = ("OOMKilled",)
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def component_of(obj, release=None, name=CHART_NAME):
    """The Milvus component of an object from its labels (component + app.kubernetes.io/name=<name>,
    the chart name or the release's nameOverride).

    None for other objects (Pulsar's proxy also says component=proxy) or, when release is given,
    for objects of another release.
    """
    if release is not None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/instance") != release:
            return None
    return _component_of(obj, name)


def _name(obj):
    return (obj.get("metadata") or {}).get("name", "?")


def _uid(obj):
    return (obj.get("metadata") or {}).get("uid")


def _owner(obj, kind):
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return ref
    return None


def _revision(rs):
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, 0))
    except (TypeError, ValueError):
        return 0


def _container_image(pod_spec, component):
    containers = pod_spec.get("containers") or []
    for container in containers:
        if container.get("name") == component:
            return container.get("image")
    return containers[0].get("image") if containers else None


def newest_replicaset(deployment, replicasets):
    """The ReplicaSet of the Deployment's newest revision (None when none is known)."""
    owned = []
    for rs in replicasets or []:
        ref = _owner(rs, "Deployment")
        if not ref:
            continue
        if _uid(deployment) and ref.get("uid"):
            mine = ref.get("uid") == _uid(deployment)
        else:
            mine = ref.get("name") == _name(deployment)
        if mine:
            owned.append(rs)
    if not owned:
        return None
    return max(owned, key=_revision)


def new_image_running(pods, expected_image, release=None, name=CHART_NAME):
    """True when some Milvus pod of the expected image has a running container (the new version has started)."""
    for pod in pods or []:
        component = component_of(pod, release, name)
        if not component or not same_image(_container_image(pod.get("spec") or {}, component) or "", expected_image):
            continue
        if any((status.get("state") or {}).get("running") for status in
               (pod.get("status") or {}).get("containerStatuses") or []):
            return True
    return False


def pod_failures(pod, component):
    """Fatal container problems of one pod: [{"pod", "container", "reason", "message"}]."""
    failures = []
    status = pod.get("status") or {}
    for field in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(field) or []:
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            last = (cs.get("lastState") or {}).get("terminated") or {}
            terminated = state.get("terminated") or {}
            restarts = cs.get("restartCount", 0)
            reason = None
            detail = []
            if waiting.get("reason") in FATAL_WAITING:
                reason = waiting["reason"]
                if waiting.get("message"):
                    detail.append(waiting["message"])
            if terminated.get("reason") in FATAL_TERMINATED:
                reason = reason or terminated["reason"]
            elif last.get("reason") in FATAL_TERMINATED:
                reason = last["reason"] if reason in (None, "CrashLoopBackOff") else reason
            if not reason:
                continue
            if last:
                detail.append("last exit code %s (%s)" % (last.get("exitCode"), last.get("reason") or "Error"))
            detail.append("restarts %s" % restarts)
            failures.append({
                "pod": _name(pod),
                "component": component,
                "container": cs.get("name"),
                "image": cs.get("image"),
                "reason": reason,
                "restarts": restarts,
                "message": "; ".join(detail),
            })
    return failures


def pod_not_ready_state(pod):
    """How far a pod that is not Ready got, in kubectl's words, or None when it is Ready.

    'Pending (not scheduled yet)', 'Pending (ContainerCreating)', 'Running, not ready': what a person
    watching a slow rollout needs to tell a slow image pull from a pod no node takes.
    """
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return None
    phase = status.get("phase") or "Pending"
    waiting = sorted(set(
        ((container.get("state") or {}).get("waiting") or {}).get("reason") or ""
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])) - {""})
    if waiting:
        return "%s (%s)" % (phase, ", ".join(waiting))
    if phase == "Pending":
        scheduled = any(c.get("type") == "PodScheduled" and c.get("status") == "True"
                        for c in status.get("conditions") or [])
        return "Pending (%s)" % ("scheduled, containers not started yet" if scheduled else "not scheduled yet")
    return "%s, not ready" % phase


def _unschedulable(pod):
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" \
                and condition.get("reason") == "Unschedulable":
            return condition.get("message") or "Unschedulable"
    return None


def assess(deployments, replicasets, pods, expected_image, expected_components=None, removed_components=None,
           release=None, name=CHART_NAME):
    """Judge a rollout. Returns {"state", "components", "failures", "waiting_for"} (see module docstring).

    expected_components None means: every Milvus Deployment present is expected. name is the chart name
    in app.kubernetes.io/name (the release's nameOverride, if any).
    """
    removed = set(removed_components or ())
    by_component = {}
    for dep in deployments or []:
        comp = component_of(dep, release, name)
        if comp:
            by_component.setdefault(comp, []).append(dep)
    pods_by_component = {}
    for pod in pods or []:
        comp = component_of(pod, release, name)
        if comp:
            pods_by_component.setdefault(comp, []).append(pod)
    expected = set(expected_components) if expected_components is not None else \
        set(c for c in by_component if c not in removed)
    # Any other Milvus Deployment still present must also be rolled out on the expected image.
    judged = sorted(expected | set(c for c in by_component if c not in removed))

    components, failures, waiting = {}, [], []
    for comp in judged:
        info, comp_failures, comp_waiting = _judge_component(
            comp, by_component.get(comp) or [], pods_by_component.get(comp) or [], replicasets, expected_image)
        info["expected"] = comp in expected
        components[comp] = info
        failures.extend(comp_failures)
        waiting.extend("%s: %s" % (comp, w) for w in comp_waiting)
    for comp in sorted(removed):
        deps = by_component.get(comp) or []
        left = pods_by_component.get(comp) or []
        if not deps and not left:
            continue
        parts = []
        if deps:
            parts.append("Deployment %s still present" % ", ".join(_name(d) for d in deps))
        if left:
            parts.append("%d pod(s) still present" % len(left))
        components[comp] = {"state": REMOVING, "reason": "; ".join(parts), "expected": False,
                            "replicas": 0, "updated": 0, "ready": 0, "available": 0, "image": None}
        waiting.append("%s: %s (removed component)" % (comp, "; ".join(parts)))
    if failures:
        state = FAILED
    elif waiting:
        state = ROLLING
    else:
        state = READY
    return {"state": state, "components": components, "failures": failures, "waiting_for": waiting}


def assess_snapshot(snapshot):
    """assess() over a dict {"deployments", "replicasets", "pods", "expected_image", "expected_components",
    "removed_components", "release", "name"}."""
    return assess(snapshot.get("deployments"), snapshot.get("replicasets"), snapshot.get("pods"),
                  snapshot.get("expected_image"), snapshot.get("expected_components"),
                  snapshot.get("removed_components"), snapshot.get("release"), snapshot.get("name") or CHART_NAME)


def _judge_component(comp, deps, pods, replicasets, expected_image):
    waiting = []
    failures = []
    info = {"state": ROLLING, "reason": "", "replicas": 0, "updated": 0, "ready": 0, "available": 0,
            "image": None, "deployment": None}
    if not deps:
        info["state"] = MISSING
        info["reason"] = "Deployment not created yet"
        return info, failures, ["Deployment not created yet"]
    dep = deps[0]
    if len(deps) > 1:
        waiting.append("%d Deployments carry this component (%s)" % (len(deps), ", ".join(_name(d) for d in deps)))
    spec = dep.get("spec") or {}
    status = dep.get("status") or {}
    desired = spec.get("replicas", 1)
    if desired is None:
        desired = 1
    replicas = status.get("replicas", 0) or 0
    updated = status.get("updatedReplicas", 0) or 0
    ready = status.get("readyReplicas", 0) or 0
    available = status.get("availableReplicas", 0) or 0
    image = _container_image(((spec.get("template") or {}).get("spec")) or {}, comp)
    info.update({"deployment": _name(dep), "desired": desired, "replicas": replicas, "updated": updated,
                 "ready": ready, "available": available, "image": image})

    generation = (dep.get("metadata") or {}).get("generation", 0) or 0
    observed = status.get("observedGeneration", 0) or 0
    if observed < generation:
        waiting.append("rollout not observed yet (generation %s, observed %s)" % (generation, observed))
    if expected_image and image and not same_image(image, expected_image):
        waiting.append("Deployment template runs %s, expected %s" % (image, expected_image))
    for label, count in (("updated", updated), ("ready", ready), ("available", available)):
        if count != desired:
            waiting.append("%s/%s %s" % (count, desired, label))
    if replicas != desired:
        waiting.append("%s replicas exist, %s desired" % (replicas, desired))
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            waiting.append("progress deadline exceeded: %s" % (condition.get("message") or ""))

    newest = newest_replicaset(dep, replicasets)
    old_pods, terminating, wrong_image, not_ready = [], [], [], []
    for pod in pods:
        pod_image = _container_image(pod.get("spec") or {}, comp)
        on_image = not expected_image or (pod_image and same_image(pod_image, expected_image))
        owner = _owner(pod, "ReplicaSet")
        from_old_rs = bool(newest and owner and owner.get("name") != _name(newest))
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            terminating.append(_name(pod))
            continue
        if from_old_rs:
            old_pods.append(_name(pod))
        if not on_image:
            wrong_image.append("%s (%s)" % (_name(pod), pod_image))
        if on_image and not from_old_rs:
            failures.extend(pod_failures(pod, comp))
            unschedulable = _unschedulable(pod)
            state = pod_not_ready_state(pod)
            if unschedulable:
                waiting.append("pod %s unschedulable: %s" % (_name(pod), unschedulable))
            elif state:
                not_ready.append("pod %s %s" % (_name(pod), state))
    if terminating:
        waiting.append("%d pod(s) terminating: %s" % (len(terminating), ", ".join(sorted(terminating))))
    if old_pods:
        waiting.append("%d pod(s) of an old ReplicaSet: %s" % (len(old_pods), ", ".join(sorted(old_pods))))
    if wrong_image:
        waiting.append("pod(s) not on %s: %s" % (expected_image, ", ".join(sorted(wrong_image))))
    if waiting:  # the component is not there yet: say where each new pod stands (never a reason on its own)
        waiting.extend(sorted(not_ready))

    if failures:
        info["state"] = FAILED
        info["reason"] = "; ".join("%s %s: %s" % (f["pod"], f["container"], f["reason"]) for f in failures)
    elif waiting:
        info["state"] = ROLLING
        info["reason"] = "; ".join(waiting)
    else:
        info["state"] = READY
    return info, failures, waiting


# -- staying ready: the stability window after a hop turned ready ----------------------------------------

def restart_counts(pods):
    """{pod uid or name: {container: restartCount}} of the pods that are not being deleted."""
    counts = {}
    for pod in pods:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        statuses = ((pod.get("status") or {}).get("containerStatuses") or []) + \
            ((pod.get("status") or {}).get("initContainerStatuses") or [])
        counts[_uid(pod) or _name(pod)] = dict(
            (status.get("name"), int(status.get("restartCount") or 0)) for status in statuses)
    return counts


def _crash_reason(status):
    """Why a container stopped: its last (or current) termination, else its waiting reason."""
    for state in ((status.get("lastState") or {}), (status.get("state") or {})):
        terminated = state.get("terminated")
        if terminated:
            return terminated.get("reason") or "Error", "exit code %s" % terminated.get("exitCode")
    waiting = (status.get("state") or {}).get("waiting") or {}
    return waiting.get("reason") or "restarted", (waiting.get("message") or "")[:200]


def restarts_since(baseline, pods):
    """Failures (pod, container, reason, message) of the containers that restarted or crashed since baseline.

    baseline is restart_counts() when the release first turned ready. A pod that is new since then counts
    from zero; a container of a baseline pod counts from its count then. A container that is waiting in a
    fatal state (CrashLoopBackOff, ...) or terminated with a failure is a crash even before its count moves.
    """
    failures = []
    for pod in pods:
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        before = baseline.get(_uid(pod) or _name(pod), {})
        statuses = ((pod.get("status") or {}).get("containerStatuses") or [])
        for status in statuses:
            count = int(status.get("restartCount") or 0)
            waiting = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            terminated = (status.get("state") or {}).get("terminated") or {}
            crashed = waiting in FATAL_WAITING or (terminated and terminated.get("exitCode") not in (0, None))
            if count > before.get(status.get("name"), 0) or crashed:
                reason, detail = _crash_reason(status)
                failures.append({"pod": _name(pod), "container": status.get("name"), "reason": reason,
                                 "message": "restarted after the release turned ready (restart count %d -> %d; %s)"
                                            % (before.get(status.get("name"), 0), count, detail)})
    return failures

"""Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, PVC binding, Endpoints."""

import calendar
import json
import math
import time

from . import errors
from .selectors import match_labels
from .store import clone, now_rfc3339, random_suffix

SAFE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
REVISION = "deployment.kubernetes.io/revision"


def template_hash(template):
    """pod-template-hash: FNV-1a 32 of the template, digits mapped like client-go's SafeEncodeString."""
    h = 0x811C9DC5
    for b in json.dumps(template, sort_keys=True, separators=(",", ":")).encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_CHARS[int(d) % len(SAFE_CHARS)] for d in str(h))


def is_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def is_active(pod):
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def resolve(value, total, round_up):
    """An int-or-percent of `total`."""
    if isinstance(value, str) and value.endswith("%"):
        frac = int(value[:-1]) * total / 100.0
        return int(math.ceil(frac) if round_up else math.floor(frac))
    return int(value or 0)


def owner_ref(obj, block=True):
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
           "uid": obj["metadata"]["uid"], "controller": True}
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def _replicas_counted(rs):
    """The pods a ReplicaSet stands for in the surge budget: its spec, or the pods it still runs when its own
    sync has not yet scaled down to a lowered spec (counting the spec alone lets a rollout exceed maxSurge)."""
    return max(rs["spec"].get("replicas", 0), (rs.get("status") or {}).get("replicas", 0))


def _nonzero(status):
    """Drop zero counters, as omitempty does in the real API types."""
    return {k: v for k, v in status.items() if v not in (0, None)}


def _set_condition(conds, ctype, status, reason, message, with_update=False):
    """Update or add a condition; keep lastTransitionTime unless the status flips."""
    now = now_rfc3339()
    for c in conds:
        if c["type"] == ctype:
            if c["status"] != status:
                c["lastTransitionTime"] = now
            if with_update and (c["status"] != status or c.get("reason") != reason):
                c["lastUpdateTime"] = now
            c.update({"status": status, "reason": reason, "message": message})
            return
    c = {"type": ctype, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}
    if with_update:
        c["lastUpdateTime"] = now
    conds.append(c)


class Controllers:
    def __init__(self, manager):
        self.m = manager
        self.store = manager.store
        self.cluster = manager.cluster
        self._complete_logged = {}
        self._deadline_checks = {}

    def sync(self, plural, ns, name):
        fn = {"deployments": self.deployment, "replicasets": self.replicaset,
              "statefulsets": self.statefulset, "daemonsets": self.daemonset, "jobs": self.job,
              "persistentvolumeclaims": self.pvc, "endpoints-ns": self.endpoints}.get(plural)
        if fn:
            fn(ns, name)

    # ---- pods from templates ---------------------------------------------------------
    def _new_pod(self, owner, template, name, extra_labels=None, spec_extra=None):
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels.update(extra_labels or {})
        meta = {"name": name, "namespace": owner["metadata"]["namespace"], "labels": labels,
                "ownerReferences": [owner_ref(owner)]}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        if name.endswith("-"):
            meta["generateName"] = name
            meta["name"] = name + random_suffix()
        spec = clone(template.get("spec") or {})
        spec.update(spec_extra or {})
        try:
            return self.store.create("pods", meta["namespace"], {"apiVersion": "v1", "kind": "Pod",
                                                                  "metadata": meta, "spec": spec})
        except errors.ApiError:
            return None

    def _delete_pod(self, pod):
        try:
            self.store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        except errors.ApiError:
            pass

    # ---- ReplicaSet ------------------------------------------------------------------
    def replicaset(self, ns, name):
        rs = self.store.get("replicasets", name, ns)
        if rs is None:
            return
        pods = self.store.owned_by("pods", ns, rs["metadata"]["uid"])
        active = [p for p in pods if is_active(p)]
        want = rs["spec"].get("replicas", 1)
        if len(active) < want:
            for _ in range(want - len(active)):
                pod = self._new_pod(rs, rs["spec"]["template"], rs["metadata"]["name"] + "-")
                if pod:
                    active.append(pod)
        elif len(active) > want:
            # Delete unscheduled, then not ready, then the newest pods first.
            victims = sorted(active, key=lambda p: (bool(p["spec"].get("nodeName")), is_ready(p),
                                                    [-ord(ch) for ch in p["metadata"]["creationTimestamp"]]))
            for pod in victims[:len(active) - want]:
                self._delete_pod(pod)
                active.remove(pod)
        ready = sum(1 for p in active if is_ready(p))
        status = _nonzero({"replicas": len(active), "fullyLabeledReplicas": len(active),
                           "readyReplicas": ready, "availableReplicas": ready,
                           "observedGeneration": rs["metadata"].get("generation", 1)})
        status["replicas"] = len(active)
        self.store.mutate("replicasets", ns, name, lambda o: o.__setitem__("status", status), "status")
        for ref in rs["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Deployment":
                self.m.enqueue(("deployments", ns, ref["name"]))

    # ---- Deployment ------------------------------------------------------------------
    def deployment(self, ns, name):
        d = self.store.get("deployments", name, ns)
        if d is None:
            self._complete_logged.pop((ns, name), None)
            return
        spec = d["spec"]
        replicas = spec.get("replicas", 1)
        rss = [clone(r) for r in self.store.owned_by("replicasets", ns, d["metadata"]["uid"])]
        rss.sort(key=lambda r: r["metadata"]["creationTimestamp"])
        h = template_hash(spec["template"])
        new_rs = next((r for r in rss if r["metadata"].get("labels", {}).get("pod-template-hash") == h), None)
        old = [r for r in rss if r is not new_rs]
        max_rev = max([int(r["metadata"].get("annotations", {}).get(REVISION, "0")) for r in rss] or [0])
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        created = False
        if spec.get("paused"):
            return self._deployment_status(d, new_rs, rss, created)
        if strategy == "Recreate":
            scaled = False
            for r in old:
                if r["spec"].get("replicas", 0):
                    self._scale_rs(r, 0)
                    scaled = True
            old_pods = any(self.store.owned_by("pods", ns, r["metadata"]["uid"]) for r in old)
            if scaled or old_pods:
                return self._deployment_status(d, new_rs, rss, created)
            if new_rs is None:
                new_rs = self._create_rs(d, h, max_rev + 1, replicas)
                created = True
                rss.append(new_rs)
            elif new_rs["spec"].get("replicas") != replicas:
                self._scale_rs(new_rs, replicas)
        else:
            ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
            surge = resolve(ru.get("maxSurge", "25%"), replicas, True)
            unavail = resolve(ru.get("maxUnavailable", "25%"), replicas, False)
            if surge == 0 and unavail == 0:
                unavail = 1
            total = sum(_replicas_counted(r) for r in rss)
            if new_rs is None:
                if old:
                    count = min(replicas, max(0, replicas + surge - total))
                else:
                    count = replicas
                new_rs = self._create_rs(d, h, max_rev + 1, count)
                created = True
                rss.append(new_rs)
            else:
                cur = new_rs["spec"].get("replicas", 0)
                if cur > replicas:
                    self._scale_rs(new_rs, replicas)
                elif cur < replicas and total < replicas + surge:
                    self._scale_rs(new_rs, min(replicas, cur + replicas + surge - total))
                elif old:
                    self._scale_down_old(new_rs, old, replicas, unavail)
            if not old and new_rs["spec"].get("replicas") != replicas and not created:
                self._scale_rs(new_rs, replicas)
        self._sync_revision(d, new_rs, old, max_rev)
        self._cleanup_history(d, old)
        self._deployment_status(d, new_rs, rss, created)

    def _create_rs(self, d, h, revision, replicas):
        meta = d["metadata"]
        template = clone(d["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        selector = clone(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})["pod-template-hash"] = h
        labels = dict(template["metadata"]["labels"])
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{meta['name']}-{h}", "namespace": meta["namespace"], "labels": labels,
                           "annotations": {REVISION: str(revision),
                                           "deployment.kubernetes.io/desired-replicas":
                                               str(d["spec"].get("replicas", 1)),
                                           "deployment.kubernetes.io/max-replicas":
                                               str(d["spec"].get("replicas", 1))},
                           "ownerReferences": [owner_ref(d)]},
              "spec": {"replicas": replicas, "selector": selector, "template": template,
                       "minReadySeconds": d["spec"].get("minReadySeconds", 0)}}
        try:
            return self.store.create("replicasets", meta["namespace"], rs)
        except errors.ApiError:
            return self.store.get("replicasets", rs["metadata"]["name"], meta["namespace"]) or rs

    def _scale_rs(self, rs, replicas):
        rs["spec"]["replicas"] = replicas
        self.store.mutate("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"],
                          lambda o: o["spec"].__setitem__("replicas", replicas))

    def _scale_down_old(self, new_rs, old, replicas, unavail):
        min_available = replicas - unavail
        all_rs = old + [new_rs]
        total = sum(r["spec"].get("replicas", 0) for r in all_rs)
        new_unavailable = max(0, new_rs["spec"].get("replicas", 0) -
                              (new_rs.get("status") or {}).get("availableReplicas", 0))
        budget = total - min_available - new_unavailable
        if budget <= 0:
            return
        # Unhealthy old replicas first: they do not count toward availability.
        for r in old:
            have = r["spec"].get("replicas", 0)
            avail = min(have, (r.get("status") or {}).get("availableReplicas", 0))
            down = min(budget, have - avail)
            if down > 0:
                self._scale_rs(r, have - down)
                budget -= down
        available = sum(min(r["spec"].get("replicas", 0), (r.get("status") or {}).get("availableReplicas", 0))
                        for r in all_rs)
        to_remove = min(budget, available - min_available)
        for r in old:
            if to_remove <= 0:
                break
            have = r["spec"].get("replicas", 0)
            down = min(have, to_remove)
            if down > 0:
                self._scale_rs(r, have - down)
                to_remove -= down

    def _sync_revision(self, d, new_rs, old, max_rev):
        rev = new_rs["metadata"].get("annotations", {}).get(REVISION, "0")
        if old and int(rev) < max_rev:   # a rollback to an older template takes the next revision
            rev = str(max_rev + 1)
            self.store.mutate("replicasets", new_rs["metadata"]["namespace"], new_rs["metadata"]["name"],
                              lambda o: o["metadata"].setdefault("annotations", {}).__setitem__(REVISION, rev))
        if d["metadata"].get("annotations", {}).get(REVISION) != rev:
            self.store.mutate("deployments", d["metadata"]["namespace"], d["metadata"]["name"],
                              lambda o: o["metadata"].setdefault("annotations", {}).__setitem__(REVISION, rev))

    def _cleanup_history(self, d, old):
        limit = d["spec"].get("revisionHistoryLimit", 10)
        idle = [r for r in old if not r["spec"].get("replicas") and not (r.get("status") or {}).get("replicas")]
        for r in idle[:max(0, len(idle) - limit)]:
            try:
                self.store.delete("replicasets", r["metadata"]["namespace"], r["metadata"]["name"])
            except errors.ApiError:
                pass

    def _deployment_status(self, d, new_rs, rss, created):
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        rss = [self.store.get("replicasets", r["metadata"]["name"], ns) for r in rss]
        rss = [r for r in rss if r]
        new_rs = self.store.get("replicasets", new_rs["metadata"]["name"], ns) if new_rs else None
        replicas = d["spec"].get("replicas", 1)

        def st(r, key):
            return (r.get("status") or {}).get(key, 0) if r else 0
        available = sum(st(r, "availableReplicas") for r in rss)
        total_spec = sum(r["spec"].get("replicas", 0) for r in rss)
        status_replicas = sum(st(r, "replicas") for r in rss)
        updated = st(new_rs, "replicas")
        strategy = d["spec"].get("strategy") or {}
        unavail = 0
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            ru = strategy.get("rollingUpdate") or {}
            unavail = resolve(ru.get("maxUnavailable", "25%"), replicas, False)
            if unavail == 0 and resolve(ru.get("maxSurge", "25%"), replicas, True) == 0:
                unavail = 1
        generation = d["metadata"].get("generation", 1)
        paused = bool(d["spec"].get("paused"))
        complete = (new_rs is not None and updated == replicas and status_replicas == replicas and
                    available == replicas and total_spec == replicas)
        rs_name = new_rs["metadata"]["name"] if new_rs else ""
        deadline = d["spec"].get("progressDeadlineSeconds", 600)
        old_status = d.get("status") or {}
        counts = {"observedGeneration": generation, "replicas": status_replicas, "updatedReplicas": updated,
                  "readyReplicas": sum(st(r, "readyReplicas") for r in rss), "availableReplicas": available,
                  "unavailableReplicas": max(0, total_spec - available)}
        progressed = any(old_status.get(k, 0) != v for k, v in counts.items())

        def apply(o):
            status = o.setdefault("status", {})
            conds = status.get("conditions", [])
            for k, v in counts.items():
                if v:
                    status[k] = v
                else:
                    status.pop(k, None)
            if available >= replicas - unavail:
                _set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                               "Deployment has minimum availability.", True)
            else:
                _set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                               "Deployment does not have minimum availability.", True)
            prog = next((c for c in conds if c["type"] == "Progressing"), None)
            if paused:
                # as the real controller: a paused Deployment is not progressing and has no progress deadline
                if not prog or prog["reason"] != "DeploymentPaused":
                    _set_condition(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", True)
            elif prog and prog["reason"] == "DeploymentPaused" and not complete:
                # resumed: the deadline counts from here
                _set_condition(conds, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", True)
                if created:
                    _set_condition(conds, "Progressing", "True", "NewReplicaSetCreated",
                                   f'Created new replica set "{rs_name}"', True)
            elif complete:
                _set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                               f'ReplicaSet "{rs_name}" has successfully progressed.', True)
            elif created:
                _set_condition(conds, "Progressing", "True", "NewReplicaSetCreated",
                               f'Created new replica set "{rs_name}"', True)
            elif prog and prog["reason"] == "ProgressDeadlineExceeded" and not progressed:
                pass
            elif (prog and prog.get("lastUpdateTime") and not progressed and
                  _age(prog["lastUpdateTime"]) > deadline):
                _set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                               f'ReplicaSet "{rs_name}" has timed out progressing.', True)
            elif progressed or prog is None or prog["reason"] == "NewReplicaSetAvailable":
                _set_condition(conds, "Progressing", "True", "ReplicaSetUpdated",
                               f'ReplicaSet "{rs_name}" is progressing.', True)
                for c in conds:
                    if c["type"] == "Progressing":
                        c["lastUpdateTime"] = now_rfc3339()
            status["conditions"] = conds

        out = self.store.mutate("deployments", ns, name, apply, subresource="status")
        if out is None:
            return
        key = (ns, name)
        if complete and out["metadata"].get("generation") == generation:
            marker = (generation, rs_name)
            if self._complete_logged.get(key) != marker:
                self._complete_logged[key] = marker
                self.cluster.log_event("DeploymentRolloutComplete", out, generation=generation,
                                       replicaset=rs_name, images=[c.get("image") for c in
                                                                   d["spec"]["template"]["spec"]["containers"]])
        elif not complete and not paused:
            # One pending deadline check per deployment, not one per sync.
            due = self._deadline_checks.get(key, 0)
            if due < time.time():
                wait = min(deadline, 3600) + 0.5
                self._deadline_checks[key] = time.time() + wait
                self.m.schedule(wait, ("deployments", ns, name))

    # ---- StatefulSet -----------------------------------------------------------------
    def statefulset(self, ns, name):
        sts = self.store.get("statefulsets", name, ns)
        if sts is None:
            return
        spec = sts["spec"]
        replicas = spec.get("replicas", 1)
        rev = f"{name}-{template_hash(spec['template'])}"
        pods = {p["metadata"]["name"]: p for p in self.store.owned_by("pods", ns, sts["metadata"]["uid"])}
        parallel = spec.get("podManagementPolicy") == "Parallel"
        for i in range(replicas):
            self._ensure_claims(sts, i)
        busy = any(p["metadata"].get("deletionTimestamp") for p in pods.values())
        for i in range(replicas):
            pname = f"{name}-{i}"
            pod = pods.get(pname)
            if pod is None:
                if pname in self._store_pod_names(ns, pname):
                    busy = True   # an old pod of the same name still terminating / not ours yet
                    if not parallel:
                        break
                    continue
                self._create_sts_pod(sts, i, rev)
                if not parallel:
                    busy = True
                    break
            elif not parallel and (not is_ready(pod) or pod["metadata"].get("deletionTimestamp")):
                busy = True
                break
        for pname, pod in sorted(pods.items(), key=lambda kv: -_ordinal(kv[0])):
            if _ordinal(pname) >= replicas and not pod["metadata"].get("deletionTimestamp"):
                self._delete_pod(pod)
                busy = True
                if not parallel:
                    break
        us = spec.get("updateStrategy") or {}
        if not busy and us.get("type", "RollingUpdate") == "RollingUpdate":
            partition = (us.get("rollingUpdate") or {}).get("partition", 0)
            live = [pods.get(f"{name}-{i}") for i in range(replicas)]
            if all(p is not None and is_ready(p) for p in live):
                for i in reversed(range(partition, replicas)):
                    p = live[i]
                    if p["metadata"].get("labels", {}).get("controller-revision-hash") != rev:
                        self._delete_pod(p)
                        break
        pods = [p for p in self.store.owned_by("pods", ns, sts["metadata"]["uid"])]
        current = (sts.get("status") or {}).get("currentRevision") or rev
        updated = sum(1 for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") == rev)
        ready = sum(1 for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp"))
        if updated == replicas and ready == replicas and len(pods) == replicas:
            current = rev
        cur_count = sum(1 for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") == current)
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                  "readyReplicas": ready, "currentReplicas": cur_count, "updatedReplicas": updated,
                  "availableReplicas": ready, "currentRevision": current, "updateRevision": rev,
                  "collisionCount": 0}
        status = {k: v for k, v in status.items() if v != 0 or k in ("replicas", "collisionCount",
                                                                    "availableReplicas")}
        out = self.store.mutate("statefulsets", ns, name, lambda o: o.__setitem__("status", status), "status")
        if out and current == rev and ready == replicas and len(pods) == replicas:
            marker = ("sts", rev, sts["metadata"].get("generation"))
            if self._complete_logged.get(("sts", ns, name)) != marker:
                self._complete_logged[("sts", ns, name)] = marker
                self.cluster.log_event("StatefulSetRolloutComplete", out, revision=rev)

    def _store_pod_names(self, ns, pname):
        return [pname] if self.store.get("pods", pname, ns) is not None else []

    def _create_sts_pod(self, sts, i, rev):
        name = sts["metadata"]["name"]
        spec_extra = {"hostname": f"{name}-{i}"}
        if sts["spec"].get("serviceName"):
            spec_extra["subdomain"] = sts["spec"]["serviceName"]
        volumes = list((sts["spec"]["template"].get("spec") or {}).get("volumes") or [])
        have = {v.get("name") for v in volumes}
        for vct in sts["spec"].get("volumeClaimTemplates") or []:
            vname = vct["metadata"]["name"]
            if vname not in have:
                volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": f"{vname}-{name}-{i}"}})
        if volumes:
            spec_extra["volumes"] = volumes
        labels = {"controller-revision-hash": rev, "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                  "apps.kubernetes.io/pod-index": str(i)}
        self._new_pod(sts, sts["spec"]["template"], f"{name}-{i}", labels, spec_extra)

    def _ensure_claims(self, sts, i):
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for vct in sts["spec"].get("volumeClaimTemplates") or []:
            cname = f"{vct['metadata']['name']}-{name}-{i}"
            if self.store.get("persistentvolumeclaims", cname, ns) is not None:
                continue
            labels = dict(vct["metadata"].get("labels") or {})
            labels.update(sts["spec"]["selector"].get("matchLabels") or {})
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": cname, "namespace": ns, "labels": labels},
                   "spec": clone(vct.get("spec") or {})}
            if vct["metadata"].get("annotations"):
                pvc["metadata"]["annotations"] = dict(vct["metadata"]["annotations"])
            try:
                self.store.create("persistentvolumeclaims", ns, pvc)
            except errors.ApiError:
                pass

    # ---- DaemonSet (one node) --------------------------------------------------------
    def daemonset(self, ns, name):
        ds = self.store.get("daemonsets", name, ns)
        if ds is None:
            return
        h = template_hash(ds["spec"]["template"])
        pods = self.store.owned_by("pods", ns, ds["metadata"]["uid"])
        active = [p for p in pods if is_active(p)]
        current = [p for p in active if p["metadata"].get("labels", {}).get("controller-revision-hash") == h]
        stale = [p for p in active if p not in current]
        if stale:
            for p in stale:
                self._delete_pod(p)
        elif not current and not pods:
            gen = str(ds["metadata"].get("generation", 1))
            self._new_pod(ds, ds["spec"]["template"], name + "-",
                          {"controller-revision-hash": h, "pod-template-generation": gen})
        pods = [p for p in self.store.owned_by("pods", ns, ds["metadata"]["uid"]) if is_active(p)]
        ready = sum(1 for p in pods if is_ready(p))
        upd = sum(1 for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") == h)
        status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": 1, "numberMisscheduled": 0,
                  "numberReady": ready, "observedGeneration": ds["metadata"].get("generation", 1),
                  "updatedNumberScheduled": upd, "numberAvailable": ready}
        if ready < 1:
            status["numberUnavailable"] = 1
        self.store.mutate("daemonsets", ns, name, lambda o: o.__setitem__("status", status), "status")

    # ---- Job -------------------------------------------------------------------------
    def job(self, ns, name):
        job = self.store.get("jobs", name, ns)
        if job is None:
            return
        status = job.get("status") or {}
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in status.get("conditions") or []):
            return
        if job["spec"].get("suspend"):
            return
        pods = self.store.owned_by("pods", ns, job["metadata"]["uid"])
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if is_active(p)]
        completions = job["spec"].get("completions", 1)
        now = now_rfc3339()
        conds = list(status.get("conditions") or [])
        done = None
        if succeeded >= completions:
            done = "Complete"
            conds.append({"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now,
                          "lastTransitionTime": now, "reason": "CompletionsReached",
                          "message": "Reached expected number of succeeded pods"})
            conds.append({"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                          "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"})
        elif failed > job["spec"].get("backoffLimit", 6):
            done = "Failed"
            for p in active:
                self._delete_pod(p)
            active = []
            conds.append({"type": "FailureTarget", "status": "True", "lastProbeTime": now,
                          "lastTransitionTime": now, "reason": "BackoffLimitExceeded",
                          "message": "Job has reached the specified backoff limit"})
            conds.append({"type": "Failed", "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                          "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"})
        elif len(active) < job["spec"].get("parallelism", 1) and succeeded + len(active) < completions:
            pod = self._new_pod(job, job["spec"]["template"], name + "-")
            if pod:
                active.append(pod)
        new = {"startTime": status.get("startTime", now), "active": len(active), "succeeded": succeeded,
               "failed": failed, "ready": sum(1 for p in active if is_ready(p)), "terminating": 0,
               "uncountedTerminatedPods": {}}
        new = {k: v for k, v in new.items() if v != 0 or k == "terminating"}
        if conds:
            new["conditions"] = conds
        if done == "Complete":
            new["completionTime"] = now
        self.store.mutate("jobs", ns, name, lambda o: o.__setitem__("status", new), "status")
        if done:
            self.cluster.log_event("Job" + done, job)

    # ---- PVC -------------------------------------------------------------------------
    def pvc(self, ns, name):
        pvc = self.store.get("persistentvolumeclaims", name, ns)
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return

        def bind(o):
            o["spec"]["volumeName"] = "pvc-" + o["metadata"]["uid"]
            o["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
            o["status"] = {"phase": "Bound", "accessModes": o["spec"].get("accessModes", ["ReadWriteOnce"]),
                           "capacity": dict(((o["spec"].get("resources") or {}).get("requests") or
                                             {"storage": "1Gi"}))}
        self.store.mutate("persistentvolumeclaims", ns, name, bind, subresource="*")

    # ---- Endpoints -------------------------------------------------------------------
    def endpoints(self, ns, _name):
        services = self.store.list("services", ns, raw=True)
        pods = [p for p in self.store.list("pods", ns, raw=True)
                if not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("podIP")]
        names = set()
        for svc in services:
            sel = (svc.get("spec") or {}).get("selector")
            if not sel:
                continue
            names.add(svc["metadata"]["name"])
            reqs = [(k, "=", {v}) for k, v in sel.items()]
            members = [p for p in pods if match_labels(reqs, p["metadata"].get("labels"))]
            subset = {}
            ready = [_address(p) for p in members if is_ready(p)]
            unready = [_address(p) for p in members if not is_ready(p)]
            if ready:
                subset["addresses"] = ready
            if unready:
                subset["notReadyAddresses"] = unready
            if subset:
                subset["ports"] = [{k: v for k, v in (("name", pt.get("name")), ("port", _target(pt)),
                                                      ("protocol", pt.get("protocol", "TCP"))) if v is not None}
                                   for pt in svc["spec"].get("ports") or []]
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": svc["metadata"]["name"], "namespace": ns,
                                 "labels": dict(svc["metadata"].get("labels") or {})}}
            if subset:
                body["subsets"] = [subset]
            current = self.store.get("endpoints", svc["metadata"]["name"], ns)
            try:
                if current is None:
                    self.store.create("endpoints", ns, body)
                else:
                    body["metadata"] = dict(current["metadata"], labels=body["metadata"]["labels"])
                    self.store.update("endpoints", ns, svc["metadata"]["name"], body, check_rv=False)
            except errors.ApiError:
                pass
        svc_names = {s["metadata"]["name"] for s in services}
        for ep in self.store.list("endpoints", ns, raw=True):
            if ep["metadata"]["name"] not in svc_names:
                try:
                    self.store.delete("endpoints", ns, ep["metadata"]["name"])
                except errors.ApiError:
                    pass


def _address(pod):
    return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"),
            "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                          "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}


def _target(port):
    t = port.get("targetPort", port.get("port"))
    return t if isinstance(t, int) else port.get("port")


def _ordinal(pod_name):
    try:
        return int(pod_name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def _age(rfc3339):
    return time.time() - calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))

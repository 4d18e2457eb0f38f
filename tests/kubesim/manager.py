"""The controller manager loop: store notifications and timers drive reconcilers in one thread."""

import heapq
import itertools
import threading
import time
import traceback

from . import controllers
from .kubelet import Kubelet

OWNER_PLURALS = {"ReplicaSet": "replicasets", "Deployment": "deployments", "StatefulSet": "statefulsets",
                 "Job": "jobs", "DaemonSet": "daemonsets"}


class Manager:
    """Level-triggered reconcile loop; keys are (plural, namespace, name)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self._cond = threading.Condition()
        self._dirty = {}
        self._timers = []
        self._seq = itertools.count()
        self._stop = False
        self.errors = []
        self.kubelet = Kubelet(self)
        self.controllers = controllers.Controllers(self)
        self._thread = threading.Thread(target=self._run, name=f"kubesim-{cluster.name}-manager",
                                        daemon=True)

    def start(self):
        self.store.subscribe(self._on_event)
        for res in ("pods", "replicasets", "deployments", "statefulsets", "jobs", "daemonsets",
                    "persistentvolumeclaims", "services"):
            for obj in self.store.list(res, raw=True):
                self._on_event("ADDED", _Res(res), obj, None)
        self._thread.start()

    def stop(self):
        self.store.unsubscribe(self._on_event)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    # Called under the store lock: only queue work here.
    def _on_event(self, etype, res, obj, old):
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        keys = [(res.plural, ns, meta["name"])]
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") in OWNER_PLURALS:
                keys.append((OWNER_PLURALS[ref["kind"]], ns, ref["name"]))
        if res.plural in ("pods", "services"):
            keys.append(("endpoints-ns", ns, ""))
        self.enqueue(*keys)

    def enqueue(self, *keys):
        with self._cond:
            for key in keys:
                self._dirty[key] = None
            self._cond.notify()

    def schedule(self, delay, key):
        """Reconcile `key` again after `delay` seconds."""
        with self._cond:
            heapq.heappush(self._timers, (time.monotonic() + max(delay, 0), next(self._seq), key))
            self._cond.notify()

    def wake_all_pods(self):
        """Faults changed: let the kubelet look at every pod again."""
        self.enqueue(*[("pods", p["metadata"]["namespace"], p["metadata"]["name"])
                       for p in self.store.list("pods", raw=True)])

    def _run(self):
        while True:
            with self._cond:
                while not self._stop:
                    now = time.monotonic()
                    while self._timers and self._timers[0][0] <= now:
                        self._dirty[heapq.heappop(self._timers)[2]] = None
                    if self._dirty:
                        break
                    wait = self._timers[0][0] - now if self._timers else None
                    self._cond.wait(wait)
                if self._stop:
                    return
                batch, self._dirty = list(self._dirty), {}
            for key in batch:
                try:
                    self._reconcile(key)
                except Exception:   # keep the loop alive; tests can inspect manager.errors
                    self.errors.append(traceback.format_exc())
                    if len(self.errors) > 100:
                        del self.errors[:50]

    def _reconcile(self, key):
        plural, ns, name = key
        if plural == "pods":
            self.kubelet.sync(ns, name)
        else:
            self.controllers.sync(plural, ns, name)


class _Res:
    def __init__(self, plural):
        self.plural = plural

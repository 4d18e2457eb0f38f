"""The benchmark on the real control plane (tests/controlplane): kube-apiserver, etcd, the controller manager,
the scheduler and kwok, inside the network namespace of `python -m tests.controlplane.netns -- ...`.

RealMeasured is run.Measured for a RealFleet: the same end-state check, and the same records, taken from the
outside instead of from kubesim's store:

- Milvus Deployment spec writes, helm release revisions and the rollout events (record.py, the same
  ObjectRecorder kubesim's store subscription feeds) come from three cluster-wide watches (admin identity),
  timestamped when this process receives them (the API server runs on the same machine);
- API requests: the API server counts no requests per client in apiserver_request_total, but its API
  Priority and Fairness metrics count per flow schema. The tools run as the collection's ServiceAccount
  (namespace milvusops), which only the flow schema `service-accounts` matches (the controllers run as
  kube-system ServiceAccounts, kwok and the test agent as system:masters, which are exempt), so
  apiserver_flowcontrol_dispatched_requests_total{flow_schema="service-accounts"} before and after a run
  counts the tool's own requests. No verb breakdown exists there.
"""

import contextlib
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from tests.controlplane.fleet import RealFleet

from .record import LISTED, ObjectRecorder
from .run import STATE, Measured

FLOW_SCHEMA = "service-accounts"
_DISPATCHED = re.compile(r'^apiserver_flowcontrol_dispatched_requests_total\{([^}]*)\}\s+([0-9.e+]+)$')


@contextlib.contextmanager
def real_control_plane(workdir, delay):
    """One started control plane whose kwok stage starts pods after `delay` seconds; stopped at the end."""
    from tests.controlplane.cluster import ControlPlane
    started = time.monotonic()
    plane = ControlPlane(workdir, pod_start_delay=delay).start()
    print("    real control plane (pod start delay %s s) up in %.1f s" % (delay, time.monotonic() - started))
    try:
        yield plane
    finally:
        plane.stop()


def dispatched_requests(plane, flow_schema=FLOW_SCHEMA):
    """The API server's count of requests dispatched for one APF flow schema so far; None if /metrics is not
    readable."""
    status, text = plane.api.request("GET", "/metrics", timeout=30)
    if status != 200 or not isinstance(text, str):
        return None
    total = 0.0
    for line in text.splitlines():
        match = _DISPATCHED.match(line)
        if match and 'flow_schema="%s"' % flow_schema in match.group(1):
            total += float(match.group(2))
    return total


class WatchRecorder:
    """Cluster-wide watches of Milvus Deployments and pods and of helm release Secrets, into an ObjectRecorder
    of the members' namespaces."""

    WATCHES = (("deployments", "/apis/apps/v1/deployments", "app.kubernetes.io/name=milvus"),
               ("pods", "/api/v1/pods", "app.kubernetes.io/name=milvus"),
               ("secrets", "/api/v1/secrets", "owner=helm"))

    def __init__(self, api, members):
        self.api = api
        self.recorder = ObjectRecorder(dict((m.namespace, m.release) for m in members))
        self._stop = threading.Event()
        self._threads = []
        for kind, path, selector in self.WATCHES:
            version = self._list(kind, path, selector, LISTED)
            thread = threading.Thread(target=self._watch, args=(kind, path, selector, version),
                                      name="bench-watch-" + kind, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _query(self, path, selector):
        return "%s?labelSelector=%s" % (path, urllib.parse.quote(selector))

    def _list(self, kind, path, selector, etype):
        """The current objects (LISTED at the start: no change), and the list's resourceVersion."""
        status, answer = self.api.request("GET", self._query(path, selector), timeout=30)
        if status != 200:
            raise RuntimeError("list %s: %s %s" % (kind, status, answer))
        for obj in answer.get("items", []):
            self.recorder.observe(kind, etype, obj, time.time())
        return answer["metadata"]["resourceVersion"]

    def _watch(self, kind, path, selector, version):
        while not self._stop.is_set():
            try:
                for event in self.api.watch(self._query(path, selector), version, timeout=60):
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":     # e.g. 410 Gone: start again from a fresh list
                        version = self._list(kind, path, selector, "MODIFIED")
                        break
                    version = (obj.get("metadata") or {}).get("resourceVersion", version)
                    self.recorder.observe(kind, event.get("type"), obj, time.time())
                    if self._stop.is_set():
                        return
            except Exception:  # noqa: BLE001 - the server closed the watch or is stopping: watch again
                if self._stop.wait(0.5):
                    return

    def record(self, namespace):
        return self.recorder.record(namespace)

    def events_since(self, namespace, since):
        return self.recorder.events_since(namespace, since)

    def close(self):
        self._stop.set()


class RealMeasured(Measured):
    """A RealFleet of `size` clusters in STATE on `plane`, whose pods start after the plane's delay."""

    def __init__(self, plane, size, delay, workdir, log=print):  # noqa: super().__init__ makes a kubesim fleet
        self.size, self.delay = size, float(delay)
        self.plane = plane
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state_dir = Path(tempfile.mkdtemp(prefix="bench-real-fleet-"))
        width = max(2, len(str(size)))
        clusters = [("c%0*d" % (width, i + 1), STATE) for i in range(size)]
        started = time.monotonic()
        self.fleet = RealFleet(self.state_dir, clusters, plane=plane, pod_start_delay=self.delay,
                               seed_workers=min(4, size)).up()
        self.up_seconds = round(time.monotonic() - started, 1)
        log("    real fleet of %d up in %.1f s" % (size, self.up_seconds))
        self.before = dict((m.name, self._mq_uids(m)) for m in self.fleet)
        self.watches = WatchRecorder(plane.api, list(self.fleet))
        self._requests_before = None

    def reset(self):
        self._requests_before = dispatched_requests(self.plane)

    def collect(self, run_start):
        time.sleep(1.0)   # the watches deliver the run's last events
        self._requests_after = dispatched_requests(self.plane)
        out = {}
        for member in self.fleet:
            out[member.name] = {
                "events": self.watches.events_since(member.namespace, run_start - 1),
                "counters": {},
                "record": self.watches.record(member.namespace),
                "end_state_problem": self.end_state(member),
            }
        return out

    def requests(self, raw):
        before, after = self._requests_before, getattr(self, "_requests_after", None)
        if before is None or after is None:
            return {"per_cluster": None, "by_verb": None, "by_key": None,
                    "source": "unavailable: the API server's /metrics could not be read"}
        return {"per_cluster": round((after - before) / float(max(1, len(raw))), 1), "by_verb": None, "by_key": None,
                "source": "kube-apiserver /metrics, apiserver_flowcontrol_dispatched_requests_total{flow_schema="
                          "\"%s\"} before and after the run: the tool's ServiceAccount only (the bench's own reads run as "
                          "admin, which APF exempts); no verb breakdown" % FLOW_SCHEMA}

    def down(self):
        self.watches.close()
        self.fleet.down()
        shutil.rmtree(self.state_dir, ignore_errors=True)

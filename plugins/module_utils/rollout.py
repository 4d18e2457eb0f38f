# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A live, watch-fed view of a release's Deployments, ReplicaSets and Pods (the I/O of the wait)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

WATCHED_KINDS = ("Deployment", "ReplicaSet", "Pod")
# A server closes a watch after this long; we then list again, which also heals missed events.
WATCH_SECONDS = 60
# Bounded backoff while the API server is unreachable (an outage must not end the wait).
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 3.0)


class ReleaseView(object):
    """Keeps an up-to-date copy of the watched objects; wait_for_change() blocks until one changes."""

    def __init__(self, kube, namespace, selector):
        self.kube = kube
        self.namespace = namespace
        self.selector = selector
        self.objects = dict((kind, {}) for kind in WATCHED_KINDS)
        self.listed = set()
        self.errors = []
        self.version = 0
        self.condition = threading.Condition()
        self.stopped = False

    def start(self):
        for kind in WATCHED_KINDS:
            thread = threading.Thread(target=self._follow, args=(kind,), name="watch-" + kind)
            thread.daemon = True  # a watch blocked on the network must not keep the module alive
            thread.start()

    def stop(self):
        with self.condition:
            self.stopped = True
            self.condition.notify_all()

    def snapshot(self):
        """(version, {kind: [objects]}); only complete once every kind was listed."""
        with self.condition:
            return self.version, dict((kind, list(items.values())) for kind, items in self.objects.items())

    def ready_to_judge(self):
        with self.condition:
            return len(self.listed) == len(WATCHED_KINDS)

    def wait_for_change(self, seen_version, timeout):
        """Block until the view differs from seen_version or timeout seconds pass."""
        deadline = time.time() + max(timeout, 0)
        with self.condition:
            while self.version == seen_version and not self.stopped:
                remaining = deadline - time.time()
                if remaining <= 0:
                    return False
                self.condition.wait(remaining)
            return self.version != seen_version

    def _changed(self):
        self.version += 1
        self.condition.notify_all()

    def _follow(self, kind):
        failures = 0
        while not self.stopped:
            try:
                items, resource_version = self.kube.list(kind, self.namespace, self.selector)
                with self.condition:
                    self.objects[kind] = dict((_key(obj), obj) for obj in items)
                    self.listed.add(kind)
                    self._changed()
                failures = 0
                watch_started = time.time()
                for event_type, obj in self.kube.watch(kind, self.namespace, self.selector, resource_version,
                                                       WATCH_SECONDS):
                    if self.stopped:
                        return
                    if event_type == "ERROR":
                        break  # e.g. 410 Gone: list again
                    with self.condition:
                        if event_type == "DELETED":
                            self.objects[kind].pop(_key(obj), None)
                        else:
                            self.objects[kind][_key(obj)] = obj
                        self._changed()
                if time.time() - watch_started < 1:  # a proxy that drops watches at once: do not spin
                    time.sleep(RETRY_DELAYS[1])
            except Exception as exc:  # KubeError, or the connection dropped mid-stream: list again
                with self.condition:
                    self.errors.append("watch of %s: %s" % (kind, exc))
                    del self.errors[:-5]
                time.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1


def _key(obj):
    return (obj.get("metadata") or {}).get("name")

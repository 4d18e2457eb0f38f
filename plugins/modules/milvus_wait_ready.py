#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_wait_ready
short_description: Wait until a Milvus release has rolled out a hop, and verify its message queue
version_added: 1.0.0
description:
  - Watches the release's Milvus Deployments, ReplicaSets and Pods (Kubernetes watches, no sleep loops) until
    the hop's end state holds. Every expected component's Deployment is rolled out (observed generation current,
    updated, ready and available replicas equal to the desired count) on the expected image; the removed
    components' Deployments and pods are gone; no pod is Terminating or left from an old ReplicaSet; the proxy
    answers C(/healthz) with OK through the API server's service proxy.
  - Then stays ready for O(settle) seconds (after hop 1 old coordinator sessions must expire in etcd).
  - Fails at once, naming the pod, container and reason, on CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
    CreateContainerConfigError and OOMKilled, instead of sitting until the timeout.
  - With O(message_queue), verifies that the message queue did not change (same kind in the Milvus ConfigMap,
    the same StatefulSets with the same uids, none of another family, streaming nodes reporting a WAL of that family).
  - Read only, except that it resumes the Deployments an ordered hop paused (see
    O(milvusops.cluster.milvus_helm_hop#module:rollout_order)), one at a time in the order of O(resume_order),
    each once every component before it is rolled out, with the same fail-fast rules; and that it deletes the
    Deployments of O(removed_components) which the hop kept running on the old version (annotation
    C(milvusops.cluster/kept-until-rolled-out), see O(milvusops.cluster.milvus_helm_hop#module:kept_components))
    once nothing is paused and every other component is rolled out. A wait that stops (failure, timeout, a killed
    run) leaves the rest paused or kept and names them; the next wait resumes and deletes them in order.
author:
  - milvusops maintainers (@milvusops)
requirements:
  - kubernetes >= 24.2.0 (Python)
  - packaging >= 21.0 (Python)
extends_documentation_fragment:
  - milvusops.cluster.connection
attributes:
  action_group:
    support: full
    membership: [milvusops.cluster.milvus]
    description: Use C(group/milvusops.cluster.milvus) in C(module_defaults) to set the connection options once.
  check_mode:
    support: full
    description: Waits the same in check mode, but resumes and deletes nothing.
  diff_mode:
    support: none
    description: The only changes, resuming paused Deployments and deleting kept ones, are listed in RV(rollout).
options:
  image_repository:
    description: Image repository every Milvus container must run.
    type: str
    required: true
  image_tag:
    description: Image tag every Milvus container must run.
    type: str
    required: true
  expected_components:
    description: Components that must be present and rolled out. All Milvus Deployments present when empty.
    type: list
    elements: str
    default: []
  removed_components:
    description: Components whose Deployments and pods must be gone.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait in all before failing with every component that is not ready and why.
    type: int
    default: 900
  return_after:
    description:
      - Return early, with RV(ready=false) and what is still rolling, after this many seconds, so a caller
        can show progress and call again. 0 waits until ready or timeout.
      - Run as a task, the collection's action plugin does not return early; it prints a progress line every
        O(return_after) seconds (one watch for the whole wait) and renews O(renew_lock) between them.
    type: float
    default: 0
  deadline:
    description:
      - When to give up, as seconds since the epoch (UTC). Overrides O(timeout) with the time left until then,
        so a wait that is called again keeps the deadline of the hop rather than starting a new one.
    type: float
  hop_name:
    description: The hop this wait belongs to, named in progress lines (C(hop <name> rolling for N s)).
    type: str
  started:
    description:
      - When the hop began (seconds since the epoch), e.g. M(milvusops.cluster.milvus_helm_hop)'s RV(milvusops.cluster.milvus_helm_hop#module:started).
        Progress lines and, without O(deadline), the O(timeout) count from it. Default is now.
    type: float
  renew_lock:
    description:
      - The upgrade lock (see M(milvusops.cluster.milvus_lock)) to renew while waiting, once half of its
        O(renew_lock.duration) has passed since the last renewal. Renewed by the action plugin, which runs
        the wait in the controller's worker process.
    type: dict
    suboptions:
      holder:
        description: The holder identity that took the lock.
        type: str
        required: true
      duration:
        description: Seconds the lock lasts after each renewal.
        type: int
        default: 300
      purpose:
        description: The purpose written on the Lease.
        type: str
        default: milvusops.cluster upgrade
  settle:
    description:
      - Seconds the release must stay ready before the wait counts as done (a stability window).
      - Any container restart or crash of the release's pods within it fails the wait, naming the pod,
        container and reason (OOMKilled, Error with its exit code, CrashLoopBackOff).
    type: int
    default: 0
  healthz:
    description: Require the proxy's C(/healthz) to answer OK through the API server's service proxy.
    type: bool
    default: true
  message_queue:
    description:
      - The message queue found before the hop, as returned by M(milvusops.cluster.milvus_preflight).
        After the rollout it must be unchanged.
    type: dict
  resume_order:
    description:
      - Components to resume in this order (mixcoord, streamingnode, querynode, datanode, proxy for hop 2); only
        Deployments paused by this collection (annotation C(milvusops.cluster/paused-for)) are resumed. A paused
        component is resumed once every component before it in the list is rolled out; paused components not in
        the list are resumed together once the whole list is, so an empty list resumes them all at once. A
        component of the list that the release lacks is skipped.
    type: list
    elements: str
    default: []
  layout:
    description:
      - Where the chart put the release's Milvus objects, as returned by M(milvusops.cluster.milvus_preflight)
        in RV(milvusops.cluster.milvus_preflight#module:layout). The wait then selects, probes and verifies exactly
        the objects preflight read.
      - Without it the chart's defaults apply (label C(app.kubernetes.io/name=milvus), the proxy Service and the
        ConfigMap named after the proxy Deployment), which is wrong for a release with C(nameOverride) or
        C(customConfigMap).
    type: dict
    suboptions:
      fullname:
        description: The chart's fullname (Deployments C(<fullname>-<component>), proxy Service C(<fullname>)).
        type: str
      name:
        description: The chart name in the C(app.kubernetes.io/name) label (C(nameOverride)).
        type: str
        default: milvus
      configmap:
        description: The ConfigMap the Milvus pods mount (C(customConfigMap), else the fullname).
        type: str
      custom_configmap:
        description: Whether O(layout.configmap) comes from C(customConfigMap).
        type: bool
        default: false
seealso:
  - module: milvusops.cluster.milvus_helm_hop
"""

EXAMPLES = r"""
- name: Wait for hop 1 and let old coordinator sessions expire
  milvusops.cluster.milvus_wait_ready:
    release: vectors
    namespace: milvus
    image_repository: milvusdb/milvus
    image_tag: v2.5.16
    expected_components: [proxy, mixcoord, querynode, datanode, indexnode]
    removed_components: [rootcoord, querycoord, datacoord, indexcoord]
    message_queue: "{{ preflight.message_queue }}"
    layout: "{{ preflight.layout }}"
    settle: 30
    timeout: 900
"""

RETURN = r"""
ready:
  description: True when the end state holds (always true on success unless O(return_after) fired first).
  returned: always
  type: bool
  sample: true
state:
  description: C(ready), C(rolling) or C(failed).
  returned: always
  type: str
  sample: ready
components:
  description: Per component, replicas, updated, ready and available counts, image, state and reason.
  returned: always
  type: dict
  sample:
    proxy: {state: ready, reason: "", replicas: 1, updated: 1, ready: 1, available: 1,
            image: "milvusdb/milvus:v2.5.16", deployment: vectors-milvus-proxy}
    rootcoord: {state: removing, reason: "1 pod(s) still running: vectors-milvus-rootcoord-7d9f-abcde", expected: false}
waiting_for:
  description: What is still not done, one line per component.
  returned: always
  type: list
  elements: str
  sample: ["rootcoord: 1 pod(s) still running: vectors-milvus-rootcoord-7d9f-abcde"]
failures:
  description: Pods that cannot become ready, with container and reason.
  returned: always
  type: list
  elements: dict
  sample: [{pod: vectors-milvus-querynode-5c6b-xyz12, container: querynode, reason: CrashLoopBackOff,
             message: "back-off 40s restarting failed container"}]
elapsed:
  description: Seconds this call waited.
  returned: always
  type: float
  sample: 73.4
ready_after:
  description: Seconds from the call's start until the rollout was first seen complete.
  returned: when ready
  type: float
  sample: 42.9
slices:
  description: Progress lines the action plugin printed (slices of O(return_after) that ended before the end state).
  returned: when run as a task (action plugin)
  type: int
  sample: 4
lock_renewals:
  description: How many times the action plugin renewed O(renew_lock) while waiting.
  returned: when run as a task (action plugin)
  type: int
  sample: 1
rollout:
  description:
    - Per component, when it was resumed and first seen ready, in seconds since O(started) (the hop's start);
      C(write_outage_seconds), from the first pod of the new image running to the last component ready (for hop 2,
      the window in which writes fail); C(still_paused), the Milvus Deployments paused when the wait ended;
      C(deleted), the kept Deployments it deleted, with the seconds since O(started); C(still_kept), the kept
      Deployments left when the wait ended.
    - Times are what this wait saw; a wait that resumed an earlier run's rollout starts counting anew.
  returned: always
  type: dict
  sample:
    order: [mixcoord, streamingnode, querynode, datanode, proxy]
    components: {mixcoord: {resumed: null, ready: 14.0}, streamingnode: {resumed: null, ready: 15.2},
                 querynode: {resumed: 15.2, ready: 31.0}}
    new_version_started: 3.9
    write_outage_seconds: 48.3
    still_paused: []
    deleted: [{component: indexnode, deployment: vectors-milvus-indexnode, seconds: 61.2}]
    still_kept: []
message_queue_problems:
  description: What changed in the message queue (empty when nothing did).
  returned: when O(message_queue) is given and the rollout is ready
  type: list
  elements: str
  sample: []
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    connection_argument_spec, describe_target)
from ansible_collections.milvusops.cluster.plugins.module_utils.endstate import healthz, message_queue_problems
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import Conflict, Kube, KubeError
from ansible_collections.milvusops.cluster.plugins.module_utils.names import milvus_selector
from ansible_collections.milvusops.cluster.plugins.module_utils.ordering import (
    ending_with_still_paused, kept_deployments, kept_waiting, paused_deployments, paused_waiting, resume_patch,
    rollout_position, timeline, to_delete,
    to_resume)
from ansible_collections.milvusops.cluster.plugins.module_utils.readiness import (
    FAILED, READY, ROLLING, assess, new_image_running, restart_counts, restarts_since)
from ansible_collections.milvusops.cluster.plugins.module_utils.redact import redact_url_userinfo
from ansible_collections.milvusops.cluster.plugins.module_utils.rollout import ReleaseView
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR
from ansible_collections.milvusops.cluster.plugins.module_utils.libraries import require_libraries
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import HAS_PACKAGING, PACKAGING_IMPORT_ERROR

HEALTHZ_RETRY = (0.2, 0.5, 1.0, 2.0)


def argument_spec():
    return connection_argument_spec(
        image_repository=dict(type="str", required=True),
        image_tag=dict(type="str", required=True),
        expected_components=dict(type="list", elements="str", default=[]),
        removed_components=dict(type="list", elements="str", default=[]),
        timeout=dict(type="int", default=900),
        return_after=dict(type="float", default=0),
        deadline=dict(type="float"),
        hop_name=dict(type="str"),
        started=dict(type="float"),
        renew_lock=dict(type="dict", options=dict(
            holder=dict(type="str", required=True),
            duration=dict(type="int", default=300),
            purpose=dict(type="str", default="milvusops.cluster upgrade"),
        )),
        settle=dict(type="int", default=0),
        resume_order=dict(type="list", elements="str", default=[]),
        healthz=dict(type="bool", default=True),
        message_queue=dict(type="dict"),
        layout=dict(type="dict", options=dict(
            fullname=dict(type="str"),
            name=dict(type="str", default="milvus"),
            configmap=dict(type="str"),
            custom_configmap=dict(type="bool", default=False),
        )),
    )


class Waiter(object):
    def __init__(self, module, kube, on_slice=None):
        """on_slice(verdict) is called every return_after seconds instead of returning early."""
        self.module = module
        self.on_slice = on_slice
        self.kube = kube
        self.params = module.params
        self.layout = self.params["layout"] or {}
        self.name = self.layout.get("name") or "milvus"
        self.view = ReleaseView(kube, self.params["namespace"], milvus_selector(self.params["release"], name=self.name))
        self.started = time.time()
        self.healthz_failures = 0
        self.healthz_message = None
        self.baseline = None    # restart counts when the release first turned ready (the settle window)
        self.resumed_at, self.ready_at = {}, {}
        self.new_image_at = None
        self.paused = []        # the release's paused Milvus Deployments in the last snapshot
        self.kept = []          # the release's kept Deployments (a hop's removal postponed) in the last snapshot
        self.deleted = []
        self.resume_retry_at = None

    def judge(self, objects):
        return assess(objects["Deployment"], objects["ReplicaSet"], objects["Pod"], self.image(),
                      self.params["expected_components"] or None, self.params["removed_components"],
                      self.params["release"], self.name)

    def image(self):
        return "%s:%s" % (self.params["image_repository"], self.params["image_tag"])

    def observe_rollout(self, objects, verdict, now):
        """The timeline (ready and first new pod times) and the paused Deployments of this snapshot."""
        for component, info in verdict["components"].items():
            if info.get("state") == READY:
                self.ready_at.setdefault(component, now)
            else:
                self.ready_at.pop(component, None)
        if self.new_image_at is None and new_image_running(objects["Pod"], self.image(), self.params["release"],
                                                           self.name):
            self.new_image_at = now
        self.paused = [entry for entry in paused_deployments(objects["Deployment"], self.params["release"], self.name)
                       if entry["component"] not in self.resumed_at or not entry["by_us"]]
        gone = set(entry["uid"] for entry in self.deleted)
        self.kept = [entry for entry in kept_deployments(objects["Deployment"], self.params["release"], self.name)
                     if entry["uid"] not in gone]

    def resume_next(self, verdict, now):
        """Resume what the order allows next, then delete what was kept for after it; say what stays paused or
        kept and why (never ready while ours are)."""
        order = self.params["resume_order"]
        ours = dict((entry["component"], entry) for entry in self.paused if entry["by_us"])
        if ours and not self.module.check_mode:
            for component in to_resume(order, verdict["components"], ours):
                try:
                    self.kube.merge_patch("Deployment", self.params["namespace"], ours[component]["deployment"],
                                          resume_patch())
                except KubeError as exc:
                    if not exc.transient:
                        raise
                    self.view.errors.append("resuming %s: %s" % (ours[component]["deployment"], exc))
                    self.resume_retry_at = now + 1
                    continue
                self.resumed_at[component] = now
                del ours[component]
        self.paused = [entry for entry in self.paused if entry["component"] not in self.resumed_at or not entry["by_us"]]
        if self.kept and not self.module.check_mode:
            for entry in to_delete(verdict["components"], self.paused, self.kept, self.params["removed_components"]):
                if self.delete_kept(entry, now):
                    self.kept.remove(entry)
        verdict["waiting_for"].extend(paused_waiting(order, list(ours), self.module.check_mode))
        verdict["waiting_for"].extend(
            "%s: Deployment %s is paused, not by milvusops.cluster: resume it (kubectl rollout resume deployment %s -n %s)"
            % (entry["component"], entry["deployment"], entry["deployment"], self.params["namespace"])
            for entry in self.paused if not entry["by_us"])
        kept_removed = [entry for entry in self.kept if entry["component"] in self.params["removed_components"]]
        verdict["waiting_for"].extend(kept_waiting(kept_removed, self.module.check_mode))
        if (ours or kept_removed) and verdict["state"] == READY:
            verdict["state"] = ROLLING

    def delete_kept(self, entry, now):
        """Delete a kept Deployment (only the object we saw: its uid); False after a passing API error."""
        try:
            self.kube.delete("Deployment", self.params["namespace"], entry["deployment"], uid=entry["uid"])
        except KubeError as exc:
            # a Conflict: the name is another object's now; the next snapshot shows which
            if not (exc.transient or isinstance(exc, Conflict)):
                raise
            self.view.errors.append("deleting %s: %s" % (entry["deployment"], exc))
            self.resume_retry_at = now + 1
            return False
        self.deleted.append(dict(entry, seconds=round(max(now - (self.params.get("started") or self.started), 0.0), 1)))
        return True

    def rollout(self):
        result = timeline(self.params.get("started") or self.started, self.resumed_at, self.ready_at,
                          self.new_image_at)
        result.update(order=list(self.params["resume_order"]),
                      still_paused=[dict((key, entry[key]) for key in ("component", "deployment"))
                                    for entry in sorted(self.paused, key=lambda e: rollout_position(e["component"]))],
                      deleted=[dict((key, entry[key]) for key in ("component", "deployment", "seconds"))
                               for entry in self.deleted],
                      still_kept=[dict((key, entry[key]) for key in ("component", "deployment")) for entry in self.kept])
        return result

    def healthz_ok(self, deployments):
        if not self.params["healthz"]:
            return True
        serving, self.healthz_message = healthz(self.kube, self.params["namespace"], self.layout, deployments)
        return serving

    def run(self):
        params = self.params
        # the rollout's time counts from the hop's start (its helm upgrade), not from this wait's
        deadline = (params.get("started") or self.started) + params["timeout"]
        if params.get("deadline") is not None:
            deadline = params["deadline"]
        deadline = max(deadline, self.started + 1)
        return_at = self.started + params["return_after"] if params["return_after"] > 0 else None
        ready_since = None
        self.view.start()
        while True:
            now = time.time()
            wake_at = deadline
            # Checked before the snapshot, so a judged snapshot always holds every kind's first list;
            # the snapshot's version is what we then wait to see change (no spinning while the API is down).
            listed = self.view.ready_to_judge()
            version, objects = self.view.snapshot()
            verdict = self.judge(objects) if listed else None
            if verdict is not None:
                self.observe_rollout(objects, verdict, now)
                if self.baseline is not None:
                    restarts = restarts_since(self.baseline, objects["Pod"])
                    if restarts:
                        return self.finish(dict(verdict, failures=restarts), failed=True, unstable=True)
                if verdict["state"] == FAILED:
                    return self.finish(verdict, failed=True)
                try:
                    self.resume_next(verdict, now)
                except KubeError as exc:
                    return self.finish(dict(verdict, failures=[{"pod": "-", "container": "-", "reason": "resume or delete failed",
                                                                "message": str(exc)}]), failed=True)
                if self.resume_retry_at:
                    wake_at = min(wake_at, self.resume_retry_at)
                    self.resume_retry_at = None
                if verdict["state"] == READY and self.healthz_ok(objects["Deployment"]):
                    self.healthz_failures = 0
                    ready_since = ready_since or now
                    if self.baseline is None and params["settle"] > 0:
                        self.baseline = restart_counts(objects["Pod"])
                    if now - ready_since >= params["settle"]:
                        return self.finish(verdict, ready_after=ready_since - self.started)
                    wake_at = min(wake_at, ready_since + params["settle"])
                else:
                    if verdict["state"] == READY:  # pods ready, proxy not yet serving: healthz has no watch
                        wake_at = min(wake_at, now + HEALTHZ_RETRY[min(self.healthz_failures, len(HEALTHZ_RETRY) - 1)])
                        self.healthz_failures += 1
                        verdict["waiting_for"].append(self.healthz_message)
                    ready_since = None
                    if return_at and now >= return_at:
                        if self.on_slice is None:
                            return self.finish(verdict, early=True)
                        self.on_slice(verdict)
                        return_at = time.time() + params["return_after"]
            if now >= deadline:
                return self.finish(verdict, timed_out=True)
            if return_at and ready_since is None:
                wake_at = min(wake_at, return_at)
            self.view.wait_for_change(version, wake_at - time.time())

    def finish(self, verdict, failed=False, timed_out=False, early=False, ready_after=None, unstable=False):
        self.view.stop()
        verdict = verdict or {"state": "unknown", "components": {}, "failures": [],
                              "waiting_for": ["the API server has not answered a list yet"]}
        rollout = self.rollout()
        result = dict(changed=bool(self.resumed_at or self.deleted), ready=not (failed or timed_out or early), state=verdict["state"],
                      components=verdict["components"], waiting_for=verdict["waiting_for"],
                      failures=verdict["failures"], elapsed=round(time.time() - self.started, 3),
                      api_errors=list(self.view.errors), rollout=rollout)
        target = describe_target(self.params)
        if self.params.get("hop_name"):
            target = "%s hop %s" % (target, self.params["hop_name"])

        def fail(msg):   # every failure ends saying what is still paused
            self.module.fail_json(msg=ending_with_still_paused(msg, rollout["still_paused"], rollout["still_kept"]),
                                  **result)

        if failed:
            reasons = "; ".join(("pod %s container %s: %s %s" % (
                f.get("pod"), f.get("container"), f.get("reason"), (f.get("message") or "")[:200])).strip()
                for f in verdict["failures"])
            if unstable:
                fail("%s: ready, then not stable within the %s s settle window: %s" % (
                    target, self.params["settle"], reasons))
            fail("%s: the rollout of %s:%s cannot succeed: %s" % (
                target, self.params["image_repository"], self.params["image_tag"], reasons))
        if timed_out:
            # the role's deadline is milvus_wait_timeout from the hop's start; `timeout` is what it was set to
            setting = "milvus_wait_timeout" if self.params.get("message_names") == "inventory" else "timeout"
            waited = int(round(time.time() - self.params["started"])) if self.params.get("started") \
                else self.params["timeout"]
            api_errors = (" (API errors: %s)" % " | ".join(self.view.errors)) if self.view.errors else ""
            fail("%s: not ready after %s s (the wait timeout, %s, is %s s), still waiting for: %s%s. Raise %s if "
                 "this rollout needs longer" % (target, waited, setting, self.params["timeout"],
                                                "; ".join(verdict["waiting_for"]) or "nothing listed", api_errors,
                                                setting))
        if early:
            return result
        result["ready_after"] = round(ready_after, 3)
        if self.params["message_queue"]:
            problems = self.message_queue_problems()
            result["message_queue_problems"] = problems
            if problems:
                self.module.fail_json(msg=redact_url_userinfo("%s: the message queue changed during the hop: %s" % (
                    target, "; ".join(problems))), **result)
        return result

    def message_queue_problems(self):
        objects = self.view.snapshot()[1]
        return message_queue_problems(self.kube, self.params["namespace"], self.params["release"], self.layout,
                                      self.params["message_queue"], objects["Deployment"], objects["Pod"])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, ("kubernetes", HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR),
                      ("packaging", HAS_PACKAGING, PACKAGING_IMPORT_ERROR))
    try:
        kube = Kube(module.params)
    except KubeError as exc:
        module.fail_json(msg="%s: %s" % (describe_target(module.params), exc))
    module.exit_json(**Waiter(module, kube).run())


if __name__ == "__main__":
    main()

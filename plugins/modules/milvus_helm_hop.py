#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_helm_hop
short_description: Apply one hop of the Milvus 2.5 to 2.6 upgrade with helm upgrade --reset-then-reuse-values
version_added: 1.0.0
description:
  - Runs one C(helm upgrade <release> <chart> --reset-then-reuse-values --version <v> --values <file>) for one hop
    planned by M(milvusops.cluster.milvus_preflight), with the hop's complete values (component flags, image and
    explicit message-queue pins) in a private temporary file.
  - The file lives in a 0700 folder C(milvusops-hop-<pid>-*) of the temp directory and is removed when the module
    ends. A hop killed outright (SIGKILL) cannot remove it; the next run's hop removes such folders of this user
    whose module process is gone.
  - Idempotent. Nothing runs when the release already has the hop's chart version and every value the hop sets.
  - The render guard checks the very render helm is about to apply, before helm writes anything. C(helm upgrade)
    runs with a post-renderer of the module's own, the render gate. helm hands it the render and goes on only
    if the module lets it through; otherwise it fails and writes nothing (not even a release revision). The
    guard compares the render's objects with the live manifest. A hop that would delete a StatefulSet or an
    object that carries PersistentVolumeClaims is refused, naming the objects, unless
    O(allow_statefulset_removal=true). helm 3 runs the gate's relay (a short Python program in the hop's
    private folder) directly; helm 4, which takes post-renderers only as plugins, runs it as a plugin from that
    folder (C(HELM_PLUGINS) for that one call).
  - So a hop is one C(helm upgrade). In check mode, and for a hop with O(rollout_order), a server-side dry run
    (C(--dry-run=server)) through the same gate comes first. In check mode it is the plan. For an ordered hop,
    its pauses are then written only after helm's own checks of the render (the objects it creates, the schema)
    have passed too. The upgrade after it must render the same pauses and keeps, or it is refused.
  - On an API server older than 1.27 (or of unknown version, see O(kube_version)), helm also checks the render
    against the cluster's OpenAPI schema on the client, once per hop (in the ordered hop's dry run, else in the
    upgrade). From 1.27 every API server validates fields itself, and helm's check only asks the server's
    OpenAPI documents whether it does and then checks nothing, for most of a helm call's CPU on a real API
    server; helm runs with C(--disable-openapi-validation) there. The API server validates what it writes.
  - Never uses C(--install), C(--atomic), C(--wait), C(--reuse-values) or C(--reset-values). Readiness is
    M(milvusops.cluster.milvus_wait_ready)'s job, and there is no supported way back from 2.6 to 2.5.
  - Refuses a release whose last revision is pending (another operation is in progress or was killed).
  - With O(renew_lock), renews the run's upgrade lock right before the hop's first write, after every check (in
    the gate, once the render guard has let the render through; for an ordered hop, before its pauses). The hop
    starts only while the lock is still this run's, however long the tasks before it took (a backup hook), and
    the lock outlives helm. A lock another run holds now fails the hop, and nothing was changed.
author:
  - milvusops maintainers (@milvusops)
requirements:
  - packaging >= 21.0 (Python)
  - kubernetes >= 24.2.0 (Python), for O(rollout_order) and O(renew_lock) only
extends_documentation_fragment:
  - milvusops.cluster.connection
  - milvusops.cluster.connection.helm
attributes:
  action_group:
    support: full
    membership: [milvusops.cluster.milvus]
    description: Use C(group/milvusops.cluster.milvus) in C(module_defaults) to set the connection options once.
  check_mode:
    support: full
    description: Renders the hop on the server (a dry run through the render gate) and returns the object and value
      diffs; changes nothing.
  diff_mode:
    support: full
    description: A before/after of the stored values and of the object list.
options:
  hop_name:
    description: Name of the hop, recorded in the Helm revision's description.
    type: str
    required: true
  chart_ref:
    description:
      - Chart to upgrade to. A chart name in O(chart_repo_url), a local chart path or package, or an
        C(oci://) reference (mirrors for air-gapped sites).
      - A chart that is not local is fetched once per C(ansible-playbook) run (C(helm pull) into a folder of the
        run's own in the temporary directory, shared by the run's clusters and tasks, removed by a later run once
        this one has ended; M(milvusops.cluster.milvus_preflight) fetches it first). Every helm call of the hop
        (a dry run, the upgrade) installs that package.
    type: str
    default: milvus
  chart_repo_url:
    description:
      - Repository holding O(chart_ref), passed as C(helm --repo) so no shared repository list is changed.
      - Ignored for paths and C(oci://) references.
    type: str
    default: https://zilliztech.github.io/milvus-helm
  chart_version:
    description: Chart version of the hop.
    type: str
    required: true
  values:
    description: The complete values the hop sets (the plan's C(values)).
    type: dict
    required: true
  timeout:
    description: C(helm upgrade --timeout) for helm's own API operations.
    type: str
    default: 10m
  allow_statefulset_removal:
    description:
      - Apply the hop even if its rendering deletes StatefulSets or PVC-bearing objects.
      - A correct plan never needs this; deleting message-queue StatefulSets loses unflushed data.
    type: bool
    default: false
  secret_values:
    description: Dotted paths of values to hide from results, besides keys that look like credentials.
    type: list
    elements: str
    default: []
  rollout_order:
    description:
      - The components in the order M(milvusops.cluster.milvus_wait_ready) resumes them (the plan's C(resume_order)).
        When set, every Milvus Deployment the hop changes that has to wait for another component of the release
        (one before it in this order, or for a component outside it, any of the order) is paused (C(spec.paused),
        annotated C(milvusops.cluster/paused-for)) right before C(helm upgrade), after every check has passed (the
        hop's dry run, helm's own checks included); helm's three-way merge keeps the field, so the new templates
        wait until the wait resumes them in this order.
      - The first component of the order (mixcoord) is not paused, since it waits for nothing; it rolls out with
        C(helm upgrade). Deployments the hop adds (the streaming node) are created running. If C(helm upgrade)
        fails, the paused Deployments helm did not change are resumed and the others named in the error.
      - Empty (the default) pauses nothing, as with O(rollout_order) unset every Deployment rolls at once.
    type: list
    elements: str
    default: []
  kept_components:
    description:
      - Components the hop removes whose Deployments must keep running on the old version until the rest has
        rolled out (the index node in the ordered hop 2, which serves until the proxy runs 2.6). Right before
        C(helm upgrade) their Deployments are annotated C(helm.sh/resource-policy=keep), which makes helm leave
        them in place, and C(milvusops.cluster/kept-until-rolled-out);
        M(milvusops.cluster.milvus_wait_ready) deletes them once every other component is rolled out.
      - If C(helm upgrade) fails they stay annotated (the error says so); the next run's hop removes them the same
        way.
    type: list
    elements: str
    default: []
  kube_version:
    description:
      - The API server's version, as RV(milvusops.cluster.milvus_preflight#module:kube_version) gives it. From
        1.27 the hop leaves the field validation to the API server (see the description).
      - Empty (the default) or not understood, helm runs its client-side OpenAPI check, once per hop.
    type: str
    default: ""
  helm_version:
    description:
      - The helm client's version, as RV(milvusops.cluster.milvus_preflight#module:helm_version) gives it. helm 4
        and later take the render gate as a plugin, helm 3 as a program.
      - Empty (the default), the hop asks helm (C(helm version)).
    type: str
    default: ""
  layout:
    description:
      - Where the chart put the release's Milvus objects, as RV(milvusops.cluster.milvus_preflight#module:layout)
        gives it. O(rollout_order) pauses the Deployments whose C(app.kubernetes.io/name) label is O(layout.name).
    type: dict
    suboptions:
      fullname:
        description: The chart's fullname.
        type: str
      name:
        description: The chart name in the C(app.kubernetes.io/name) label (C(nameOverride)).
        type: str
        default: milvus
      configmap:
        description: The ConfigMap the Milvus pods mount.
        type: str
      custom_configmap:
        description: Whether O(layout.configmap) comes from C(customConfigMap).
        type: bool
        default: false
  renew_lock:
    description:
      - The upgrade lock this run holds (as M(milvusops.cluster.milvus_lock) takes it), renewed right before
        C(helm upgrade) for another O(renew_lock.duration) seconds. Not in check mode, and not when the hop is
        already applied (nothing runs).
    type: dict
    suboptions:
      holder:
        description: The holder identity of this run's lock.
        type: str
        required: true
      purpose:
        description: What the lock is for.
        type: str
        required: true
      duration:
        description: Seconds the renewed lock lasts.
        type: int
        required: true
seealso:
  - module: milvusops.cluster.milvus_preflight
  - module: milvusops.cluster.milvus_wait_ready
"""

EXAMPLES = r"""
# Hop 2 must not start before hop 1 has rolled out: each hop is followed by its wait.
# (The milvusops.cluster.upgrade role does all of this, with the lock, hooks and reports.)
- name: Plan first
  milvusops.cluster.milvus_preflight:
    release: vectors
    namespace: milvus
  register: preflight

- name: Hop 1 (mixcoord)
  milvusops.cluster.milvus_helm_hop:
    release: vectors
    namespace: milvus
    hop_name: mixcoord
    chart_version: "{{ hop.chart_version }}"
    values: "{{ hop['values'] }}"
    # from Kubernetes 1.27 the server validates fields: helm skips its own client-side check
    kube_version: "{{ preflight.kube_version }}"
  vars:
    hop: "{{ preflight.plan | selectattr('name', 'equalto', 'mixcoord') | first }}"
  when: preflight.plan | selectattr('name', 'equalto', 'mixcoord') | list | length > 0

- name: Wait until hop 1 has rolled out
  milvusops.cluster.milvus_wait_ready:
    release: vectors
    namespace: milvus
    image_repository: "{{ preflight.release.image_repository }}"
    image_tag: "{{ hop.image_tag }}"
    expected_components: "{{ hop.expected_components }}"
    removed_components: "{{ hop.removed_components }}"
    message_queue: "{{ preflight.message_queue }}"
    settle: 30
  vars:
    hop: "{{ preflight.plan | selectattr('name', 'equalto', 'mixcoord') | first }}"
  when: preflight.plan | selectattr('name', 'equalto', 'mixcoord') | list | length > 0

- name: Hop 2 (streaming), from an air-gapped mirror
  milvusops.cluster.milvus_helm_hop:
    release: vectors
    namespace: milvus
    hop_name: streaming
    chart_ref: oci://registry.internal/charts/milvus
    chart_version: "{{ hop.chart_version }}"
    values: "{{ hop['values'] }}"
  vars:
    hop: "{{ preflight.plan | selectattr('name', 'equalto', 'streaming') | first }}"
  when: preflight.plan | selectattr('name', 'equalto', 'streaming') | list | length > 0

- name: Wait until hop 2 has rolled out
  milvusops.cluster.milvus_wait_ready:
    release: vectors
    namespace: milvus
    image_repository: "{{ preflight.release.image_repository }}"
    image_tag: "{{ hop.image_tag }}"
    expected_components: "{{ hop.expected_components }}"
    removed_components: "{{ hop.removed_components }}"
    message_queue: "{{ preflight.message_queue }}"
  vars:
    hop: "{{ preflight.plan | selectattr('name', 'equalto', 'streaming') | first }}"
  when: preflight.plan | selectattr('name', 'equalto', 'streaming') | list | length > 0
"""

RETURN = r"""
revision_before:
  description: Helm revision of the release before the hop.
  returned: always
  type: int
  sample: 3
revision_after:
  description: Helm revision after the hop (equal to O(ignore:revision_before) when nothing ran).
  returned: always
  type: int
  sample: 4
started:
  description:
    - When the hop began, in seconds since the epoch - right before C(helm upgrade) ran, or when this module found
      nothing to run. Pass it to M(milvusops.cluster.milvus_wait_ready) O(milvusops.cluster.milvus_wait_ready#module:started),
      so the rollout's deadline counts from the upgrade itself.
  returned: always
  type: float
  sample: 1764670500.25
command:
  description:
    - The helm command that ran (or would run), with secrets redacted. A chart from a repository or an C(oci://)
      reference is the run's package of it (see O(chart_ref)).
  returned: always
  type: list
  elements: str
  sample: [helm, upgrade, vectors, /tmp/milvusops-charts-41235-8812345/milvus-4.2.58-5c1e0b9f2a7d4e61.tgz,
           --namespace, milvus, --version, 4.2.58, --reset-then-reuse-values, --values, "<private values file>",
           --disable-openapi-validation, --output, json, --post-renderer, "<the render gate>"]
objects:
  description: Objects the hop adds, removes and changes, as C(Kind/name).
  returned: when the hop is not already applied
  type: dict
  sample: {added: [Deployment/rel-milvus-mixcoord], removed: [Deployment/rel-milvus-rootcoord], changed: [ConfigMap/rel-milvus]}
data_store_images:
  description:
    - Data-store StatefulSets (etcd, MinIO, the message queue) whose container image the hop changes, each also
      given as a warning; they restart on the new image.
  returned: when the hop is not already applied
  type: list
  elements: dict
  sample: [{name: rel-etcd, container: etcd, before: "docker.io/milvusdb/etcd:3.5.5-r2",
            after: "docker.io/milvusdb/etcd:3.5.18-r1"}]
lock:
  description: The lock O(renew_lock) renewed before C(helm upgrade), and until when it holds.
  returned: when O(renew_lock) is set and helm upgrade ran
  type: dict
  sample: {lease: milvusops-upgrade-vectors, holder: "ctl-1/pid:4242:1764670000/20251202T101500/811",
           expires: "2025-12-02T11:15:04Z"}
rollout:
  description:
    - With O(rollout_order), how the hop rolls out. C(paused) lists the Deployments paused before C(helm upgrade)
      (in check mode, the ones that would be); C(kept), those of O(kept_components) the hop removes, annotated to
      stay (see there); C(still_paused), on failure, the ones left paused.
  returned: when O(rollout_order) is set and the hop is not already applied
  type: dict
  sample: {order: [mixcoord, streamingnode, querynode, datanode, proxy],
           paused: [{component: querynode, deployment: rel-milvus-querynode}, {component: proxy, deployment: rel-milvus-proxy}],
           kept: [{component: indexnode, deployment: rel-milvus-indexnode}]}
values_before:
  description: Stored user values before the hop, secrets hidden.
  returned: always
  type: dict
  sample: {image: {all: {tag: v2.5.10}}, minio: {secretKey: "********"}}
values_after:
  description: Stored user values after the hop (previous values with the hop's values on top), secrets hidden.
  returned: always
  type: dict
  sample: {image: {all: {repository: milvusdb/milvus, tag: v2.5.16}}, minio: {secretKey: "********"},
           mixCoordinator: {enabled: true}, pulsar: {enabled: true}, pulsarv3: {enabled: false}}
"""

import json
import os
import shutil
import tempfile
import threading
import time

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.milvusops.cluster.plugins.module_utils.charts import ChartPackages, ChartProblem
from ansible_collections.milvusops.cluster.plugins.module_utils.messages import namer
from ansible_collections.milvusops.cluster.plugins.module_utils.values_folders import (
    FOLDER_PREFIX, sweep_values_folders)
from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    connection_argument_spec, describe_target)
from ansible_collections.milvusops.cluster.plugins.module_utils.helm import (
    Helm, HelmError, client_side_openapi_check, module_helm_environment, upgrade_arguments)
from ansible_collections.milvusops.cluster.plugins.module_utils.hop import (
    describe_image_changes, diff_text, hop_state, render_review, rollout_lines, summary)
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import (
    HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR, Kube, KubeError)
from ansible_collections.milvusops.cluster.plugins.module_utils.lease import LockLost, renew
from ansible_collections.milvusops.cluster.plugins.module_utils.ordering import (
    ending_with_still_paused, keep_patch, pause_patch, resume_patch)
from ansible_collections.milvusops.cluster.plugins.module_utils.plan import DESCRIPTION_PREFIX, merge_values
from ansible_collections.milvusops.cluster.plugins.module_utils.redact import redact_text, redact_values
from ansible_collections.milvusops.cluster.plugins.module_utils.render_gate import RenderGate
from ansible_collections.milvusops.cluster.plugins.module_utils.libraries import require_libraries
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import HAS_PACKAGING, PACKAGING_IMPORT_ERROR


def argument_spec():
    return connection_argument_spec(
        helm=True,
        hop_name=dict(type="str", required=True),
        chart_ref=dict(type="str", default="milvus"),
        chart_repo_url=dict(type="str", default="https://zilliztech.github.io/milvus-helm"),
        chart_version=dict(type="str", required=True),
        values=dict(type="dict", required=True),
        timeout=dict(type="str", default="10m"),
        allow_statefulset_removal=dict(type="bool", default=False),
        secret_values=dict(type="list", elements="str", default=[], no_log=False),
        rollout_order=dict(type="list", elements="str", default=[]),
        kept_components=dict(type="list", elements="str", default=[]),
        kube_version=dict(type="str", default=""),
        helm_version=dict(type="str", default=""),
        layout=dict(type="dict", options=dict(
            fullname=dict(type="str"),
            name=dict(type="str", default="milvus"),
            configmap=dict(type="str"),
            custom_configmap=dict(type="bool", default=False),
        )),
        renew_lock=dict(type="dict", options=dict(
            holder=dict(type="str", required=True),
            purpose=dict(type="str", required=True),
            duration=dict(type="int", required=True),
        )),
    )


class PrivateValuesFile(object):
    """The hop's values in a 0600 file inside a 0700 temp folder, removed afterwards whatever happens."""

    def __init__(self, values):
        self.values = values
        self.folder = None

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix="%s%d-" % (FOLDER_PREFIX, os.getpid()))
        path = os.path.join(self.folder, "values.json")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.values, handle)  # JSON is YAML: helm reads it as a values file
        return path

    def __exit__(self, *exc_info):
        shutil.rmtree(self.folder, ignore_errors=True)


UPGRADE_ATTEMPTS = 4


def apply_with_retries(helm, values_file, upgrade, params, fail, result, gate, unchanged="nothing was changed",
                       first=None):
    """Run the upgrade through the render gate; after a passing API failure, look at what helm left and repeat
    only when safe.

    Safe means the release is back in a state helm can upgrade from (our own failed attempt), or the
    upgrade in fact went through and only its reply was lost. A pending release is never touched. A render the
    gate refused is never repeated: helm wrote nothing, and the same render would be refused again.
    unchanged: how a failure says that helm wrote nothing (the ordered hop has written its pauses before).
    first: (future, renders of the gate before it) of a first attempt already started.
    Returns the release's revision after the hop.
    """
    release, namespace = params["release"], params["namespace"]
    for attempt in range(1, UPGRADE_ATTEMPTS + 1):
        try:
            if attempt == 1 and first:
                running, renders = first
                applied = running.result() or {}
            else:
                renders = gate.renders
                applied = helm.upgrade(values_file=values_file, gate=gate, **upgrade) or {}
            if applied.get("version"):
                return applied["version"]
            return (helm.history(release, namespace) or [{}])[-1].get("revision")
        except HelmError as exc:
            error = exc
        if gate.renders > renders and gate.refusal is not None:
            fail("%s; %s" % (gate.refusal, unchanged), **result)
        history, user_values = read_release(helm, release, namespace)
        state = hop_state(history or [], user_values, params["chart_version"], params["values"])
        if state["applied"]:
            return state["revision"]
        if not error.transient or state["refusal"] or attempt == UPGRADE_ATTEMPTS:
            # helm writes nothing before its post-renderer, the gate, has let the render through, and writes the
            # new revision's record before any object
            if gate.renders == renders:
                fail("helm upgrade failed before it rendered the hop (%s) (attempt %d): %s"
                     % (unchanged, attempt, error), **result)
            if state["revision"] == result["revision_before"]:
                fail("helm upgrade failed (attempt %d), and no new revision was written: %s: %s"
                     % (attempt, unchanged, error), **result)
            fail("helm upgrade failed (attempt %d): %s. The release is now at revision %s (%s): run "
                 "milvus_preflight to see its state before trying again"
                 % (attempt, error, state["revision"], history[-1].get("status") if history else "unknown"),
                 **result)
        time.sleep(2 ** attempt)
    return None


def read_release(helm, release, namespace):
    """(history, stored user values), read concurrently: each is a helm process and API round trips."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        history = pool.submit(helm.history, release, namespace)
        user_values = pool.submit(helm.get_values, release, namespace)
        if history.result() is None:   # no release: the values read failed the same way, and says less
            return None, {}
        return history.result(), user_values.result()


def connect(params, fail):
    """The API client for the writes right before helm upgrade (lock renewal, pauses)."""
    try:
        return Kube(params)
    except KubeError as exc:
        fail("%s; nothing was changed" % exc)


class Pauser(object):
    """Right before helm upgrade: keeps the Deployments of an ordered hop that it removes too early, and pauses
    the ones it changes. On a failed upgrade resumes the paused ones helm did not change (their rollout would
    be today's), naming the ones it leaves paused and the kept ones."""

    def __init__(self, params, kube, targets, kept, fail):
        self.params, self.client, self.targets, self.to_keep, self._fail = params, kube, targets, kept, fail
        self.templates = {}
        self.paused = []
        self.kept = []

    def pause(self):
        kube, hop = self.client, self.params["hop_name"]
        for entry in self.to_keep:
            try:
                kube.merge_patch("Deployment", self.params["namespace"], entry["deployment"], keep_patch(hop))
            except KubeError as exc:
                self.fail("annotating Deployment %s to be kept before helm upgrade failed: %s"
                          % (entry["deployment"], exc))
            self.kept.append(entry)
        for entry in self.targets:
            try:
                live = kube.merge_patch("Deployment", self.params["namespace"], entry["deployment"], pause_patch(hop))
            except KubeError as exc:
                self.fail("pausing Deployment %s before helm upgrade failed: %s" % (entry["deployment"], exc))
            self.templates[entry["deployment"]] = (live.get("spec") or {}).get("template")
            self.paused.append(entry)

    def fail(self, msg, **extra):
        still = []
        for entry in self.paused:
            try:
                live = self.client.read("Deployment", self.params["namespace"], entry["deployment"])
                if live is not None and (live.get("spec") or {}).get("template") == self.templates[entry["deployment"]]:
                    self.client.merge_patch("Deployment", self.params["namespace"], entry["deployment"], resume_patch())
                    continue
            except KubeError:
                pass
            still.append(entry)
        extra["rollout"] = dict(extra.get("rollout") or {}, still_paused=still)
        self._fail(ending_with_still_paused(msg, still, self.kept), **extra)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, ("packaging", HAS_PACKAGING, PACKAGING_IMPORT_ERROR))
    if module.params["rollout_order"] or module.params["renew_lock"]:   # pausing and the lock take the Python client
        require_libraries(module, ("kubernetes", HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR))
    run(module)


class RenderGuard(object):
    """The render gate's question to every render helm is about to apply (see render_gate): refuse a render whose
    removals would lose data, and, for an ordered hop, one that would pause or keep other Deployments than its
    dry run decided (and its own writes made). `before_write` runs once, when helm is let through the first time.

    A render waits until the hop has read the release and called go(): with a reason, the hop is not to run, and
    every render is refused with it. `live` is the future of the live manifest the renders are compared with."""

    def __init__(self, params, option_name):
        self.params, self.option_name = params, option_name
        self.live = None
        self.review = None
        self.expected = None
        self.before_write = None
        self._decided = threading.Event()
        self._stop = None

    def go(self, stop=None):
        """Let the renders be judged, or with `stop` refuse them all; only the first call counts."""
        if not self._decided.is_set():
            self._stop = stop
            self._decided.set()

    def __call__(self, render):
        self._decided.wait()
        if self._stop:
            return self._stop
        try:
            live_manifest = self.live.result()
        except HelmError as exc:
            return "reading the release's manifest failed: %s" % exc
        self.review = render_review(live_manifest, render, self.params, self.option_name)
        if self.review["refusal"]:
            return self.review["refusal"]
        if self.expected is not None and (self.review["paused"], self.review["kept"]) != self.expected:
            return ("the render helm was about to apply would pause %s and keep %s, but the hop's dry run of the same "
                    "chart and values paused %s and kept %s" % tuple(
                        ", ".join(entry["deployment"] for entry in entries) or "nothing"
                        for entries in (self.review["paused"], self.review["kept"]) + self.expected))
        step, self.before_write = self.before_write, None
        return step() if step else None


def record_review(module, params, result, review, values_before, values_after, target):
    """The render guard's findings in the result: the object list, the data-store image warnings, the diff."""
    changes = review["changes"]
    result["objects"] = summary(changes)
    result["data_store_images"] = changes["data_store_images"]
    for line in describe_image_changes(changes["data_store_images"]):
        module.warn("%s: %s" % (target, line))
    if params["rollout_order"]:
        result["rollout"] = {"order": params["rollout_order"], "paused": review["paused"], "kept": review["kept"]}
    if module._diff:
        result["diff"] = diff_text(redact_values(values_before, params["secret_values"]),
                                   redact_values(values_after, params["secret_values"]), changes,
                                   rollout_lines(params["rollout_order"], review["paused"], review["kept"]))


def run(module):
    """The module's work, given an AnsibleModule or the action plugin's in-process stand-in."""
    params = module.params
    names = namer(params)
    target = describe_target(params)
    release, namespace = params["release"], params["namespace"]
    helm_path = module.get_bin_path(params["helm_binary"])
    if not helm_path:
        module.fail_json(msg="%s: helm binary %r not found on the controller: install helm or set %s; nothing was "
                             "changed" % (target, params["helm_binary"], names("helm_binary")))
    helm = Helm(module.run_command, helm_path, module_helm_environment(module))
    secrets = [params.get("api_key")]
    sweep_values_folders()   # the values folders of hops killed before they could remove them

    def fail(msg, **extra):
        module.fail_json(msg=redact_text("%s: %s" % (target, msg), secrets), **extra)

    description = "%s hop %s to chart %s" % (DESCRIPTION_PREFIX, params["hop_name"], params["chart_version"])
    try:
        chart = ChartPackages(helm).local(params["chart_ref"], params["chart_repo_url"] or None, params["chart_version"])
    except (HelmError, ChartProblem, OSError) as exc:
        fail("chart %s version %s cannot be had: %s; nothing was changed" % (
            params["chart_ref"], params["chart_version"], getattr(exc, "stderr", None) or exc))
    try:
        helm_version = params["helm_version"] or helm.version()   # how helm takes the render gate (see there)
    except HelmError as exc:
        fail("%s; nothing was changed" % exc)
    upgrade = dict(release=release, namespace=namespace, chart_ref=chart, version=params["chart_version"],
                   timeout=params["timeout"], description=description)
    ordered = bool(params["rollout_order"])
    # helm's OpenAPI check runs once per hop where it checks something: in the ordered hop's dry run, else in the
    # upgrade itself
    openapi_check = client_side_openapi_check(params["kube_version"])
    # The hop's first helm call (the upgrade; in check mode and for an ordered hop, its dry run first) starts beside
    # its reads of the release: helm loads and renders the chart meanwhile, and its render waits in the gate until
    # the reads have decided whether the hop runs at all.
    dry_run_first = module.check_mode or ordered
    with PrivateValuesFile(params["values"]) as values_file:
        guard = RenderGuard(params, names("allow_statefulset_removal"))
        with RenderGate(os.path.dirname(values_file), guard, helm_version) as gate:
            with ThreadPoolExecutor(max_workers=3) as pool:
                try:
                    reading = pool.submit(read_release, helm, release, namespace)
                    guard.live = pool.submit(helm.get_manifest, release, namespace)
                    started = time.time()
                    first = pool.submit(helm.upgrade, values_file=values_file, gate=gate, dry_run=dry_run_first,
                                        openapi_check=openapi_check, **upgrade)
                    try:
                        history, user_values = reading.result()
                        if history is None:
                            fail("the release does not exist; this module upgrades existing releases only")
                        state = hop_state(history, user_values, params["chart_version"], params["values"])
                    except HelmError as exc:
                        fail(str(exc))
                    if state["refusal"]:
                        fail(state["refusal"])

                    values_before = state["user_values"]
                    values_after = merge_values(values_before, params["values"])
                    result = dict(
                        changed=False,
                        revision_before=state["revision"],
                        revision_after=state["revision"],
                        started=started,
                        values_before=redact_values(values_before, params["secret_values"]),
                        values_after=redact_values(values_after, params["secret_values"]),
                    )
                    result["command"] = [helm_path] + upgrade_arguments(
                        values_file="<private values file>", openapi_check=openapi_check and not ordered,
                        **upgrade) + ["--post-renderer", "<the render gate>"]
                    if state["applied"]:
                        module.exit_json(**result)
                    kube = None

                    def renew_lock():
                        """None, or why helm must not write: the lock is no longer this run's."""
                        try:
                            renewed = renew(params, params["renew_lock"], kube)
                        except LockLost as exc:
                            return "lost the upgrade lock before helm upgrade: %s" % exc
                        result["lock"] = dict((key, renewed[key]) for key in ("lease", "holder", "expires"))
                        return None

                    if params["renew_lock"] and not dry_run_first:
                        kube = connect(params, fail)
                        guard.before_write = renew_lock   # in the gate, once the render guard let the render through
                    guard.go()
                finally:
                    guard.go("the hop stopped before helm could write")   # no-op once the hop went on
                if dry_run_first:
                    try:
                        first.result()
                    except HelmError as exc:
                        if guard.review:
                            record_review(module, params, result, guard.review, values_before, values_after, target)
                        if gate.refusal is not None:
                            fail("%s; nothing was changed" % gate.refusal, **result)
                        fail("rendering the hop on the server failed, nothing was changed: %s" % exc)
                    result["changed"] = True
                    record_review(module, params, result, guard.review, values_before, values_after, target)
                    if module.check_mode:
                        module.exit_json(**result)

                pauser = None
                if ordered:
                    kube = connect(params, fail)
                    lost = renew_lock() if params["renew_lock"] else None
                    if lost:
                        fail(lost + "; nothing was changed", **result)
                    review = guard.review
                    if review["paused"] or review["kept"]:
                        pauser = Pauser(params, kube, review["paused"], review["kept"], fail)
                        pauser.pause()
                    guard.expected = (review["paused"], review["kept"])

                def fail_upgrade(msg, **extra):
                    if not ordered and guard.review:   # what the gate saw of the render helm was to apply
                        record_review(module, params, extra, guard.review, values_before, values_after, target)
                    (pauser.fail if pauser else fail)(msg, **extra)

                result["changed"] = True
                if dry_run_first:
                    result["started"] = time.time()
                renders = 0 if not dry_run_first else gate.renders
                try:
                    result["revision_after"] = apply_with_retries(
                        helm, values_file, dict(upgrade, openapi_check=openapi_check and not ordered), params,
                        fail_upgrade, result, gate, "helm changed nothing" if pauser else "nothing was changed",
                        None if dry_run_first else (first, 0))
                except HelmError as exc:   # a read after a failed upgrade failed too
                    fail_upgrade("helm upgrade failed: %s" % exc, **result)
        if gate.renders == renders:   # a helm that ignores --post-renderer; the supported ones (3.14 and later) do not
            module.warn("%s: helm upgrade applied the hop without passing its render through the render gate "
                        "(%s): check the helm binary" % (target, helm_path))
        elif not ordered:
            record_review(module, params, result, guard.review, values_before, values_after, target)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

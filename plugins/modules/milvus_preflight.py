#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_preflight
short_description: Inspect a Milvus Helm release and plan its upgrade from 2.5.x to 2.6.x
version_added: 1.0.0
description:
  - Reads a Milvus release (Helm history and values, Deployments, Pods, the Milvus ConfigMap and the
    message-queue StatefulSets) and decides what the two-hop upgrade must do.
  - Checks helm and Kubernetes versions, that the release exists, is a C(milvus) chart release and is
    C(deployed), the running Milvus version (from the containers' image tags), the coordinator mode and the
    message queue with its evidence.
  - Returns the O(ignore:plan), a list of hops with chart version, image tag and the complete values each hop
    will set, including explicit message-queue pins so no chart default can switch the message queue.
  - Read only. It never changes the release, in check mode or not. With O(lock) it takes the release's upgrade
    lock (as M(milvusops.cluster.milvus_lock) does) before it reads, keeps it when there is work for the run and
    gives it back when there is none.
  - A release with no hop left is checked from the same reads (every component ready on its image, nothing
    paused, the proxy serving, the message queue kept). RV(end_state) says whether it is finished, so an
    up-to-date cluster needs no further task.
  - With blockers the task fails listing every blocker, unless O(fail_on_blockers=false).
author:
  - milvusops maintainers (@milvusops)
requirements:
  - kubernetes >= 24.2.0 (Python)
  - packaging >= 21.0 (Python)
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
    description: Read only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
options:
  intermediate_version:
    description:
      - Milvus version of hop 1 (mixCoordinator). A cluster already on a newer 2.5.x keeps its own version.
    type: str
    default: v2.5.16
  intermediate_chart:
    description:
      - Chart version of hop 1. A cluster already on a newer chart keeps its own chart version.
    type: str
    default: 4.2.58
  target_version:
    description:
      - Milvus version the upgrade ends on.
    type: str
    default: v2.6.4
  target_chart:
    description:
      - Chart version of hop 2 (Streaming Node on, indexNode off).
    type: str
    default: 5.0.0
  min_helm_version:
    description: Oldest helm client accepted.
    type: str
    default: 3.14.0
  min_kube_version:
    description: Oldest Kubernetes server accepted.
    type: str
    default: 1.20.0
  source_version:
    description:
      - The Milvus version that really runs, for clusters whose image tag is not a version (C(latest),
        a digest or a custom build). Required in that case, ignored otherwise.
    type: str
  message_queue:
    description:
      - The message queue the release uses, when detection finds conflicting evidence (for example two
        queues enabled in the values). Must agree with the Milvus ConfigMap.
    type: str
    choices: [pulsar-v2, pulsar-v3, kafka, woodpecker, external-pulsar, external-kafka]
  ordered_rollout:
    description:
      - Plan hop 2 in the component order Milvus engineers give (milvus#42492) instead of helm's all at once.
        mixcoord rolls out with C(helm upgrade); the hop pauses the other Deployments it changes before it, and
        the wait resumes them one at a time once mixcoord and the new streaming node are ready (querynode,
        datanode, proxy). The index node, which hop 2 removes, is kept on 2.5 through its C(helm upgrade)
        (C(kept_components)) and deleted by the wait once the proxy runs 2.6.
      - C(false) plans one hop 2 that removes the index node and rolls every component at once.
    type: bool
    default: true
  secret_values:
    description:
      - Dotted paths of stored values to hide from results, in addition to keys whose names look like
        credentials (password, secret, token, accessKey, ...).
    type: list
    elements: str
    default: []
  fail_on_blockers:
    description:
      - Fail the task when the plan has blockers. Set to V(false) for read-only fleet reports.
    type: bool
    default: true
  chart_ref:
    description:
      - Chart the hops will be applied from, as in M(milvusops.cluster.milvus_helm_hop) O(chart_ref).
      - With O(check_charts), every planned hop's chart version is fetched from there before anything changes.
    type: str
    default: milvus
  chart_repo_url:
    description:
      - Repository holding O(chart_ref), as in M(milvusops.cluster.milvus_helm_hop) O(chart_repo_url).
        Empty for a local chart path or an C(oci://) reference.
    type: str
    default: https://zilliztech.github.io/milvus-helm
  check_charts:
    description:
      - Fetch the chart of every planned hop (C(helm pull), once per chart version and C(ansible-playbook) run;
        the package is shared by the run's clusters and hops, see M(milvusops.cluster.milvus_helm_hop)) and
        check that it is the hop's chart version. One that cannot be had, or a local chart of another version,
        is a blocker, so a missing chart or an unreachable repository is found before the first hop, not
        between two.
    type: bool
    default: true
  required_access:
    description:
      - The Kubernetes rights to check before anything else. One SelfSubjectRulesReview of the namespace settles
        what its rules grant; each right left (cluster-wide ones, and any an authorizer cannot list as rules) is
        asked with a SelfSubjectAccessReview.
      - V(upgrade) checks every right an upgrade uses (the ClusterRoles of C(docs/rbac.yml)), V(read) only the
        reads of a preflight or check-mode run, V(none) nothing.
      - A missing right fails the task listing every missing verb and resource.
    type: str
    choices: [upgrade, read, none]
    default: upgrade
  lock:
    description:
      - Take the upgrade lock of the release (a Lease, see M(milvusops.cluster.milvus_lock)) before reading, so what
        preflight reads cannot change under the run. Ignored in check mode.
      - It is kept (RV(lock.held)) when the plan has hops or the release is not yet RV(end_state.settled), and
        released otherwise, and on any failure of this task. Release a kept lock with
        M(milvusops.cluster.milvus_lock) O(milvusops.cluster.milvus_lock#module:state=released).
    type: dict
    suboptions:
      holder:
        description: Who takes it, as in M(milvusops.cluster.milvus_lock) O(milvusops.cluster.milvus_lock#module:holder).
        type: str
        required: true
      purpose:
        description: What the run does, written into the Lease.
        type: str
        default: milvusops.cluster upgrade
      duration:
        description: Seconds the lock is valid before it must be renewed.
        type: int
        default: 300
      break_stale:
        description: Take over an expired lock of another holder.
        type: bool
        default: false
seealso:
  - module: milvusops.cluster.milvus_lock
  - module: milvusops.cluster.milvus_helm_hop
  - module: milvusops.cluster.milvus_wait_ready
"""

EXAMPLES = r"""
- name: Plan the upgrade of one release
  milvusops.cluster.milvus_preflight:
    release: vectors
    namespace: milvus
    context: prod-eu-1
  register: preflight

- name: Show the hops
  ansible.builtin.debug:
    msg: "{{ preflight.plan | map(attribute='name') | list }}"

- name: Report only, never fail (fleet inventory)
  milvusops.cluster.milvus_preflight:
    release: milvus
    namespace: ai
    kubeconfig: /etc/kube/us.yaml
    target_version: v2.6.15
    target_chart: 5.0.19
    fail_on_blockers: false
  register: report
"""

RETURN = r"""
helm_version:
  description: Version of the helm client.
  returned: always
  type: str
  sample: 3.17.3
kube_version:
  description: Version of the Kubernetes API server.
  returned: always
  type: str
  sample: 1.31.0
release:
  description: The release as it is now.
  returned: when the release exists
  type: dict
  sample:
    name: vectors
    namespace: milvus
    chart: milvus
    chart_version: 4.2.20
    revision: 1
    status: deployed
    image_repository: milvusdb/milvus
    image_tag: v2.5.10
    running_version: 2.5.10
    coordinator_mode: separate
    components: [datacoord, datanode, indexcoord, indexnode, proxy, querycoord, querynode, rootcoord]
message_queue:
  description: The detected message queue, the evidence for it, and the values that pin it.
  returned: when the release exists
  type: dict
  sample:
    kind: pulsar-v2
    evidence: ["values: pulsar.enabled=true (chart default)", "configmap: mq.type=pulsar, address vectors-pulsar-proxy"]
    pins: {pulsar: {enabled: true}, pulsarv3: {enabled: false}, kafka: {enabled: false}}
layout:
  description:
    - Where the chart put the release's Milvus objects, found the way the chart finds them from the merged values
      (C(fullnameOverride), C(nameOverride), a release name that already contains the chart name,
      C(customConfigMap)). Pass it to M(milvusops.cluster.milvus_wait_ready) so verification reads what
      preflight read.
  returned: always
  type: dict
  sample: {fullname: vectors-milvus, name: milvus, configmap: vectors-milvus, custom_configmap: false}
  contains:
    fullname:
      description: The fullname; Deployments are C(<fullname>-<component>), the proxy Service is C(<fullname>).
      type: str
      sample: vectors-milvus
    name:
      description: The chart name in the C(app.kubernetes.io/name) label of the Milvus objects.
      type: str
      sample: milvus
    configmap:
      description: The ConfigMap the Milvus pods mount and the message queue is read from.
      type: str
      sample: vectors-milvus
    custom_configmap:
      description: True when RV(layout.configmap) is the operator's C(customConfigMap).
      type: bool
      sample: false
user_values:
  description: The values stored by the operator (C(helm get values)), secrets hidden.
  returned: when the release exists
  type: dict
  sample: {image: {all: {tag: v2.5.10}}, minio: {accessKey: "********", secretKey: "********"}}
plan:
  description: The hops still needed, in order, each with the complete values it sets.
  returned: always
  type: list
  elements: dict
  sample:
    - name: mixcoord
      chart_version: 4.2.58
      image_tag: v2.5.16
      values: {image: {all: {repository: milvusdb/milvus, tag: v2.5.16}}, mixCoordinator: {enabled: true}}
      expected_components: [datanode, indexnode, mixcoord, proxy, querynode]
      removed_components: [datacoord, indexcoord, querycoord, rootcoord]
      resume_order: []
      kept_components: []
    - name: streaming
      chart_version: 5.0.0
      image_tag: v2.6.4
      values: {image: {all: {repository: milvusdb/milvus, tag: v2.6.4}}, streaming: {enabled: true},
               indexNode: {enabled: false}}
      expected_components: [datanode, mixcoord, proxy, querynode, streamingnode]
      removed_components: [datacoord, indexcoord, indexnode, querycoord, rootcoord]
      resume_order: [mixcoord, streamingnode, querynode, datanode, proxy]
      kept_components: [indexnode]
paused_deployments:
  description:
    - The release's paused Milvus Deployments. C(by_us) ones were paused by an ordered hop that stopped (the next
      hop's wait resumes them in order); any other paused Deployment blocks the upgrade.
  returned: always
  type: list
  elements: dict
  sample: [{component: proxy, deployment: vectors-milvus-proxy, by_us: true, hop: hop streaming}]
blockers:
  description: Reasons the upgrade must not start, each naming what was found and what to do.
  returned: always
  type: list
  elements: str
  sample: ["the release is pending-upgrade (another helm operation is running or was killed): inspect helm history
            and roll back to the last deployed revision, then run again"]
upgrade_warnings:
  description: Risks worth knowing before the upgrade (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
  sample: ["2.5.22 fixes a data-loss bug and 2.5.21 a CVE; consider intermediate_version v2.5.22 or later"]
up_to_date:
  description: True when the release already runs the target version or newer.
  returned: always
  type: bool
  sample: false
denied:
  description: The rights the API server refused, as SelfSubjectAccessReview resource attributes.
  returned: when a right is missing (the task fails)
  type: list
  elements: dict
  sample: [{group: coordination.k8s.io, resource: leases, verb: create, namespace: milvus}]
end_state:
  description:
    - For a release with no hop left, whether it is finished, from preflight's own reads. C(settled) false leaves
      the verdict to M(milvusops.cluster.milvus_wait_ready), which waits, resumes paused Deployments and fails fast.
  returned: when the release exists and the plan has no hop
  type: dict
  sample: {settled: false, waiting_for: ["proxy: 0/1 pods on milvusdb/milvus:v2.6.4 ready"]}
  contains:
    settled:
      description: True when the release is finished; no wait is needed.
      type: bool
      sample: true
    waiting_for:
      description: What is not yet as it should be (empty when settled).
      type: list
      elements: str
      sample: []
lock:
  description: The upgrade lock, with O(lock).
  returned: with O(lock), out of check mode
  type: dict
  sample: {held: true, lease: milvusops-upgrade-vectors, holder: "ctl/4242/1733140000/20261202T101500/7",
           expires: "2026-12-02T10:20:00Z", message: lock taken}
  contains:
    held:
      description: True when this run holds the lock now and must release it.
      type: bool
      sample: true
    lease:
      description: The Lease's name.
      type: str
      sample: milvusops-upgrade-vectors
    holder:
      description: The holder written into the Lease.
      type: str
      sample: "ctl/4242/1733140000/20261202T101500/7"
    expires:
      description: When the lock expires unless renewed (UTC).
      type: str
      sample: "2026-12-02T10:20:00Z"
    message:
      description: What happened, e.g. that the lock of a run that died was taken over, or released.
      type: str
      sample: lock taken
summary:
  description: The plan in readable lines (what runs, each hop, blockers, warnings).
  returned: always
  type: list
  elements: str
  sample:
    - "prod-eu-1: vectors in milvus runs v2.5.10 on chart 4.2.20 (separate coordinators, message queue pulsar-v2)"
    - >-
      hop 1 (mixcoord): chart 4.2.58, image v2.5.16; adds datanode, indexnode, mixcoord, proxy, querynode;
      removes datacoord, indexcoord, querycoord, rootcoord
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.milvusops.cluster.plugins.module_utils.values_folders import sweep_values_folders

from ansible_collections.milvusops.cluster.plugins.module_utils.access import access_reviews, missing_rights_message
from ansible_collections.milvusops.cluster.plugins.module_utils.charts import (
    ChartPackages, ChartProblem, chart_metadata, is_local_chart, sweep_run_folders, version_problem)
from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    cluster_label, connection_argument_spec, describe_target)
from ansible_collections.milvusops.cluster.plugins.module_utils.helm import (
    Helm, HelmError, NotHelm, module_helm_environment)
from ansible_collections.milvusops.cluster.plugins.module_utils.endstate import settled
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import Conflict, Kube, KubeError
from ansible_collections.milvusops.cluster.plugins.module_utils.lease import (
    LockRefused, acquire, release, with_retries)
from ansible_collections.milvusops.cluster.plugins.module_utils.lock import lease_name, lost_race_message
from ansible_collections.milvusops.cluster.plugins.module_utils.messages import namer
from ansible_collections.milvusops.cluster.plugins.module_utils.observe import observe
from ansible_collections.milvusops.cluster.plugins.module_utils.plan import build_plan, describe
from ansible_collections.milvusops.cluster.plugins.module_utils.redact import redact_strings, redact_values
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR
from ansible_collections.milvusops.cluster.plugins.module_utils.libraries import require_libraries
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import HAS_PACKAGING, PACKAGING_IMPORT_ERROR

MQ_KINDS = ["pulsar-v2", "pulsar-v3", "kafka", "woodpecker", "external-pulsar", "external-kafka"]


def argument_spec():
    return connection_argument_spec(
        helm=True,
        intermediate_version=dict(type="str", default="v2.5.16"),
        intermediate_chart=dict(type="str", default="4.2.58"),
        target_version=dict(type="str", default="v2.6.4"),
        target_chart=dict(type="str", default="5.0.0"),
        min_helm_version=dict(type="str", default="3.14.0"),
        min_kube_version=dict(type="str", default="1.20.0"),
        source_version=dict(type="str"),
        message_queue=dict(type="str", choices=MQ_KINDS),
        ordered_rollout=dict(type="bool", default=True),
        secret_values=dict(type="list", elements="str", default=[], no_log=False),
        fail_on_blockers=dict(type="bool", default=True),
        required_access=dict(type="str", default="upgrade", choices=["upgrade", "read", "none"]),
        chart_ref=dict(type="str", default="milvus"),
        chart_repo_url=dict(type="str", default="https://zilliztech.github.io/milvus-helm"),
        check_charts=dict(type="bool", default=True),
        lock=dict(type="dict", options=dict(
            holder=dict(type="str", required=True),
            purpose=dict(type="str", default="milvusops.cluster upgrade"),
            duration=dict(type="int", default=300),
            break_stale=dict(type="bool", default=False),
        )),
    )


def chart_blockers(packages, hops, chart_ref, repo_url, names):
    """One blocker per planned chart version that cannot be had, or is a local chart of another version (each
    fetched once, into the run's packages: the hops then use them)."""
    blockers = []
    where = ("repository %s" % repo_url) if repo_url else "its location"
    versions = sorted(set(hop["chart_version"] for hop in hops))
    with ThreadPoolExecutor(max_workers=max(1, len(versions))) as pool:   # independent downloads, side by side
        fetches = [(version, pool.submit(checked_chart, packages, chart_ref, repo_url or None, version))
                   for version in versions]
    for version, fetch in fetches:
        try:
            problem = fetch.result()
        except (HelmError, ChartProblem, OSError) as exc:
            problem = "cannot be had from %s (%s)" % (where, getattr(exc, "stderr", None) or exc)
        if problem:
            blockers.append("chart %s version %s %s: check %s and %s, or the hop's chart version (%s / %s)"
                            % (chart_ref, version, problem, names("chart_ref"), names("chart_repo_url"),
                               names("intermediate_chart"), names("target_chart")))
    return blockers


def checked_chart(packages, chart_ref, repo_url, version):
    """Why the run's chart for version is not that version, or None."""
    path = packages.local(chart_ref, repo_url, version)
    problem = version_problem(chart_metadata(path), path, version)
    if problem and is_local_chart(chart_ref):
        problem += " (a local chart is one version: two hops need a repository or an oci:// reference)"
    return "cannot be used: %s" % problem if problem else None


def planner_options(params):
    keys = ("intermediate_version", "intermediate_chart", "target_version", "target_chart",
            "min_helm_version", "min_kube_version", "source_version", "message_queue", "ordered_rollout")
    return dict((key, params[key]) for key in keys)


def result_from(observed, planned, secret_paths):
    result = {
        "changed": False,
        "helm_version": observed["helm_version"],
        "kube_version": observed["kube_version"],
        "plan": planned["hops"],
        "blockers": planned["blockers"],
        "upgrade_warnings": planned["warnings"],
        "up_to_date": planned["up_to_date"],
        "summary": describe(planned),
        "layout": planned["layout"],
        "paused_deployments": planned["paused_deployments"],
    }
    release = observed.get("release")
    if release:
        image = planned.get("image") or {}
        result["release"] = {
            "name": release["name"],
            "namespace": release["namespace"],
            "chart": release["chart_name"],
            "chart_version": release["chart_version"],
            "app_version": release["app_version"],
            "revision": release["revision"],
            "status": release["status"],
            "image_repository": image.get("repository"),
            "image_tag": image.get("tag"),
            "running_version": planned.get("running_version"),
            "coordinator_mode": planned.get("coordinator_mode"),
            "components": planned.get("components", []),
        }
        result["message_queue"] = planned.get("message_queue")
        result["user_values"] = redact_values(observed["user_values"], secret_paths)
    return result


def check_access(module, kube, target):
    """Fail, naming every right, when the identity lacks one the run will use (nothing has changed yet)."""
    params = module.params
    if params["required_access"] == "none":
        return
    reviews = access_reviews(params["namespace"], read_only=params["required_access"] == "read")
    try:
        denied = kube.denied(reviews, params["namespace"])
    except KubeError as exc:   # an API server without SelfSubjectAccessReview: the operations will tell
        module.warn("%s: the Kubernetes rights could not be checked beforehand (%s)" % (target, exc))
        return
    if denied:
        names = namer(params)
        variables = " / ".join(names(option) for option in ("kubeconfig", "context", "api_key"))
        module.fail_json(msg=missing_rights_message(target, params["namespace"], denied, variables),
                         denied=denied)


class LockedRun(object):
    """The upgrade lock for the length of preflight: taken before the reads, given back on any failure."""

    def __init__(self, module, kube):
        self.module, self.kube = module, kube
        self.name = lease_name(module.params["release"])
        self.options = module.params["lock"] if not module.check_mode else None
        self.result = None
        self.took_over = None   # what taking the lock of a run that died said

    def take(self):
        if not self.options:
            return
        try:
            taken = with_retries(lambda: acquire(self.lock_params(), False, self.kube, self.name))
        except LockRefused as exc:
            self.module.fail_json(msg="%s: %s" % (describe_target(self.module.params), exc), lease=exc.lease,
                                  holder=exc.holder)
        except Conflict as exc:
            self.module.fail_json(msg=lost_race_message(describe_target(self.module.params), self.name, exc))
        self.result = dict((key, taken[key]) for key in ("lease", "holder", "expires", "message"))
        self.result["held"] = True
        self.took_over = taken["message"] if "took over" in taken["message"] else None

    def lock_params(self):
        """The lock options as milvus_lock's params, on this module's cluster."""
        return dict(self.module.params, state="acquired", **self.options)

    def give_back(self, why):
        """Release a held lock; a failure to do so is said (the lock then expires on its own)."""
        if not (self.result and self.result["held"]):
            return None
        try:
            with_retries(lambda: release(self.lock_params(), False, self.kube, self.name))
        except KubeError as exc:
            return "the upgrade lock %s could not be released (%s); it expires by itself" % (self.name, exc)
        self.result.update(held=False, message="lock released: %s" % why)
        return None

    def fail(self, msg, **result):
        problem = self.give_back("the preflight failed")
        if self.result:
            result["lock"] = self.result
        self.module.fail_json(msg=msg + ("; " + problem if problem else ""), **result)


def end_state(kube, params, observed, result):
    """settled() of a release with no hop left, from what observe() read."""
    release = result["release"]
    image = "%s:%s" % (release["image_repository"], release["image_tag"])
    return settled(kube, params["namespace"], params["release"], result["layout"], image, result.get("message_queue"),
                   observed["deployments"], observed["replicasets"], observed["pods"])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, ("kubernetes", HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR),
                      ("packaging", HAS_PACKAGING, PACKAGING_IMPORT_ERROR))
    run(module)


def run(module):
    """The module's work, given an AnsibleModule or the action plugin's in-process stand-in."""
    params = module.params
    names = namer(params)
    target = describe_target(params)
    if not module.check_mode:
        sweep_values_folders()   # values folders of hops killed (SIGKILL) before they could remove them
    helm_path = module.get_bin_path(params["helm_binary"])
    if not helm_path:
        module.fail_json(msg="%s: helm binary %r not found on the controller: install helm >= %s or set "
                             "%s; nothing was changed" % (target, params["helm_binary"], params["min_helm_version"],
                                                          names("helm_binary")))
    helm = Helm(module.run_command, helm_path, module_helm_environment(module))
    locked = None
    try:
        kube = Kube(params)
        check_access(module, kube, target)
        locked = LockedRun(module, kube)
        locked.take()
        observed = observe(helm, kube, params["release"], params["namespace"], cluster_label(params))
    except NotHelm as exc:
        fail = locked.fail if locked else module.fail_json
        fail(msg="preflight of %s failed: %s: set %s to the helm client (>= %s); nothing was changed"
                 % (target, exc, names("helm_binary"), params["min_helm_version"]))
    except (KubeError, HelmError) as exc:
        fail = locked.fail if locked else module.fail_json
        fail(msg="preflight of %s failed: %s; nothing was changed" % (target, exc))
    # evidence and messages quote configuration (pulsar.address, ...): no URL credentials in anything shown
    planned = build_plan(observed, planner_options(params))
    if params["check_charts"] and planned["hops"]:
        sweep_run_folders()   # the chart packages of runs that have ended
        planned["blockers"] = planned["blockers"] + chart_blockers(
            ChartPackages(helm), planned["hops"], params["chart_ref"], params["chart_repo_url"], names)
    planned = redact_strings(planned)
    result = result_from(observed, planned, params["secret_values"])
    for warning in planned["warnings"]:
        module.warn(warning)
    if planned["blockers"] and params["fail_on_blockers"]:
        locked.fail(msg="upgrade blocked: %s; nothing was changed" % " | ".join(planned["blockers"]), **result)
    if observed["release"] and not planned["hops"] and not planned["blockers"]:
        try:
            result["end_state"] = end_state(kube, params, observed, result)
        except KubeError as exc:   # the wait task judges it then, with its own retries
            result["end_state"] = {"settled": False, "waiting_for": ["reading the end state: %s" % exc]}
    if locked.result:
        if not planned["hops"] and (result.get("end_state") or {}).get("settled", True):
            problem = locked.give_back("nothing to do")
            if problem:
                module.warn("%s: %s" % (target, problem))
        result["lock"] = locked.result
        if locked.took_over:   # shown with the plan: the run that died is named
            result["summary"].append("%s: %s" % (target, locked.took_over))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

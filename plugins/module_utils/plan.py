# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observed cluster state -> the upgrade plan: hops with their values, blockers, warnings (pure).

The input and output shapes are documented in docs/CONTRACTS.md. Every decision the upgrade makes
about *what* to do is taken here, from data, so it can be unit-tested without a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import copy

from ansible_collections.milvusops.cluster.plugins.module_utils import mq as mqlib
from ansible_collections.milvusops.cluster.plugins.module_utils.names import (
    SEPARATE_COORDINATORS, component_of, configmap_mismatch, default_layout)
from ansible_collections.milvusops.cluster.plugins.module_utils.ordering import (
    HELM_RESOURCE_POLICY, KEPT_UNTIL_ROLLED_OUT, ROLLOUT_ORDER, kept_by_others, kept_deployments, paused_deployments)
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import (
    format_tag, parse_chart_version, parse_helm_version, parse_kube_version, parse_milvus_tag, split_image,
    try_parse_milvus_tag)

# Revisions written by this collection carry this description prefix (helm upgrade --description).
DESCRIPTION_PREFIX = "milvusops.cluster:"

DEFAULT_OPTIONS = {
    "intermediate_version": "v2.5.16",
    "intermediate_chart": "4.2.58",
    "target_version": "v2.6.4",
    "target_chart": "5.0.0",
    "min_helm_version": "3.14.0",
    "min_kube_version": "1.20.0",
    "source_version": None,
    "message_queue": None,
    "ordered_rollout": True,
}

HOP_MIXCOORD = "mixcoord"
HOP_STREAMING = "streaming"

COORDINATOR_VALUE_KEYS = {
    "rootcoord": "rootCoordinator",
    "querycoord": "queryCoordinator",
    "datacoord": "dataCoordinator",
    "indexcoord": "indexCoordinator",
}
HOP1_COMPONENTS = ["datanode", "indexnode", "mixcoord", "proxy", "querynode"]
HOP1_REMOVED = sorted(list(SEPARATE_COORDINATORS) + ["streamingnode"])
HOP2_COMPONENTS = ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
HOP2_REMOVED = sorted(list(SEPARATE_COORDINATORS) + ["indexnode"])

RC_ISSUE = "https://github.com/milvus-io/milvus/issues/43538#issuecomment-3112808997"
# Fixes after a target that matter for a 2.5 -> 2.6 upgrade: (version, what it fixes)
LATER_26_FIXES = (
    ("2.6.6", "index compatibility and a DDL change during the upgrade"),
    ("2.6.7", "a standby mixcoord panic"),
    ("2.6.11", "query timeouts while 2.5 and 2.6 components coexist (milvus#47693)"),
    ("2.6.13", "a QueryCoord deadlock"),
)
SAFE_25 = "2.5.22"


def plan(observed, options=None):
    """The plan for one cluster (see docs/CONTRACTS.md 'Planner result')."""
    opts = dict(DEFAULT_OPTIONS)
    opts.update(dict((k, v) for k, v in (options or {}).items() if v is not None))
    return _Planner(observed or {}, opts).run()


class _Planner(object):
    def __init__(self, observed, opts):
        self.o = observed
        self.opts = opts
        self.blockers = []
        self.warnings = []
        release = observed.get("release") or {}
        self.release = release
        self.rel = release.get("name") or observed.get("release_name") or "?"
        self.ns = release.get("namespace") or observed.get("namespace") or "?"
        self.where = "cluster %s: release %s in namespace %s" % (observed.get("cluster") or "?", self.rel, self.ns)
        self.layout = observed.get("layout") or default_layout(self.rel)
        self.name = self.layout["name"]
        self.result = {
            "cluster": observed.get("cluster"),
            "release": self.rel,
            "namespace": self.ns,
            "chart_version": release.get("chart_version"),
            "revision": release.get("revision"),
            "status": release.get("status"),
            "running_version": None,
            "image": None,
            "coordinator_mode": None,
            "components": [],
            "message_queue": None,
            "hops": [],
            "blockers": self.blockers,
            "warnings": self.warnings,
            "up_to_date": False,
            "layout": self.layout,
            "paused_deployments": [],
        }

    def block(self, text):
        self.blockers.append("%s: %s" % (self.where, text))

    def warn(self, text):
        text = "%s: %s" % (self.where, text)
        if text not in self.warnings:   # each warning once, however many steps find it
            self.warnings.append(text)

    # -- the steps ---------------------------------------------------------------------------

    def run(self):
        targets = self.check_options()
        self.check_tools()
        if not self.o.get("release"):
            self.block("not found (helm history has no such release). Check the release name and namespace "
                       "(helm list -A) and the kube context, then re-run")
            return self.result
        self.check_release()
        running, repository, suffix, prefix = self.running_version()
        mode, components = self.coordinators()
        self.paused()
        detection = self.message_queue()
        current_chart = self.current_chart()
        if running is not None:
            self.check_running(running)
        if targets is None or running is None or self.blockers:
            self.finish([])
            return self.result
        intermediate, intermediate_chart, target, target_chart, target_suffix = targets
        hop_suffix = suffix if target_suffix is None else target_suffix
        pins = mqlib.pins(detection["kind"])
        hops = []
        separate = [c for c in components if c in SEPARATE_COORDINATORS]

        if running.version < target.version:
            if running.version.release[:2] == (2, 5) and (running.version < intermediate.version or separate):
                hops.append(self.hop1(running, intermediate, intermediate_chart, current_chart, repository,
                                      prefix, suffix, pins))
            hop2_chart = self.opts["target_chart"]
            if current_chart is not None and current_chart > target_chart:
                # never a chart downgrade: the release's own (newer, 2.6) chart renders the target image
                hop2_chart = self.release.get("chart_version")
                self.warn("hop 2 keeps the release's chart %s, newer than target_chart %s (never a chart "
                          "downgrade)" % (hop2_chart, self.opts["target_chart"]))
            # the ordered hop 2 keeps the index node (there after hop 1) on 2.5 until the proxy runs 2.6
            keep_indexnode = self.opts["ordered_rollout"] and ("indexnode" in components or bool(hops))
            hops.append(self.hop2(target, hop2_chart, repository, prefix, hop_suffix, pins, keep_indexnode))
        else:
            if running.version > target.version:
                self.warn("running %s is newer than the target %s: nothing to do (never a downgrade)"
                          % (running.normalized, target.normalized))
            leftovers = [c for c in components if c in SEPARATE_COORDINATORS or c == "indexnode"]
            if leftovers:
                self.warn("runs 2.6 but still has %s Deployments: a later upgrade with "
                          "%s disabled removes them" % (", ".join(leftovers), ", ".join(
                              COORDINATOR_VALUE_KEYS.get(c, "indexNode") + ".enabled" for c in leftovers)))
        if running.version.release[:2] == (2, 6) and separate and hops:
            self.warn("runs 2.6 with separate coordinators (%s): hop 2 removes them in favour of mixcoord"
                      % ", ".join(separate))
        self.hop_warnings(running, hops, detection, current_chart, target, mode)
        self.removals_helm_would_skip(hops)
        self.finish(hops)
        return self.result

    def finish(self, hops):
        if self.blockers:
            self.result["hops"] = []
            self.result["up_to_date"] = False
        else:
            self.result["hops"] = hops
            self.result["up_to_date"] = not hops

    def check_options(self):
        opts = self.opts
        parsed = {}
        for key, parser in (("intermediate_version", parse_milvus_tag), ("target_version", parse_milvus_tag),
                            ("intermediate_chart", parse_chart_version), ("target_chart", parse_chart_version)):
            try:
                parsed[key] = parser(opts[key])
            except ValueError as exc:
                self.block("invalid upgrade option %s %r: %s. Set milvus_%s to a released version such as %s"
                           % (key, opts[key], exc, key, DEFAULT_OPTIONS[key]))
        if len(parsed) < 4:
            return None
        intermediate, target = parsed["intermediate_version"], parsed["target_version"]
        intermediate_chart, target_chart = parsed["intermediate_chart"], parsed["target_chart"]
        ok = True
        if intermediate.is_prerelease or not (2, 5, 16) <= intermediate.version.release[:3] < (2, 6, 0):
            self.block("intermediate_version %s must be a 2.5.x release of at least 2.5.16 (the first with the "
                       "2.5-side upgrade fixes)" % opts["intermediate_version"])
            ok = False
        if target.is_prerelease or target.version.release[:2] != (2, 6):
            self.block("target_version %s must be a 2.6.x release (not a pre-release)" % opts["target_version"])
            ok = False
        if target_chart < parse_chart_version("5.0.0"):
            self.block("target_chart %s is not a 2.6 chart: use 5.0.0 or newer" % opts["target_chart"])
            ok = False
        if intermediate_chart >= parse_chart_version("5.0.0"):
            self.block("intermediate_chart %s is a 2.6 chart: use a 4.2.x chart such as 4.2.58"
                       % opts["intermediate_chart"])
            ok = False
        if not ok:
            return None
        target_suffix = target.suffix if target.suffix else None
        return intermediate, intermediate_chart, target, target_chart, target_suffix

    def check_tools(self):
        for what, key, parser, minimum_key, why in (
                ("helm", "helm_version", parse_helm_version, "min_helm_version",
                 "--reset-then-reuse-values needs helm 3.14 or newer; install a newer helm (helm_binary)"),
                ("Kubernetes", "kube_version", parse_kube_version, "min_kube_version",
                 "upgrade the Kubernetes cluster first")):
            actual = self.o.get(key)
            try:
                minimum = parser(self.opts[minimum_key])
            except ValueError as exc:
                self.block("invalid %s: %s" % (minimum_key, exc))
                continue
            try:
                version = parser(actual)
            except ValueError:
                self.block("%s version %r cannot be read: %s" % (what, actual, why))
                continue
            if version < minimum:
                self.block("%s %s is older than the required %s: %s" % (what, actual, minimum, why))

    def check_release(self):
        release = self.release
        chart_name = release.get("chart_name")
        if chart_name != "milvus":
            self.block("its chart is %r, not the Milvus chart 'milvus': this collection only upgrades releases "
                       "of zilliztech/milvus-helm; check milvus_release" % chart_name)
        status = (release.get("status") or "").lower()
        revision = release.get("revision")
        description = release.get("description") or ""
        if status == "deployed":
            return
        good = _last_good_revision(release.get("history") or [], revision)
        rollback = ("helm rollback %s %s -n %s" % (self.rel, good, self.ns)) if good else \
            "helm rollback %s <last deployed revision> -n %s" % (self.rel, self.ns)
        if status.startswith("pending-"):
            self.block("the release is in state %s (revision %s): a helm operation is running or was "
                       "interrupted. Check `helm history %s -n %s`; if no helm operation is running, `%s` and "
                       "re-run" % (status, revision, self.rel, self.ns, rollback))
        elif status == "failed":
            if made_by_us(description, self.o.get("user_values")):
                self.warn("revision %s failed during a hop of this collection (%s): the plan re-applies it"
                          % (revision, description))
            else:
                self.block("the last revision %s failed (%s) and was not made by milvusops.cluster. Find out why "
                           "(`helm history %s -n %s`), then either finish that upgrade yourself or `%s`, and "
                           "re-run" % (revision, description or "no description", self.rel, self.ns, rollback))
        else:
            self.block("the release is in state %r, not deployed: make it deployed (`helm history %s -n %s`) "
                       "and re-run" % (status or "unknown", self.rel, self.ns))

    def milvus_images(self):
        """[(source, image)] of the Milvus containers of pods and Deployment templates."""
        images = []
        for kind, objects in (("pod", self.o.get("pods") or []), ("deployment", self.o.get("deployments") or [])):
            for obj in objects:
                component = component_of(obj, self.name)
                if not component:
                    continue
                spec = obj.get("spec") or {}
                if kind == "deployment":
                    spec = ((spec.get("template") or {}).get("spec")) or {}
                container = milvus_container(spec.get("containers") or [], component)
                if container and container.get("image"):
                    name = (obj.get("metadata") or {}).get("name", "?")
                    images.append(("%s %s" % (kind, name), container["image"]))
        return images

    def running_version(self):
        """(MilvusTag or None, repository, suffix, prefix) from the Milvus containers."""
        images = self.milvus_images()
        if not images:
            self.block("no Milvus Deployment or pod of the release was found (labels app.kubernetes.io/name=%s, "
                       "app.kubernetes.io/instance=%s): nothing to read the running version from"
                       % (self.name, self.rel))
            return None, None, "", "v"
        repositories = sorted(set(split_image(pair[1])[0] for pair in images))
        tags = []
        bad = []
        for source, image in images:
            repo, tag, digest = split_image(image)
            parsed = try_parse_milvus_tag(tag) if tag and not digest else None
            if parsed is None:
                bad.append((source, image))
            else:
                tags.append(parsed)
        repository = repositories[0]
        if len(repositories) > 1:
            self.block("Milvus containers use different image repositories (%s): set image.all.repository so "
                       "that all components agree, then re-run" % ", ".join(repositories))
        source_version = self.opts.get("source_version")
        if bad:
            if not source_version:
                self.block("the Milvus image %s (%s) has no semantic version tag, so the running version is "
                           "unknown: set source_version to the Milvus version it runs (for example v2.5.10)"
                           % (bad[0][1], bad[0][0]))
                return None, repository, "", "v"
            try:
                running = parse_milvus_tag(source_version)
            except ValueError as exc:
                self.block("source_version: %s" % exc)
                return None, repository, "", "v"
            self.warn("the Milvus image %s has no version tag; planning from source_version %s. The hops "
                      "replace it with %s:<official tag>" % (bad[0][1], source_version, repository))
            self.result["running_version"] = running.normalized
            self.result["image"] = {"repository": repository, "tag": split_image(bad[0][1])[1],
                                    "suffix": running.suffix}
            return running, repository, running.suffix, "v"
        suffixes = sorted(set(t.suffix for t in tags))
        if len(suffixes) > 1:
            self.block("Milvus image tags have different suffixes (%s): make every component use the same "
                       "image flavour, then re-run" % ", ".join(s or "(none)" for s in suffixes))
        versions = sorted(set(t.normalized for t in tags))
        lowest = min(tags, key=lambda t: t.version)
        if len(versions) > 1:
            self.warn("Milvus components run different versions (%s), as after an interrupted hop: planning "
                      "from the lowest, %s" % (", ".join(sorted(set(t.raw for t in tags))), lowest.raw))
        if source_version:
            self.warn("source_version %s is ignored: the image tag %s tells the running version"
                      % (source_version, lowest.raw))
        self.result["running_version"] = lowest.normalized
        self.result["image"] = {"repository": repository, "tag": lowest.raw, "suffix": lowest.suffix}
        return lowest, repository, lowest.suffix, lowest.prefix

    def check_running(self, running):
        if running.is_prerelease and running.base == "2.6.0":
            self.block("runs Milvus %s, a 2.6.0 pre-release that cannot be upgraded. The data can only be "
                       "kept with a manual birdwatcher repair (`repair wal-recovery-storage`) described in "
                       "milvus-io/milvus issue 43538: %s" % (running.raw, RC_ISSUE))
        elif running.is_prerelease:
            self.block("runs Milvus pre-release %s: only released versions can be upgraded; move to a released "
                       "version first" % running.raw)
        elif running.version.release[:2] < (2, 5):
            self.block("runs Milvus %s, below 2.5.0: this collection upgrades 2.5.x to 2.6.x only. Upgrade to "
                       "2.5.x first (follow the Milvus upgrade guide for %s.x)"
                       % (running.raw, ".".join(str(x) for x in running.version.release[:2])))
        elif running.version.release[0] > 2 or running.version.release[:2] > (2, 6):
            self.block("runs Milvus %s, newer than anything this collection knows how to upgrade" % running.raw)

    def coordinators(self):
        components = sorted(set(c for c in (component_of(d, self.name) for d in self.o.get("deployments") or [])
                                if c))
        separate = [c for c in components if c in SEPARATE_COORDINATORS]
        mix = "mixcoord" in components
        if separate and mix:
            mode = "mixed"
        elif separate:
            mode = "separate"
        elif mix:
            mode = "mixcoord"
        else:
            mode = "none"
        self.result["coordinator_mode"] = mode
        self.result["components"] = components
        if "standalone" in components:
            self.block("is a Milvus standalone deployment: this collection upgrades cluster mode only")
        elif components and mode == "none":
            self.warn("no coordinator Deployment found (components: %s)" % ", ".join(components))
        if mode == "mixed":
            self.warn("both mixcoord and separate coordinators (%s) exist, as after an interrupted hop 1"
                      % ", ".join(separate))
        return mode, components

    def message_queue(self):
        detection = mqlib.detect(self.o.get("all_values") or {}, self.o.get("configmap"),
                                 self.o.get("mq_statefulsets") or {}, self.rel,
                                 override=self.opts.get("message_queue"),
                                 statefulset_uids=self.o.get("mq_statefulset_uids") or {})
        result = {
            "kind": detection["kind"],
            "evidence": detection["evidence"],
            "conflicts": detection["conflicts"],
            "statefulsets": detection["statefulsets"],
            "pins": mqlib.pins(detection["kind"]) if detection["kind"] else {},
        }
        self.result["message_queue"] = result
        for conflict in detection["conflicts"]:
            self.block("message queue: %s. Evidence: %s. Fix the configuration, or set message_queue to the "
                       "queue holding the data (it must match the Milvus ConfigMap)"
                       % (conflict, "; ".join(detection["evidence"])))
        for note in detection["notes"]:
            self.warn("message queue: %s" % note)
        if not detection["conflicts"]:
            self.check_verifiable(detection)
        return detection

    def check_verifiable(self, detection):
        """After a hop the wait verifies the queue from the ConfigMap the pods mount (with the StatefulSets):
        when that evidence is missing now, the verification could never pass, so no hop may start."""
        layout = self.layout
        source = ("customConfigMap %s" % layout["configmap"]) if layout.get("custom_configmap") else \
            ("the chart's ConfigMap %s" % layout["configmap"])
        if self.o.get("configmap") is None:
            self.block("message queue: %s, the Milvus configuration the pods read, was not found, so the message "
                       "queue could not be verified after a hop. Create it (or fix customConfigMap/fullnameOverride/"
                       "nameOverride in the stored values), then re-run; nothing was changed" % source)
        elif detection.get("configmap") is None:
            self.block("message queue: %s does not say which message queue Milvus uses (no mq.type with its "
                       "pulsar.address or kafka.brokerList in default.yaml/user.yaml), so the message queue could not be "
                       "verified after a hop. Write the queue's settings into it, then re-run; nothing was changed"
                       % source)
        mismatch = configmap_mismatch(layout, self.o.get("deployments") or [])
        if mismatch:
            self.block("message queue: %s: the ConfigMap read is not the one Milvus reads. Fix customConfigMap "
                       "in the stored values, then re-run; nothing was changed" % mismatch)

    def current_chart(self):
        text = self.release.get("chart_version")
        try:
            return parse_chart_version(text)
        except ValueError:
            self.block("the release's chart version %r cannot be read" % text)
            return None

    # -- hops ----------------------------------------------------------------------------------

    def hop1(self, running, intermediate, intermediate_chart, current_chart, repository, prefix, suffix, pins):
        version = running if running.version > intermediate.version else intermediate
        tag = format_tag(version, suffix=suffix, prefix=prefix)
        chart = intermediate_chart
        chart_text = self.opts["intermediate_chart"]
        if current_chart is not None and current_chart > intermediate_chart:
            chart = current_chart
            chart_text = self.release.get("chart_version")
        values = _image_values(repository, tag)
        _deep_set(values, coordinator_values())
        _deep_set(values, {"streaming": {"enabled": False}, "indexNode": {"enabled": True}})
        _deep_set(values, copy.deepcopy(pins))
        if chart >= parse_chart_version("5.0.0"):
            self.warn("hop 1 stays on the release's chart %s (a 2.6 chart) and keeps streaming off and the "
                      "index node on while Milvus is 2.5" % chart_text)
        return _hop(HOP_MIXCOORD, chart_text, repository, tag, values, HOP1_COMPONENTS, HOP1_REMOVED)

    def hop2(self, target, chart, repository, prefix, suffix, pins, keep_indexnode):
        """Hop 2: streaming on, index node off. Ordered: its Deployments paused before helm and resumed in
        ROLLOUT_ORDER, the index node kept on 2.5 until they are rolled out. All at once (ordered_rollout off):
        helm changes everything at once and deletes the index node."""
        tag = format_tag(target, suffix=suffix, prefix=prefix)
        values = _image_values(repository, tag)
        _deep_set(values, coordinator_values())
        _deep_set(values, {"streaming": {"enabled": True}, "indexNode": {"enabled": False}})
        _deep_set(values, copy.deepcopy(pins))
        hop = _hop(HOP_STREAMING, chart, repository, tag, values, HOP2_COMPONENTS, HOP2_REMOVED)
        if self.opts["ordered_rollout"]:
            hop.update(resume_order=list(ROLLOUT_ORDER),
                       kept_components=list(KEPT_UNTIL_ROLLED_OUT) if keep_indexnode else [])
        return hop

    def paused(self):
        """Paused Milvus Deployments: ours (an ordered hop 2 that stopped) are resumed in order by the next
        hop's wait; anyone else's would keep helm's changes from rolling out, so they block."""
        paused = paused_deployments(self.o.get("deployments") or [], self.rel, self.name)
        self.result["paused_deployments"] = paused
        ours = [entry for entry in paused if entry["by_us"]]
        theirs = [entry for entry in paused if not entry["by_us"]]
        if ours:
            self.warn("Deployments %s were paused by an ordered hop that stopped (%s): this run resumes them in "
                      "order (%s)" % (", ".join("%s (%s)" % (e["deployment"], e["component"]) for e in ours),
                                      ", ".join(sorted(set(e["hop"] or "?" for e in ours))), ", ".join(ROLLOUT_ORDER)))
        kept = kept_deployments(self.o.get("deployments") or [], self.rel, self.name)
        if kept:
            self.warn("Deployments %s were kept on the old version by an ordered hop that stopped (%s): this run "
                      "deletes them once every other component is rolled out" % (
                          ", ".join("%s (%s)" % (e["deployment"], e["component"]) for e in kept),
                          ", ".join(sorted(set(e["hop"] for e in kept)))))
        if theirs:
            self.block("Deployments %s are paused, and not by milvusops.cluster: a hop's changes to them would not "
                       "roll out. Resume them (kubectl rollout resume deployment %s -n %s) or finish what paused "
                       "them, then re-run; nothing was changed" % (
                           ", ".join(e["deployment"] for e in theirs), " ".join(e["deployment"] for e in theirs),
                           self.ns))

    def removals_helm_would_skip(self, hops):
        """A Deployment a hop removes that carries someone's helm.sh/resource-policy=keep stays after helm's
        upgrade, so the hop's wait would never see its end state: refused before anything changes."""
        removed = set(component for hop in hops for component in hop["removed_components"])
        kept = kept_by_others(self.o.get("deployments") or [], removed, self.rel, self.name)
        if kept:
            self.block("Deployments %s carry %s=keep, so helm would leave them when the upgrade removes them and "
                       "the rollout could never finish. Remove the annotation (kubectl annotate deployment %s -n %s "
                       "%s-) or delete them yourself, then re-run; nothing was changed" % (
                           ", ".join("%(deployment)s (%(component)s)" % e for e in kept), HELM_RESOURCE_POLICY,
                           " ".join(e["deployment"] for e in kept), self.ns, HELM_RESOURCE_POLICY))

    def hop_warnings(self, running, hops, detection, current_chart, target, mode):
        if not hops:
            return
        names = [h["name"] for h in hops]
        kind = detection["kind"]
        # the 2.5 version the cluster sits on before hop 2
        last25 = running
        if HOP_MIXCOORD in names:
            last25 = parse_milvus_tag(hops[0]["image_tag"])
        if last25.version.release[:2] == (2, 5) and last25.version < parse_milvus_tag(SAFE_25).version:
            self.warn("the cluster runs 2.5 at %s before the 2.6 hop: 2.5.22 fixes a data-loss bug and 2.5.21 a "
                      "CVE; consider intermediate_version v2.5.22 or later (with its chart)" % last25.normalized)
        if HOP_STREAMING in names:
            later = [(v, what) for v, what in LATER_26_FIXES if parse_milvus_tag(v).version > target.version]
            if later:
                self.warn("target %s has upgrade bugs fixed later: %s; consider a newer target_version/"
                          "target_chart (for example v2.6.15 on chart 5.0.19)" % (
                              target.normalized, "; ".join("%s fixes %s" % (v, what) for v, what in later)))
            self.warn("hop 2 is a maintenance window: while any component is below 2.6 the WAL is read-only, "
                      "so writes fail until every component runs 2.6 (milvus#42082); take a backup first")
        if kind in (mqlib.KAFKA, mqlib.EXTERNAL_KAFKA):
            self.warn("Kafka message queue: make sure the topic retention outlasts the maintenance window, or "
                      "streaming nodes can crash-loop replaying expired WAL data after the upgrade (milvus#47802)")
        if current_chart is not None and current_chart < parse_chart_version("4.2.0") and kind == mqlib.PULSAR_V2:
            self.warn("the release is on chart %s (4.1.x): its Pulsar init Jobs are immutable and the upgrade "
                      "fails with 'field is immutable' unless they are deleted first (kubectl delete job "
                      "%s-pulsar-bookie-init %s-pulsar-pulsar-init -n %s)"
                      % (self.release.get("chart_version"), self.rel, self.rel, self.ns))
        if HOP_MIXCOORD in names and mode in ("separate", "mixed"):
            self.warn("hop 1 replaces the separate coordinators with mixcoord: a short coordinator outage, and "
                      "mixcoord may restart until the old coordinator sessions expire (about 30 s)")


def made_by_us(description, user_values):
    """Was this revision written by a hop of this collection?

    Our hops describe their revisions with DESCRIPTION_PREFIX, but helm replaces the description of a
    failed upgrade with its error. Then the values tell: every hop stores all six message-queue flags and
    mixCoordinator.enabled=true, a combination an operator practically never stores by hand.
    """
    if (description or "").startswith(DESCRIPTION_PREFIX):
        return True
    values = user_values or {}
    flags = [(values.get(key) or {}).get("enabled") for key in mqlib.KIND_FLAGS.values()]
    return all(isinstance(flag, bool) for flag in flags) and (values.get("mixCoordinator") or {}).get("enabled") is True


def _last_good_revision(history, current):
    """The revision to roll back to: the newest earlier `deployed` one, else the newest `superseded` one."""
    earlier = [e for e in history if e.get("revision") is not None
               and (current is None or e.get("revision") < current)]
    for status in ("deployed", "superseded"):
        revisions = [e["revision"] for e in earlier if (e.get("status") or "").lower() == status]
        if revisions:
            return max(revisions)
    return None


def milvus_container(containers, component):
    """The Milvus container of a pod spec: named like the component, else the first one."""
    for container in containers:
        if container.get("name") == component:
            return container
    return containers[0] if containers else None


def coordinator_values():
    values = {"mixCoordinator": {"enabled": True}}
    for key in sorted(COORDINATOR_VALUE_KEYS.values()):
        values[key] = {"enabled": False}
    return values


def _hop(name, chart_version, repository, tag, values, expected, removed):
    """One planned hop as the role and the modules consume it (resume_order empty: every Deployment at once)."""
    return {
        "name": name,
        "chart_version": chart_version,
        "image_tag": tag,
        "image": "%s:%s" % (repository, tag),
        "values": values,
        "expected_components": list(expected),
        "removed_components": list(removed),
        "resume_order": [],
        "kept_components": [],
    }


def _image_values(repository, tag):
    return {"image": {"all": {"repository": repository, "tag": tag}}}


def _deep_set(target, source):
    """Merge source into target in place (nested dicts merged, everything else replaced)."""
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_set(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


# -- helpers for the hop module ------------------------------------------------------------------

def merge_values(base, override):
    """A new values dict: base with override merged in (as helm merges -f files)."""
    return _deep_set(copy.deepcopy(base or {}), override or {})


def values_already_applied(user_values, hop_values):
    """True when every leaf the hop sets is already stored, with the same value, in the user values."""
    for key, value in (hop_values or {}).items():
        if not isinstance(user_values, dict) or key not in user_values:
            return False
        stored = user_values[key]
        if isinstance(value, dict) and value:
            if not isinstance(stored, dict) or not values_already_applied(stored, value):
                return False
        elif stored != value or type(stored) is not type(value):
            return False
    return True


def flatten_values(values, prefix=""):
    """{'image.all.tag': 'v2.6.4', ...}: dotted keys (dots inside keys escaped as helm --set does)."""
    flat = {}
    if isinstance(values, dict):
        if not values and prefix:
            flat[prefix] = {}
        for key in values:
            part = str(key).replace(".", "\\.")
            flat.update(flatten_values(values[key], "%s.%s" % (prefix, part) if prefix else part))
    elif isinstance(values, list):
        if not values and prefix:
            flat[prefix] = []
        for index, item in enumerate(values):
            flat.update(flatten_values(item, "%s[%d]" % (prefix, index)))
    else:
        flat[prefix] = values
    return flat


# The name milvus_preflight imports.
build_plan = plan


def show_value(value):
    """A value as the user writes it in YAML/JSON (true, null, "v2.6.4" stays v2.6.4), never a Python repr."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def describe(result):
    """Readable lines of a plan result, for the person running the playbook."""
    where = "%s: %s in %s" % (result.get("cluster") or "?", result.get("release"), result.get("namespace"))
    if result.get("running_version") is None:
        head = "%s: version unknown" % where
    else:
        head = "%s runs %s on chart %s (%s coordinators, message queue %s)" % (
            where, (result.get("image") or {}).get("tag") or result["running_version"], result.get("chart_version"),
            result.get("coordinator_mode"), (result.get("message_queue") or {}).get("kind") or "unknown")
    lines = [head]
    if result["blockers"]:
        lines.append("BLOCKED, nothing will change:")
        lines += ["  blocker: %s" % text for text in result["blockers"]]
    elif result["up_to_date"] or not result["hops"]:
        lines.append("up to date: no hop needed")
    present = set(result.get("components") or [])
    for number, hop in enumerate(result["hops"], 1):
        expected = set(hop.get("expected_components") or [])
        removed = set(hop.get("removed_components") or [])
        # what this hop really changes: components not running yet, and running ones it removes
        adds, removes = sorted(expected - present), sorted(removed & present)
        present = (present - removed) | expected
        lines.append("hop %d (%s): chart %s, image %s; adds %s; removes %s" % (
            number, hop["name"], hop["chart_version"], hop["image_tag"],
            ", ".join(adds) or "-", ", ".join(removes) or "-"))
        lines.append("  sets %s" % ", ".join("%s=%s" % (key, show_value(value)) for key, value
                                             in sorted(flatten_values(hop["values"]).items())))
        if hop.get("resume_order"):
            order = hop["resume_order"]
            kept = ("; %s kept on the old version until they are rolled out, then deleted"
                    % ", ".join(hop["kept_components"]) if hop.get("kept_components") else "")
            lines.append("  rolls out in order: %s first, with helm upgrade; the other Deployments it changes are paused "
                         "before helm upgrade, then resumed one at a time: %s%s" % (order[0], " -> ".join(order), kept))
    seen = []
    for text in result["warnings"]:
        if text not in seen:
            seen.append(text)
    lines += ["  warning: %s" % text for text in seen]
    return lines

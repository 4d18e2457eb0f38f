# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of one helm hop (pure): is it applied already, may it run, what does it change."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.milvusops.cluster.plugins.module_utils.manifest import (
    dangerous_removals, object_diff, parse_manifest)
from ansible_collections.milvusops.cluster.plugins.module_utils.ordering import deployments_to_keep, deployments_to_pause
from ansible_collections.milvusops.cluster.plugins.module_utils.plan import made_by_us, values_already_applied
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import (
    parse_chart_version, split_chart_field, try_parse_milvus_tag)

PENDING_STATES = ("pending-install", "pending-upgrade", "pending-rollback")


def hop_state(history, user_values, chart_version, hop_values):
    """Where the release stands for this hop.

    Returns revision, user_values, applied (chart and every hop value already in place on a deployed
    revision) and refusal (a message when the hop must not run at all).
    """
    last = history[-1]
    status = last.get("status", "")
    description = last.get("description", "") or ""
    current_chart = split_chart_field(last.get("chart", ""))[1]
    state = dict(revision=last.get("revision"), user_values=user_values or {}, applied=False, refusal=None)
    if status in PENDING_STATES:
        state["refusal"] = (
            "the release is %s at revision %s: another helm operation is running or was killed. Wait for it, "
            "or if none is running inspect `helm history` and roll back to the last deployed revision "
            "(`helm rollback <release> <revision>`), then run again" % (status, state["revision"]))
    elif status == "failed" and not made_by_us(description, user_values):
        state["refusal"] = (
            "the last revision %s failed outside this collection (%s): find out why and bring the release back "
            "to deployed before upgrading" % (state["revision"], description))
    elif status not in ("deployed", "failed"):
        state["refusal"] = "the release is %s; only a deployed release can be upgraded" % status
    else:
        state["refusal"] = downgrade_refusal(current_chart, chart_version, user_values, hop_values)
    state["applied"] = (status == "deployed" and current_chart == chart_version
                        and values_already_applied(state["user_values"], hop_values))
    return state


def downgrade_refusal(current_chart, chart_version, user_values, hop_values):
    """Refuse a hop that would move the chart or the stored image tag backwards (never a downgrade)."""
    try:
        if parse_chart_version(current_chart) > parse_chart_version(chart_version):
            return ("the release is on chart %s, newer than this hop's chart %s: a hop never downgrades. "
                    "Run milvus_preflight for the hops still needed" % (current_chart, chart_version))
    except ValueError:
        pass
    stored_tag, wanted_tag = _image_tag(user_values), _image_tag(hop_values)
    stored = try_parse_milvus_tag(stored_tag) if isinstance(stored_tag, str) else None
    wanted = try_parse_milvus_tag(wanted_tag) if isinstance(wanted_tag, str) else None
    if stored is not None and wanted is not None and stored.version > wanted.version:
        return ("the stored image tag %s is newer than this hop's %s: a hop never downgrades. Run "
                "milvus_preflight for the hops still needed" % (_image_tag(user_values), _image_tag(hop_values)))
    return None


def _image_tag(values):
    return (((values or {}).get("image") or {}).get("all") or {}).get("tag")


def object_changes(live_manifest, rendered_manifest):
    """The object diff of a hop (added/removed/changed), the removals that would lose data, and the data stores
    (StatefulSets: etcd, MinIO, the message queue) whose container images the hop changes."""
    live = parse_manifest(live_manifest)
    rendered = parse_manifest(rendered_manifest)
    diff = object_diff(live, rendered)
    diff["dangerous"] = dangerous_removals(diff, live)
    diff["data_store_images"] = statefulset_image_changes(live, rendered)
    return diff


def _container_images(obj):
    spec = ((((obj.get("spec") or {}).get("template") or {}).get("spec")) or {})
    return dict((c.get("name"), c.get("image")) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
                if isinstance(c, dict))


def statefulset_image_changes(live_objects, rendered_objects):
    """[{"name", "container", "before", "after"}] for every StatefulSet container whose image the hop changes.

    A data store restarted on a new image (an etcd or MinIO major version, a new Pulsar) is a change of its own,
    with its own upgrade rules: it is named, not hidden among the "changed" objects.
    """
    live = dict(((o.get("metadata") or {}).get("name"), o) for o in live_objects or [] if o.get("kind") == "StatefulSet")
    changes = []
    for obj in rendered_objects or []:
        name = (obj.get("metadata") or {}).get("name")
        if obj.get("kind") != "StatefulSet" or name not in live:
            continue
        before = _container_images(live[name])
        for container, image in sorted(_container_images(obj).items()):
            if container in before and before[container] != image:
                changes.append({"name": name, "container": container, "before": before[container], "after": image})
    return sorted(changes, key=lambda c: (c["name"], c["container"]))


def describe_image_changes(changes):
    """One readable line per data-store image change, or []."""
    return ["the hop changes the image of data store StatefulSet/%s container %s: %s -> %s (it restarts on the new "
            "image; check that version's own upgrade notes)" % (c["name"], c["container"], c["before"], c["after"])
            for c in changes]


def summary(changes):
    """Kind/name lists for results and reports."""
    return dict((key, ["%s/%s" % (entry["kind"], entry["name"]) for entry in changes[key]])
                for key in ("added", "removed", "changed"))


def removal_cause(entry, changes, hop_values=None):
    """Why the hop's rendering deletes one data-holding object, in words a person can act on.

    The values this hop sets are looked through for the dependency the object belongs to (the longest values key
    found in its name: pulsarv3 in rel-pulsarv3-bookie, not pulsar); a same-kind object the rendering adds in its
    place means it is renamed, so deleted and recreated with new claims.
    """
    name = entry["name"].lower()
    keys = [key for key, value in (hop_values or {}).items()
            if isinstance(value, dict) and "enabled" in value and key.lower() in name]
    keys.sort(key=len, reverse=True)
    replacements = [added["name"] for added in changes.get("added") or [] if added.get("kind") == entry["kind"]]
    words = []
    if keys and not hop_values[keys[0]].get("enabled"):
        words.append("this hop sets %s.enabled=false, so the chart no longer renders it" % keys[0])
    elif keys:
        words.append("the chart no longer renders it although this hop sets %s.enabled=true (a stored value or the "
                     "chart version names it differently)" % keys[0])
    else:
        words.append("the chart no longer renders it (a stored value or the chart version drops or renames it)")
    if replacements:
        words.append("the rendering adds %s %s instead: a deletion and a re-creation with new claims"
                     % (entry["kind"], ", ".join(sorted(replacements))))
    return "; ".join(words)


def removals_refused(changes, allowed, hop_values=None, option_name="allow_statefulset_removal"):
    """A refusal message when the hop would delete StatefulSets or PVC-bearing objects, naming each and why."""
    if not changes["dangerous"] or allowed:
        return None
    return ("the hop would delete %s. Their PersistentVolumeClaims would be orphaned and unflushed "
            "message-queue data lost. A stored value probably switches the message queue or a dependency: "
            "fix the values, or set %s if you really mean it"
            % ("; ".join("%s/%s (%s): %s" % (d["kind"], d["name"], d["reason"], removal_cause(d, changes, hop_values))
                         for d in changes["dangerous"]), option_name))


def render_review(live_manifest, rendered_manifest, params, option_name="allow_statefulset_removal"):
    """What the render guard makes of one render of a hop (params: milvus_helm_hop's): its object changes against
    the live manifest, the refusal of a removal that would lose data (or None), and for an ordered hop the
    Deployments to pause before helm writes and the removed ones to keep."""
    changes = object_changes(live_manifest, rendered_manifest)
    refusal = removals_refused(changes, params["allow_statefulset_removal"], params["values"], option_name)
    paused, kept = [], []
    if params["rollout_order"]:
        chart_name = (params.get("layout") or {}).get("name") or "milvus"
        paused = deployments_to_pause(changes["changed"], parse_manifest(rendered_manifest), params["release"],
                                      chart_name, tuple(params["rollout_order"]))
        kept = deployments_to_keep(changes["removed"], parse_manifest(live_manifest), params["release"],
                                   params["kept_components"], chart_name)
    return dict(changes=changes, refusal=refusal, paused=paused, kept=kept)


def diff_text(values_before, values_after, changes, rollout_lines=()):
    """Ansible diff: stored values and the objects the hop touches, before and after."""
    names = summary(changes)
    notes = ["! %s" % line for line in describe_image_changes(changes.get("data_store_images") or [])]
    notes += ["> %s" % line for line in rollout_lines]
    before = ["- %s" % name for name in names["removed"]] + ["* %s" % name for name in names["changed"]]
    after = ["+ %s" % name for name in names["added"]] + ["* %s" % name for name in names["changed"]]
    return dict(
        before_header="stored values and touched objects before the hop",
        after_header="stored values and touched objects after the hop (+ added, * changed, - removed)",
        before=_render(values_before, sorted(before, key=lambda line: line[2:])),
        after=_render(values_after, sorted(after, key=lambda line: line[2:]) + notes),
    )


def _render(values, object_lines):
    lines = ["# stored values"] + json.dumps(values, indent=2, sort_keys=True).splitlines()
    return "\n".join(lines + ["# objects"] + object_lines) + "\n"


def rollout_lines(order, paused, kept=()):
    """How an ordered hop rolls out, for check mode and the diff: what is paused and kept, then the order."""
    if not order:
        return []
    lines = ["pause before helm upgrade: %s" % (", ".join("%s (%s)" % (entry["deployment"], entry["component"])
                                                          for entry in paused) or "nothing (no Deployment changes)")]
    lines.append("roll out one at a time, each once the ones before it are rolled out (the first with helm upgrade, "
                 "the paused ones when resumed): %s" % " -> ".join(order))
    if kept:
        lines.append("keep (helm.sh/resource-policy=keep) on the old version, deleted once the rest is rolled out: %s"
                     % ", ".join("%s (%s)" % (entry["deployment"], entry["component"]) for entry in kept))
    return lines

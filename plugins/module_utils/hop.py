# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of one helm hop (pure): is it applied already, may it run, what does it change."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import yaml

from ansible_collections.milvusops.cluster.plugins.module_utils.helm import DESCRIPTION_PREFIX

PENDING_STATES = ("pending-install", "pending-upgrade", "pending-rollback")


def merge_values(base, overlay):
    """What --reset-then-reuse-values stores: the previous user values with this hop's values on top."""
    merged = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def values_contained(wanted, stored):
    """True when every leaf of wanted is present with the same value in stored."""
    for key, value in (wanted or {}).items():
        if isinstance(value, dict):
            if not isinstance(stored.get(key), dict) or not values_contained(value, stored[key]):
                return False
        elif key not in stored or stored[key] != value:
            return False
    return True


def hop_state(history, user_values, chart_version, hop_values):
    """Where the release stands for this hop.

    Returns revision, user_values, applied (chart and every hop value already in place on a deployed
    revision) and refusal (a message when the hop must not run at all).
    """
    last = history[-1]
    status = last.get("status", "")
    description = last.get("description", "") or ""
    current_chart = last.get("chart", "").rpartition("-")[2]
    state = dict(revision=last.get("revision"), user_values=user_values or {}, applied=False, refusal=None)
    if status in PENDING_STATES:
        state["refusal"] = (
            "the release is %s at revision %s: another helm operation is running or was killed. Wait for it, "
            "or if none is running inspect `helm history` and roll back to the last deployed revision "
            "(`helm rollback <release> <revision>`), then run again" % (status, state["revision"]))
    elif status == "failed" and not description.startswith(DESCRIPTION_PREFIX):
        state["refusal"] = (
            "the last revision %s failed outside this collection (%s): find out why and bring the release back "
            "to deployed before upgrading" % (state["revision"], description))
    elif status not in ("deployed", "failed"):
        state["refusal"] = "the release is %s; only a deployed release can be upgraded" % status
    state["applied"] = (status == "deployed" and current_chart == chart_version
                        and values_contained(hop_values, state["user_values"]))
    return state


def parse_manifest(text):
    """Objects of a helm manifest, keyed by (kind, namespace-less name)."""
    objects = {}
    for document in yaml.safe_load_all(text or ""):
        if isinstance(document, dict) and document.get("kind"):
            name = (document.get("metadata") or {}).get("name", "")
            objects[(document["kind"], name)] = document
    return objects


def carries_volume_claims(obj):
    """StatefulSets with claim templates, PVCs, and workloads mounting a PVC."""
    if obj.get("kind") == "PersistentVolumeClaim":
        return True
    spec = obj.get("spec") or {}
    if spec.get("volumeClaimTemplates"):
        return True
    pod_spec = ((spec.get("template") or {}).get("spec") or {}) if obj.get("kind") != "Pod" else spec
    return any("persistentVolumeClaim" in (volume or {}) for volume in pod_spec.get("volumes") or [])


def object_changes(live_manifest, rendered_manifest):
    """Objects the hop adds, removes and changes, and the removals that lose data."""
    live = parse_manifest(live_manifest)
    rendered = parse_manifest(rendered_manifest)
    added = sorted(set(rendered) - set(live))
    removed = sorted(set(live) - set(rendered))
    changed = sorted(key for key in set(live) & set(rendered) if live[key] != rendered[key])
    dangerous = [key for key in removed if key[0] == "StatefulSet" or carries_volume_claims(live[key])]

    def names(keys):
        return ["%s/%s" % key for key in keys]

    return dict(
        added=added, removed=removed, changed=changed, dangerous=dangerous,
        summary=dict(added=names(added), removed=names(removed), changed=names(changed)),
    )


def removals_refused(changes, allowed):
    """A refusal message when the hop would delete StatefulSets or PVC-bearing objects."""
    if not changes["dangerous"] or allowed:
        return None
    return ("the hop would delete %s (their PersistentVolumeClaims would be orphaned and unflushed "
            "message-queue data lost). This usually means a stored value switches the message queue or a "
            "dependency; fix the values, or set allow_statefulset_removal if you really mean it"
            % ", ".join("%s/%s" % key for key in changes["dangerous"]))


def diff_text(values_before, values_after, changes):
    """Ansible diff: stored values and the object list, before and after."""
    before_objects = sorted(set(changes["removed"]) | set(changes["changed"]))
    after_objects = sorted(set(changes["added"]) | set(changes["changed"]))
    return dict(
        before_header="values and objects before the hop",
        after_header="values and objects after the hop",
        before=_render(values_before, before_objects, changes),
        after=_render(values_after, after_objects, changes),
    )


def _render(values, objects, changes):
    lines = ["# stored values"] + json.dumps(values, indent=2, sort_keys=True).splitlines()
    lines.append("# objects (changed ones marked *)")
    changed = set(changes["changed"])
    lines += ["%s %s/%s" % ("*" if key in changed else "-", key[0], key[1]) for key in objects]
    return "\n".join(lines) + "\n"

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object-level diff between a release's live manifest and a hop's server-side render (pure).

Inputs are lists of parsed Kubernetes object dicts (``parse_manifest`` turns helm's multi-document
YAML into them). Objects are matched by kind and name: helm renders namespaced objects without a
namespace, and one release lives in one namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible.module_utils.common.yaml import HAS_YAML, yaml_load_all

# Fields that differ between a render and a live read without meaning a change.
_VOLATILE_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation",
                      "selfLink", "namespace")
MAX_PATHS = 25


def parse_manifest(text):
    """Parsed objects of a multi-document YAML manifest (empty documents and List wrappers handled)."""
    if not HAS_YAML:
        raise ImportError("PyYAML (an ansible-core dependency) is required to read helm manifests")
    objects = []
    for document in yaml_load_all(text or ""):
        if not isinstance(document, dict) or not document.get("kind"):
            continue
        if document.get("kind", "").endswith("List") and isinstance(document.get("items"), list):
            objects.extend(item for item in document["items"] if isinstance(item, dict))
        else:
            objects.append(document)
    return objects


def object_key(obj):
    """'Kind/name' of an object."""
    return "%s/%s" % (obj.get("kind", "?"), (obj.get("metadata") or {}).get("name", "?"))


def _comparable(obj):
    clean = dict((k, v) for k, v in obj.items() if k != "status")
    metadata = dict(clean.get("metadata") or {})
    for key in _VOLATILE_METADATA:
        metadata.pop(key, None)
    clean["metadata"] = metadata
    return clean


def _paths(before, after, prefix, out):
    """Dotted paths where two structures differ (stops collecting after MAX_PATHS)."""
    if len(out) >= MAX_PATHS:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            if key not in before or key not in after:
                out.append(path)
            else:
                _paths(before[key], after[key], path, out)
            if len(out) >= MAX_PATHS:
                return
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after)):
            _paths(b, a, "%s[%d]" % (prefix, index), out)
    elif before != after:
        out.append(prefix or "(object)")


def object_diff(live_objects, rendered_objects):
    """{"added": [...], "removed": [...], "changed": [...], "unchanged": n}.

    Each entry is {"kind", "name"}; changed entries also list "paths" that differ
    (e.g. spec.template.spec.containers[0].image), at most MAX_PATHS of them.
    """
    live = dict((object_key(o), o) for o in live_objects or [])
    rendered = dict((object_key(o), o) for o in rendered_objects or [])
    diff = {"added": [], "removed": [], "changed": [], "unchanged": 0}
    for key in sorted(set(live) | set(rendered)):
        obj = rendered.get(key) or live.get(key)
        entry = {"kind": obj.get("kind"), "name": (obj.get("metadata") or {}).get("name")}
        if key not in live:
            diff["added"].append(entry)
        elif key not in rendered:
            diff["removed"].append(entry)
        else:
            before, after = _comparable(live[key]), _comparable(rendered[key])
            if before == after:
                diff["unchanged"] += 1
            else:
                paths = []
                _paths(before, after, "", paths)
                entry["paths"] = paths
                diff["changed"].append(entry)
    return diff


def _pod_spec(obj):
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def holds_storage(obj):
    """Why an object carries persistent data ('' when it does not)."""
    kind = obj.get("kind")
    if kind == "StatefulSet":
        return "StatefulSet"
    if kind == "PersistentVolumeClaim":
        return "PersistentVolumeClaim"
    if (obj.get("spec") or {}).get("volumeClaimTemplates"):
        return "has volumeClaimTemplates"
    claims = [v.get("persistentVolumeClaim", {}).get("claimName") for v in _pod_spec(obj).get("volumes") or []
              if isinstance(v, dict) and v.get("persistentVolumeClaim")]
    if claims:
        return "mounts PersistentVolumeClaim %s" % ", ".join(str(c) for c in claims)
    return ""


def dangerous_removals(diff, live_objects):
    """Removed objects that hold data: [{"kind", "name", "reason"}] (StatefulSets, PVCs, PVC users)."""
    live = dict((object_key(o), o) for o in live_objects or [])
    dangerous = []
    for entry in diff.get("removed") or []:
        obj = live.get("%s/%s" % (entry.get("kind"), entry.get("name"))) or {"kind": entry.get("kind")}
        reason = holds_storage(obj)
        if reason:
            dangerous.append({"kind": entry.get("kind"), "name": entry.get("name"), "reason": reason})
    return dangerous

"""Strategic merge patch, JSON merge patch (RFC 7386) and JSON patch (RFC 6902)."""

import copy

import jsonpatch


class PatchApplyError(ValueError):
    """A well-formed patch that does not apply to the object (the real server answers 422)."""


class PatchError(ValueError):
    pass


# Merge keys by path inside a pod spec; other lists are atomic (replaced whole).
_CONTAINER_LISTS = {"env": "name", "ports": "containerPort", "volumeMounts": "mountPath",
                    "volumeDevices": "devicePath"}
_POD_SPEC_LISTS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
                   "imagePullSecrets": "name", "volumes": "name", "hostAliases": "ip",
                   "topologySpreadConstraints": "topologyKey"}
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def list_strategy(kind, path):
    """('merge', key) for lists merged by key, ('union', None) for merged primitive lists,
    or None for atomic lists. `path` is the tuple of map keys leading to the list."""
    if path == ("metadata", "ownerReferences"):
        return ("merge", "uid")
    if path == ("metadata", "finalizers"):
        return ("union", None)
    if kind == "Service" and path == ("spec", "ports"):
        return ("merge", "port")
    pod = _POD_SPEC_PATHS.get(kind)
    if pod and path[:len(pod)] == pod:
        rest = path[len(pod):]
        if len(rest) == 1 and rest[0] in _POD_SPEC_LISTS:
            return ("merge", _POD_SPEC_LISTS[rest[0]])
        if (len(rest) == 2 and rest[0] in ("containers", "initContainers", "ephemeralContainers")
                and rest[1] in _CONTAINER_LISTS):
            return ("merge", _CONTAINER_LISTS[rest[1]])
    return None


def strategic_merge(original, patch, kind):
    """Apply a strategic merge patch to `original` (not modified) and return the result."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _merge_map(copy.deepcopy(original) if isinstance(original, dict) else {}, patch, kind, ())


def _merge_map(orig, patch, kind, path):
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"}, kind, path)
    if directive == "delete":
        return None
    if directive is not None:
        raise PatchError(f"unknown patch directive {directive!r}")
    retain = patch.get("$retainKeys")
    orders = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(orig.get(field), list):
                orig[field] = [v for v in orig[field] if v not in value]
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        sub = path + (key,)
        if value is None:
            orig.pop(key, None)
        elif isinstance(value, dict):
            cur = orig.get(key)
            merged = _merge_map(cur if isinstance(cur, dict) else {}, value, kind, sub)
            if merged is None:
                orig.pop(key, None)
            else:
                orig[key] = merged
        elif isinstance(value, list):
            orig[key] = _merge_list(orig.get(key), value, kind, sub)
        else:
            orig[key] = value
    for field, order in orders.items():
        if isinstance(orig.get(field), list):
            orig[field] = _apply_order(orig[field], order, list_strategy(kind, path + (field,)))
    if retain is not None:
        keep = set(retain)
        for key in list(orig):
            if key not in keep:
                del orig[key]
    return orig


def _merge_list(orig, patch, kind, path):
    strategy = list_strategy(kind, path)
    if strategy is None:
        return _strip(patch, kind, path)
    if not isinstance(orig, list):
        orig = []
    if strategy[0] == "union":
        out = list(orig)
        for v in patch:
            if v not in out:
                out.append(v)
        return out
    key = strategy[1]
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip({k: v for k, v in i.items() if k != "$patch"}, kind, path)
                for i in patch if isinstance(i, dict) and i.get("$patch") != "replace"]
    out = [copy.deepcopy(i) for i in orig]
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"list {'.'.join(path)} expects objects with merge key {key!r}")
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        idx = next((n for n, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]),
                   None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(_merge_map({}, item, kind, path))
        else:
            out[idx] = _merge_map(out[idx], item, kind, path)
    return out


def _apply_order(items, order, strategy):
    """Order items as `$setElementOrder` says; items it does not name keep their place at the end."""
    if strategy and strategy[0] == "merge":
        key = strategy[1]
        ident = [o.get(key) if isinstance(o, dict) else o for o in order]
        pos = {v: n for n, v in enumerate(ident)}
        named = sorted((i for i in items if isinstance(i, dict) and i.get(key) in pos),
                       key=lambda i: pos[i.get(key)])
        rest = [i for i in items if not (isinstance(i, dict) and i.get(key) in pos)]
        return named + rest
    pos = {v: n for n, v in enumerate(order) if isinstance(v, (str, int, float))}
    named = sorted((i for i in items if i in pos), key=lambda i: pos[i])
    return named + [i for i in items if i not in pos]


def _strip(value, kind, path):
    """A patch value placed where nothing existed: apply it to an empty value to drop directives."""
    if isinstance(value, dict):
        return _merge_map({}, value, kind, path) or {}
    if isinstance(value, list):
        return [_strip(v, kind, path) if isinstance(v, dict) else v for v in value]
    return value


def json_merge(original, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = json_merge(out.get(key), value)
    return out


def json_patch(original, operations):
    """RFC 6902 JSON patch via the jsonpatch library."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(original, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as e:
        raise PatchApplyError(str(e)) from e

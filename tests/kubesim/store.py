"""The object store: API semantics (create/update/patch/delete), resourceVersions, watch fan-out.

Stored objects are never mutated after they are stored, so watch events and lists can share them;
every object handed to a caller is a fresh copy.
"""

import json
import random
import threading
import time
import uuid
from collections import deque

from . import defaults, errors, patch as patchlib, resources
from .selectors import match_fields, match_labels, parse_field_selector, parse_label_selector

SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"
BOOT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def clone(obj):
    return json.loads(json.dumps(obj))


def now_rfc3339(ts=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def random_suffix(n=5):
    return "".join(random.choice(SUFFIX_CHARS) for _ in range(n))


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """All objects of one simulated cluster."""

    def __init__(self, history=50000):
        self.lock = threading.RLock()
        self._objects = {r.key: {} for r in resources.RESOURCES}
        self._rv = 1
        self._history = deque(maxlen=history)   # (rv, res.key, type, obj, old)
        self._listeners = []
        self.next_ip = 10
        for ns in BOOT_NAMESPACES:
            self.create("namespaces", None, {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": ns}})

    # ---- plumbing ---------------------------------------------------------------------
    @property
    def resource_version(self):
        return str(self._rv)

    def subscribe(self, fn):
        """fn(event_type, resource, obj, old) is called under the store lock: it must not block."""
        with self.lock:
            self._listeners.append(fn)

    def unsubscribe(self, fn):
        with self.lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def _emit(self, res, etype, obj, old):
        self._history.append((int(obj["metadata"]["resourceVersion"]), res.key, etype, obj, old))
        for fn in list(self._listeners):
            fn(etype, res, obj, old)

    def _bump(self):
        self._rv += 1
        return str(self._rv)

    def history_since(self, res, rv):
        """Events of `res` after resourceVersion rv; None when rv is older than the kept history."""
        with self.lock:
            if rv >= self._rv:
                return []
            if self._history and self._history[0][0] > rv + 1 and len(self._history) == self._history.maxlen:
                return None
            return [(t, o, old) for (erv, key, t, o, old) in self._history if erv > rv and key == res.key]

    @staticmethod
    def _ns_name(res, ns, name):
        return (ns if res.namespaced else "", name)

    def _raw(self, res, ns, name):
        return self._objects[res.key].get(self._ns_name(res, ns, name))

    # ---- reads ------------------------------------------------------------------------
    def get(self, resource, name, namespace=None):
        """A copy of the object or None."""
        res = resources.lookup(resource)
        with self.lock:
            obj = self._raw(res, namespace, name)
            return clone(obj) if obj is not None else None

    def read(self, res, ns, name):
        with self.lock:
            obj = self._raw(res, ns, name)
            if obj is None:
                raise errors.not_found(res, name)
            return clone(obj)

    def list(self, resource, namespace=None, label_selector=None, field_selector=None, raw=False):
        """Matching objects (copies unless raw=True, whose dicts must not be mutated)."""
        items, _ = self.list_rv(resources.lookup(resource), namespace, label_selector, field_selector,
                                raw=raw)
        return items

    def list_rv(self, res, ns=None, label_selector=None, field_selector=None, raw=False):
        lsel = parse_label_selector(label_selector) if isinstance(label_selector, str) else label_selector
        fsel = parse_field_selector(field_selector) if isinstance(field_selector, str) else field_selector
        with self.lock:
            out = []
            for (ons, _), obj in sorted(self._objects[res.key].items()):
                if ns and res.namespaced and ons != ns:
                    continue
                if lsel and not match_labels(lsel, obj["metadata"].get("labels")):
                    continue
                if fsel and not match_fields(fsel, obj):
                    continue
                out.append(obj)
            rv = self.resource_version
        return (out if raw else [clone(o) for o in out]), rv

    def owned_by(self, resource, ns, owner_uid):
        """Objects of `resource` in ns whose ownerReferences name owner_uid (stored dicts: read only)."""
        res = resources.lookup(resource)
        with self.lock:
            return [o for (ons, _), o in self._objects[res.key].items()
                    if (not ns or ons == ns) and any(r.get("uid") == owner_uid
                                                     for r in o["metadata"].get("ownerReferences") or [])]

    # ---- writes -----------------------------------------------------------------------
    def _check_namespace(self, res, ns):
        if res.namespaced and self._raw(resources.lookup("namespaces"), None, ns) is None:
            raise errors.not_found(resources.lookup("namespaces"), ns)

    def create(self, resource, namespace, body, dry_run=False, keep_status=False):
        res = resources.lookup(resource)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request is not an object")
        obj = clone(body)
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            namespace = namespace or meta.get("namespace") or "default"
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match "
                                         "the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        with self.lock:
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + random_suffix()
                else:
                    raise errors.invalid(res, "", [("metadata.name", "Required value: name or "
                                                    "generateName is required")])
            self._check_namespace(res, namespace)
            if self._raw(res, namespace, meta["name"]) is not None:
                raise errors.already_exists(res, meta["name"])
            if meta.get("resourceVersion"):
                raise errors.bad_request("resourceVersion should not be set on objects to be created")
            if res.status and not keep_status:
                obj.pop("status", None)
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if res.generation:
                meta["generation"] = 1
            defaults.admit(self, res, obj, None)
            if dry_run:
                meta["resourceVersion"] = self.resource_version
                return clone(obj)
            meta["resourceVersion"] = self._bump()
            self._objects[res.key][self._ns_name(res, namespace, meta["name"])] = obj
            self._emit(res, "ADDED", obj, None)
            self._collect_if_owners_gone(res, obj)
            return clone(obj)

    def _owner_present(self, ref, namespace):
        """Whether the object an ownerReference names still exists with that uid. Owners live in the
        dependent's namespace or are cluster-scoped; a kind kubesim does not serve counts as present."""
        try:
            owner_res = resources.lookup(ref.get("kind") or "")
        except KeyError:
            return True
        owner = self._raw(owner_res, namespace, ref.get("name"))
        return owner is not None and owner["metadata"]["uid"] == ref.get("uid")

    def _collect_if_owners_gone(self, res, obj):
        """The garbage collector's part for an object created for owners that are already gone (a
        controller that read its owner just before the owner was deleted): the object goes when all its
        owners are gone (a scheduled pod terminates gracefully); otherwise only the dangling references go."""
        meta = obj["metadata"]
        refs = meta.get("ownerReferences") or []
        kept = [r for r in refs if self._owner_present(r, meta.get("namespace"))]
        if len(kept) == len(refs):
            return
        if not kept:
            self.delete(res, meta.get("namespace"), meta["name"])
            return
        self._set_owner_references(res, obj, kept)

    def _set_owner_references(self, res, obj, refs):
        """Store obj with only `refs` as its owners (none: the field goes), as a MODIFIED event."""
        new = clone(obj)
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        new["metadata"]["resourceVersion"] = self._bump()
        meta = obj["metadata"]
        self._objects[res.key][self._ns_name(res, meta.get("namespace"), meta["name"])] = new
        self._emit(res, "MODIFIED", new, obj)

    def update(self, resource, namespace, name, body, subresource=None, dry_run=False,
               check_rv=True):
        """PUT semantics: conditional on resourceVersion when the body has one."""
        res = resources.lookup(resource)
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request is not an object")
        with self.lock:
            old = self._raw(res, namespace, name)
            if old is None:
                raise errors.not_found(res, name)
            new = clone(body)
            meta = new.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.bad_request(f'the name of the object ({meta.get("name")}) does not match '
                                         f'the name on the URL ({name})')
            if res.namespaced and (meta.get("namespace") or namespace) != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the "
                                         "namespace sent on the request")
            rv = meta.get("resourceVersion")
            if check_rv and rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(res, name)
            return self._commit(res, old, new, subresource, dry_run)

    def patch(self, resource, namespace, name, patch_type, body, subresource=None, dry_run=False):
        res = resources.lookup(resource)
        with self.lock:
            old = self._raw(res, namespace, name)
            if old is None:
                raise errors.not_found(res, name)
            try:
                if patch_type == "strategic":
                    new = patchlib.strategic_merge(old, body, res.kind)
                elif patch_type == "merge":
                    new = patchlib.json_merge(old, body)
                elif patch_type == "json":
                    new = patchlib.json_patch(old, body)
                else:
                    raise errors.unsupported_media_type(patch_type)
            except patchlib.PatchError as e:
                raise errors.bad_request(str(e)) from e
            except patchlib.PatchApplyError as e:
                raise errors.unprocessable(str(e)) from e
            if not isinstance(new, dict):
                raise errors.bad_request("patch result is not an object")
            meta = new.setdefault("metadata", {})
            if meta.get("name") != name:
                raise errors.bad_request("the name of the object cannot be changed by a patch")
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(res, name)
            return self._commit(res, old, new, subresource, dry_run)

    def mutate(self, resource, namespace, name, fn, subresource=None):
        """Read-modify-write under the lock (for controllers): fn(obj) edits a copy in place.
        subresource "status" writes only status, "*" writes spec and status together.
        Returns the stored object copy, or None when the object is gone."""
        res = resources.lookup(resource)
        with self.lock:
            old = self._raw(res, namespace, name)
            if old is None:
                return None
            new = clone(old)
            fn(new)
            return self._commit(res, old, new, subresource, False)

    def put(self, obj):
        """Python API: create or replace unconditionally, keeping the given status."""
        res = resources.for_object(obj)
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") or ("default" if res.namespaced else None)
        with self.lock:
            if self._raw(res, ns, meta["name"]) is None:
                body = clone(obj)
                body.get("metadata", {}).pop("resourceVersion", None)
                return self.create(res, ns, body, keep_status=True)
            out = self.update(res, ns, meta["name"], obj, check_rv=False)
            if "status" in obj and res.status:
                out = self.update(res, ns, meta["name"], obj, subresource="status", check_rv=False)
            return out

    def _commit(self, res, old, new, subresource, dry_run):
        meta = new["metadata"]
        ometa = old["metadata"]
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if subresource == "status":
            # Only status changes through /status.
            status = new.get("status")
            new = clone(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
        else:
            if res.status and subresource != "*":   # "*": controllers writing spec and status at once
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation"):
                if k in ometa:
                    meta[k] = ometa[k]
                else:
                    meta.pop(k, None)
            meta["name"] = ometa["name"]
            if res.namespaced:
                meta["namespace"] = ometa["namespace"]
            else:
                meta.pop("namespace", None)
            meta.pop("managedFields", None)
            if res.generation and _spec_part(old) != _spec_part(new):
                meta["generation"] = ometa.get("generation", 1) + 1
            defaults.admit(self, res, new, old)
        meta["resourceVersion"] = ometa["resourceVersion"]
        if new == old:
            return clone(old)   # no-op: no new resourceVersion, no watch event
        if dry_run:
            return clone(new)
        meta["resourceVersion"] = self._bump()
        self._objects[res.key][self._ns_name(res, ometa.get("namespace"), ometa["name"])] = new
        self._emit(res, "MODIFIED", new, old)
        return clone(new)

    # ---- deletion ---------------------------------------------------------------------
    def delete(self, resource, namespace, name, propagation=None, grace=None, preconditions=None,
               dry_run=False):
        """Delete with ownerReference cascade. Scheduled pods terminate gracefully (the kubelet
        removes them); everything else goes at once. Returns (object, graceful)."""
        res = resources.lookup(resource)
        with self.lock:
            obj = self._raw(res, namespace, name)
            if obj is None:
                raise errors.not_found(res, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                raise errors.conflict(res, name, "Precondition failed: UID in precondition: "
                                      f'{pre["uid"]}, UID in object meta: {obj["metadata"]["uid"]}')
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise errors.conflict(res, name)
            if dry_run:
                return clone(obj), False
            if res.plural == "pods" and grace != 0 and (obj.get("spec") or {}).get("nodeName"):
                if obj["metadata"].get("deletionTimestamp"):
                    return clone(obj), True
                new = clone(obj)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 30 if grace is None else grace
                new["metadata"]["resourceVersion"] = self._bump()
                self._objects[res.key][self._ns_name(res, namespace, name)] = new
                self._emit(res, "MODIFIED", new, obj)
                return clone(new), True
            self._remove(res, obj, propagation or "Background")
            return clone(obj), False

    def remove(self, resource, namespace, name):
        """Hard delete now (the kubelet finishing a terminating pod). True if it existed."""
        res = resources.lookup(resource)
        with self.lock:
            obj = self._raw(res, namespace, name)
            if obj is None:
                return False
            self._remove(res, obj, "Background")
            return True

    def _remove(self, res, obj, propagation):
        meta = obj["metadata"]
        key = self._ns_name(res, meta.get("namespace"), meta["name"])
        if self._objects[res.key].pop(key, None) is None:
            return
        gone = clone(obj)
        gone["metadata"]["resourceVersion"] = self._bump()
        self._emit(res, "DELETED", gone, obj)
        if res.plural == "namespaces":
            for other in resources.RESOURCES:
                if other.namespaced:
                    for (ons, _), child in list(self._objects[other.key].items()):
                        if ons == meta["name"]:
                            self._remove(other, child, "Background")
            return
        self._cascade(meta["uid"], propagation)

    def _cascade(self, uid, propagation):
        for other in resources.RESOURCES:
            for child in list(self._objects[other.key].values()):
                refs = child["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                rest = [r for r in refs if r.get("uid") != uid]
                cm = child["metadata"]
                if propagation == "Orphan" or rest:
                    self._set_owner_references(other, child, rest)
                else:
                    # Dependents go the same way an API delete would (pods terminate gracefully).
                    try:
                        self.delete(other, cm.get("namespace"), cm["name"], propagation=propagation)
                    except errors.ApiError:
                        pass

    def delete_collection(self, resource, namespace, label_selector=None, field_selector=None,
                          propagation=None):
        res = resources.lookup(resource)
        with self.lock:
            items, _ = self.list_rv(res, namespace, label_selector, field_selector, raw=True)
            out = []
            for obj in items:
                try:
                    out.append(self.delete(res, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                           propagation=propagation)[0])
                except errors.ApiError:
                    pass
            return out

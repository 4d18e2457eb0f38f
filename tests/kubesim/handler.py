"""HTTP request handling: routing, bodies, auth, API faults, counters, watches."""

import json
import queue
import select
import socket
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from . import discovery, errors, protobuf, resources
from .selectors import SelectorError, match_fields, match_labels, parse_field_selector, \
    parse_label_selector

PATCH_TYPES = {"application/strategic-merge-patch+json": "strategic",
               "application/merge-patch+json": "merge", "application/json-patch+json": "json"}
TRUE = ("1", "true", "True")


ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RULES_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"

class Request:
    """A parsed resource request."""

    def __init__(self, res, namespace, name, sub, subpath, verb):
        self.res, self.namespace, self.name = res, namespace, name
        self.sub, self.subpath, self.verb = sub, subpath, verb


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, every keep-alive reply waited for the
    # client's delayed ACK (~40 ms per request). A real API server sets TCP_NODELAY too.
    disable_nagle_algorithm = True
    server_version = "kubesim"

    def log_message(self, fmt, *args):   # quiet: tests read counters, not logs
        pass

    # ---- plumbing ---------------------------------------------------------------------
    @property
    def cluster(self):
        return self.server.cluster

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, code, obj, content_type="application/json"):
        self.send_raw(code, json.dumps(obj).encode(), content_type)

    def send_raw(self, code, data, content_type):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_status(self, err):
        self.send_json(err.code, err.status())

    def _drop_connection(self):
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- dispatch ---------------------------------------------------------------------
    def _handle(self, method):
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if path.startswith("/kubesim/"):
            self.cluster.control.handle(self, method, path, query, body)
            return
        try:
            req = self._parse(method, path, query)
        except errors.ApiError as e:
            req = None
            parse_error = e
        else:
            parse_error = None
        verb = req.verb if req else method.lower()
        counter = f"{verb} {req.res.plural}{'/' + req.sub if req.sub else ''}" if req \
            else f"{method.lower()} {path}"
        self.cluster.count(counter)
        latency, outage, code = self.cluster.faults.api_decision(verb, path)
        if outage == "refuse":
            self._drop_connection()
            return
        if latency:
            time.sleep(latency)
        if outage == "503":
            self.send_error_status(errors.service_unavailable())
            return
        if code:
            self.send_error_status(errors.internal(code, f"kubesim injected error {code}"))
            return
        token = self.cluster.token
        if token and self.headers.get("Authorization", "") != f"Bearer {token}":
            self.send_error_status(errors.unauthorized())
            return
        try:
            if method == "POST" and path == ACCESS_REVIEW_PATH:
                return self._access_review(body)
            if method == "POST" and path == RULES_REVIEW_PATH:
                return self._rules_review(body)
            if parse_error:
                raise parse_error
            if req is None:
                self._non_resource(method, path)
            else:
                self._resource(method, req, query, body)
        except errors.ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _parse(self, method, path, query):
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        res = resources.by_path(group, version, rest[0])
        if res is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        subpath = "/" + "/".join(rest[3:]) if len(rest) > 3 else "/"
        if path.endswith("/") and len(rest) > 3:
            subpath += "/"
        if res.namespaced and namespace is None and method != "GET":
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        watch = query.get("watch") in TRUE
        if method == "GET":
            verb = "watch" if watch else ("get" if name else "list")
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete" if name else "deletecollection"}[method]
        return Request(res, namespace, name, sub, subpath, verb)

    def _access_review(self, body):
        """kubesim has no authorization: whoever is authenticated may do anything it asks about."""
        review = self._decode(body) or {}
        review.update(apiVersion="authorization.k8s.io/v1", kind="SelfSubjectAccessReview",
                      status={"allowed": True, "reason": "kubesim authorizes every authenticated request"})
        return self.send_json(201, review)

    def _rules_review(self, body):
        """Every authenticated identity may do anything, in every namespace: one rule says so."""
        review = self._decode(body) or {}
        review.update(apiVersion="authorization.k8s.io/v1", kind="SelfSubjectRulesReview",
                      status={"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                              "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False})
        return self.send_json(201, review)

    # ---- non-resource paths -----------------------------------------------------------
    def _non_resource(self, method, path):
        c = self.cluster
        accept = self.headers.get("Accept", "")
        aggregated = "as=APIGroupDiscoveryList" in accept and "v=v2;" in accept + ";"
        if method != "GET":
            raise errors.method_not_allowed()
        p = path.rstrip("/") or "/"
        if p == "/version":
            return self.send_json(200, discovery.version_doc(c.kube_version))
        if p in ("/healthz", "/readyz", "/livez"):
            return self.send_raw(200, b"ok", "text/plain")
        if p == "/api":
            if aggregated:
                return self.send_json(200, discovery.aggregated(True), discovery.AGGREGATED_CT)
            return self.send_json(200, discovery.api_versions(c.address))
        if p == "/apis":
            if aggregated:
                return self.send_json(200, discovery.aggregated(False), discovery.AGGREGATED_CT)
            return self.send_json(200, discovery.api_group_list())
        parts = p.strip("/").split("/")
        if parts == ["api", "v1"]:
            return self.send_json(200, discovery.resource_list("", "v1"))
        if parts[0] == "apis" and len(parts) == 3 and (parts[1], parts[2]) in resources.GROUP_VERSIONS:
            return self.send_json(200, discovery.resource_list(parts[1], parts[2]))
        if parts[0] == "apis" and len(parts) == 2 and any(g == parts[1] for g, _ in resources.GROUP_VERSIONS):
            return self.send_json(200, discovery.api_group(parts[1]))
        if p == "/openapi/v3":
            return self.send_json(200, discovery.openapi_root())
        if p.startswith("/openapi/v3/"):
            doc = discovery.openapi_group_version(p[len("/openapi/v3/"):])
            if doc is not None:
                return self.send_json(200, doc)
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")

    # ---- resources --------------------------------------------------------------------
    def _decode(self, body, patch=False):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if patch:
            if ctype not in PATCH_TYPES:
                raise errors.unsupported_media_type(ctype)
        try:
            if ctype == "application/vnd.kubernetes.protobuf":
                return protobuf.decode(body)
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                return yaml.safe_load(body) if body else None
            if ctype not in ("application/json", "*/*", "") and ctype not in PATCH_TYPES:
                raise errors.unsupported_media_type(ctype)
            return json.loads(body) if body else None
        except protobuf.ProtobufError as e:
            raise errors.ApiError(415, "UnsupportedMediaType", str(e)) from e
        except (ValueError, yaml.YAMLError) as e:
            raise errors.bad_request(f"failed to decode request body: {e}") from e

    def _resource(self, method, req, query, body):
        c, store, res = self.cluster, self.cluster.store, req.res
        dry_run = query.get("dryRun") == "All"
        if req.sub == "proxy" and res.plural in ("services", "pods"):
            code, ctype, data = c.proxy(res.plural, req.namespace, req.name, req.subpath, method)
            return self.send_raw(code, data, ctype)
        if req.sub == "scale":
            return self._scale(method, req, body)
        if req.sub not in (None, "status") or (req.sub == "status" and not res.status):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        if req.verb == "watch":
            return self._watch(req, query)
        if req.verb == "list":
            try:
                items, rv = store.list_rv(res, req.namespace, query.get("labelSelector"),
                                          query.get("fieldSelector"), raw=True)
            except SelectorError as e:
                raise errors.bad_request(str(e)) from e
            return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                        "metadata": {"resourceVersion": rv}, "items": items})
        if req.verb == "get":
            return self.send_json(200, store.read(res, req.namespace, req.name))
        if req.verb == "create":
            if req.name:
                raise errors.method_not_allowed()
            obj = self._decode(body)
            if isinstance(obj, dict) and obj.get("kind") and obj["kind"] != res.kind:
                raise errors.bad_request(f'the kind "{obj["kind"]}" does not match "{res.kind}"')
            return self.send_json(201, store.create(res, req.namespace, obj, dry_run=dry_run))
        if req.verb == "update":
            obj = self._decode(body)
            return self.send_json(200, store.update(res, req.namespace, req.name, obj, req.sub,
                                                    dry_run=dry_run))
        if req.verb == "patch":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            obj = self._decode(body, patch=True)
            return self.send_json(200, store.patch(res, req.namespace, req.name, PATCH_TYPES[ctype], obj,
                                                   req.sub, dry_run=dry_run))
        opts = self._decode(body) if body else {}
        opts = opts or {}
        policy = query.get("propagationPolicy") or opts.get("propagationPolicy")
        if opts.get("orphanDependents") or query.get("orphanDependents") in TRUE:
            policy = policy or "Orphan"
        grace = query.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
        grace = int(grace) if grace not in (None, "") else None
        if req.verb == "deletecollection":
            items = store.delete_collection(res, req.namespace, query.get("labelSelector"),
                                            query.get("fieldSelector"), policy)
            return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                        "metadata": {"resourceVersion": store.resource_version},
                                        "items": items})
        obj, graceful = store.delete(res, req.namespace, req.name, propagation=policy, grace=grace,
                                     preconditions=opts.get("preconditions"), dry_run=dry_run)
        if graceful:
            return self.send_json(200, obj)
        details = {"name": req.name, "kind": res.plural, "uid": obj["metadata"].get("uid")}
        if res.group:
            details["group"] = res.group
        return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Success", "details": details})

    def _scale(self, method, req, body):
        store, res = self.cluster.store, req.res
        if res.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        if method in ("PUT", "PATCH"):
            obj = self._decode(body, patch=method == "PATCH")
            if method == "PATCH":
                current = self._scale_doc(store.read(res, req.namespace, req.name))
                from . import patch as patchlib
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                kind = PATCH_TYPES[ctype]
                obj = patchlib.json_patch(current, obj) if kind == "json" else patchlib.json_merge(current, obj)
            replicas = ((obj or {}).get("spec") or {}).get("replicas")
            if replicas is None:
                raise errors.bad_request("spec.replicas is required")
            store.mutate(res, req.namespace, req.name, lambda o: o["spec"].__setitem__("replicas", replicas))
        elif method != "GET":
            raise errors.method_not_allowed()
        return self.send_json(200, self._scale_doc(store.read(res, req.namespace, req.name)))

    @staticmethod
    def _scale_doc(obj):
        sel = obj["spec"].get("selector", {}).get("matchLabels", {})
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                             "creationTimestamp") if k in obj["metadata"]},
                "spec": {"replicas": obj["spec"].get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items()))}}

    # ---- watch ------------------------------------------------------------------------
    def _watch(self, req, query):
        c, store, res = self.cluster, self.cluster.store, req.res
        try:
            lsel = parse_label_selector(query.get("labelSelector"))
            fsel = parse_field_selector(query.get("fieldSelector"))
        except SelectorError as e:
            raise errors.bad_request(str(e)) from e

        def matches(obj):
            if obj is None:
                return False
            meta = obj["metadata"]
            if req.namespace and res.namespaced and meta.get("namespace") != req.namespace:
                return False
            if req.name and meta["name"] != req.name:
                return False
            return match_labels(lsel, meta.get("labels")) and match_fields(fsel, obj)

        events = queue.SimpleQueue()

        def listener(etype, r, obj, old):
            if r.key == res.key:
                events.put((etype, obj, old))

        rv = query.get("resourceVersion") or "0"
        with store.lock:
            store.subscribe(listener)
            if rv == "0" or query.get("sendInitialEvents") in TRUE:
                items, _ = store.list_rv(res, req.namespace, raw=True)
                backlog = [("ADDED", o, None) for o in items]
            else:
                try:
                    backlog = store.history_since(res, int(rv))
                except ValueError:
                    backlog = None
        c.watch_queues.add(events)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            if backlog is None:
                self._chunk({"type": "ERROR", "object": errors.gone().status()})
                return self._end_chunks()
            timeout = float(query.get("timeoutSeconds") or c.watch_timeout)
            deadline = time.monotonic() + timeout
            for etype, obj, old in backlog:
                self._send_event(etype, obj, old, matches)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or c.stopping:
                    break
                try:
                    item = events.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    if self._client_gone():
                        return
                    continue
                if item is None:
                    break
                self._send_event(*item, matches)
            self._end_chunks()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            store.unsubscribe(listener)
            c.watch_queues.discard(events)

    def _send_event(self, etype, obj, old, matches):
        now, before = matches(obj), matches(old)
        if etype == "MODIFIED":
            if now and not before:
                etype = "ADDED"
            elif before and not now:
                etype, now = "DELETED", True
        elif etype == "DELETED":
            now = before or now
        if now:
            self._chunk({"type": etype, "object": obj})

    def _chunk(self, event):
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _client_gone(self):
        """True when the client closed its end (plain sockets only; TLS cannot peek)."""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                self.close_connection = True
                return True
        except (ValueError, OSError):
            pass
        return False

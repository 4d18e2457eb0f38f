"""A small JSON client for a test API server (the real control plane or kubesim), from a kubeconfig:
its first cluster and user, with CA and client certificate files or inline data, or a token."""

import base64
import json
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

ATTEMPTS = 5
RETRIED_STATUSES = (429, 500, 502, 503, 504)


def _pem(entry, key):
    """The PEM text of a kubeconfig file entry, inline (`<key>-data`) or from its file; None if unset."""
    if entry.get(key + "-data"):
        return base64.b64decode(entry[key + "-data"]).decode()
    if entry.get(key):
        with open(entry[key]) as handle:
            return handle.read()
    return None


def _client_context(cluster, user):
    """TLS context trusting the cluster's CA, with the user's client certificate if it has one. The
    ssl module loads a certificate chain only from files: they live in a folder gone once it is loaded."""
    context = ssl.create_default_context(cadata=_pem(cluster, "certificate-authority"))
    certificate = _pem(user, "client-certificate")
    if certificate:
        with tempfile.TemporaryDirectory(prefix="kubeconfig-") as folder:
            cert_file, key_file = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
            for path, text in ((cert_file, certificate), (key_file, _pem(user, "client-key"))):
                with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
                    handle.write(text)
            context.load_cert_chain(cert_file, key_file)
    return context


class Api:
    def __init__(self, kubeconfig):
        with open(kubeconfig) as handle:
            config = yaml.safe_load(handle)
        cluster = config["clusters"][0]["cluster"]
        user = (config.get("users") or [{}])[0].get("user") or {}
        self.server = cluster["server"].rstrip("/")
        self.headers = {"Accept": "application/json"}
        if user.get("token"):
            self.headers["Authorization"] = "Bearer " + user["token"]
        self.ssl = _client_context(cluster, user) if self.server.startswith("https:") else None

    def request(self, method, path, body=None, content_type="application/json", timeout=10):
        """(status, parsed JSON or text); connection errors raise OSError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers=dict(self.headers, **{"Content-Type": content_type}))
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def _retried(self, method, path):
        """(status, answer) of a request that is safe to repeat, tried again while the server sheds it (429)
        or fails it (5xx: etcd timeouts on a loaded machine), as client-go does."""
        for attempt in range(1, ATTEMPTS + 1):
            status, answer = self.request(method, path)
            if status not in RETRIED_STATUSES:
                break
            time.sleep(0.2 * attempt)
        return status, answer

    def get(self, path):
        """The object or list at path, None if there is none (404). A read still failing after its retries
        raises OSError, as when the server is away: a test must never read an overloaded server as an absent
        object."""
        status, answer = self._retried("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise OSError("GET %s: %s %s" % (path, status, answer))
        return answer

    def delete(self, path):
        """DELETE path (background propagation, the server's default); True if it was there, False if not
        (404); a deletion still failing after its retries raises OSError."""
        status, answer = self._retried("DELETE", path)
        if status in (200, 202):
            return True
        if status == 404:
            return False
        raise OSError("DELETE %s: %s %s" % (path, status, answer))

    def ensure(self, path, body):
        """POST body to path; an object that already exists is left as it is."""
        status, answer = self.request("POST", path, body)
        if status not in (200, 201, 409):
            raise RuntimeError("POST %s: %s %s" % (path, status, answer))
        return answer

    def watch(self, path, resource_version, timeout=300):
        """Yield the events of a watch from resource_version (ends when the server closes it)."""
        sep = "&" if "?" in path else "?"
        url = "%s%s%swatch=1&allowWatchBookmarks=false&resourceVersion=%s&timeoutSeconds=%d" % (
            self.server, path, sep, resource_version, timeout)
        req = urllib.request.Request(url, headers=self.headers)
        with urllib.request.urlopen(req, timeout=timeout + 30, context=self.ssl) as resp:
            for line in resp:
                if line.strip():
                    yield json.loads(line)


# kind (or the plural the simulator's store also accepts) -> (API prefix, plural)
KINDS = {
    "Pod": ("/api/v1", "pods"), "Service": ("/api/v1", "services"),
    "ConfigMap": ("/api/v1", "configmaps"), "Secret": ("/api/v1", "secrets"),
    "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims"),
    "Deployment": ("/apis/apps/v1", "deployments"), "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"), "Job": ("/apis/batch/v1", "jobs"),
    "Lease": ("/apis/coordination.k8s.io/v1", "leases"),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles"),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
}
KINDS.update({plural: (prefix, plural) for prefix, plural in list(KINDS.values())})


class Store:
    """The object reads and writes the tests make of the simulator's store (get, list, create,
    delete, mutate), served by a real API server, so a test reads cluster state the same way on both."""

    def __init__(self, api):
        self.api = api

    @staticmethod
    def path(kind, namespace=None, name=None):
        prefix, plural = KINDS[kind]
        path = "%s/namespaces/%s/%s" % (prefix, namespace, plural) if namespace else "%s/%s" % (prefix, plural)
        return path + "/" + name if name else path

    def get(self, kind, name, namespace):
        return self.api.get(self.path(kind, namespace, name))

    def list(self, kind, namespace=None, label_selector=None, raw=False):  # noqa: ARG002 - same signature
        query = "?labelSelector=" + urllib.parse.quote(label_selector) if label_selector else ""
        answer = self.api.get(self.path(kind, namespace) + query)
        if answer is None:
            raise RuntimeError("cannot list %s in %s" % (kind, namespace))
        return answer["items"]

    def create(self, kind, namespace, body):
        status, answer = self.api.request("POST", self.path(kind, namespace), body)
        if status not in (200, 201):
            raise RuntimeError("create %s in %s: %s %s" % (kind, namespace, status, answer))
        return answer

    def mutate(self, kind, namespace, name, fn, subresource=None):
        """Read, fn(obj) edits it in place, write back; a conflict (someone wrote in between) reads again.
        subresource "status" writes only the status (what a kubelet writes of a pod), None only the rest,
        "*" both. The object written last, or None when it is gone."""
        paths = {None: [""], "status": ["/status"], "*": ["", "/status"]}[subresource]
        for _ in range(20):
            current = self.get(kind, name, namespace)
            if current is None:
                return None
            fn(current)
            for suffix in paths:
                status, answer = self.api.request("PUT", self.path(kind, namespace, name) + suffix, current)
                if status == 409:
                    break
                if status != 200:
                    raise RuntimeError("update %s %s/%s%s: %s %s" % (kind, namespace, name, suffix, status, answer))
                current = dict(answer, status=current.get("status")) if suffix == "" else answer
            else:
                return current
        raise RuntimeError("update %s %s/%s: still conflicting after 20 attempts" % (kind, namespace, name))

    def delete(self, kind, name, namespace):
        return self.api.request("DELETE", self.path(kind, namespace, name))[0] in (200, 202, 404)

    def patch(self, kind, namespace, name, patch_type, body):   # the simulator store's signature; "merge" only
        if patch_type != "merge":
            raise ValueError("only merge patches here, not %r" % patch_type)
        status, answer = self.api.request("PATCH", self.path(kind, namespace, name), body,
                                          content_type="application/merge-patch+json")
        if status != 200:
            raise RuntimeError("patch %s %s in %s: %s %s" % (kind, name, namespace, status, answer))
        return answer

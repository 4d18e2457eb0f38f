# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes API edge: client construction from the shared options, reads, watches, proxy GETs.

Objects come back as the API's own JSON (camelCase dicts), which is what the pure planner and
readiness logic consume; we skip the client's model classes on purpose (faster, and one shape).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode

from ansible_collections.milvusops.cluster.plugins.module_utils.access import unsettled_by_rules
from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    client_certificate_problem, kubeconfig_files)

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config import kube_config as k8s_kube_config
    from kubernetes.client import rest as k8s_rest
    from kubernetes.config.config_exception import ConfigException
    from urllib3.util.retry import Retry
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # Kube() reports it; the stubs keep except clauses valid
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

    class ConfigException(Exception):
        pass

# Reads are retried on transient server errors; writes are not retried blindly. other=0: a TLS failure
# (a certificate that does not verify) is not repeated, while refused and dropped connections are.
READ_RETRIES = dict(total=6, other=0, backoff_factor=0.3, status_forcelist=(429, 500, 502, 503, 504),
                    allowed_methods=frozenset(["GET"]), raise_on_status=False)


TRANSIENT_STATUS = (429, 500, 502, 503, 504)
USER_AGENT = "milvusops.cluster"


class KubeError(Exception):
    """A Kubernetes API call or the client configuration failed; the message says what to do.

    transient: the server failed in passing (5xx, throttled, connection refused or dropped), so the same
    call may succeed later; wrong names, permissions and certificates are not transient.
    """

    def __init__(self, message, transient=False):
        super(KubeError, self).__init__(message)
        self.transient = transient


def _connection_is_transient(exc):
    text = str(exc)
    return not ("CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text)


class Conflict(KubeError):
    """A write lost a race (409): someone else created or changed the object first."""


def remove_client_temp_files():
    """Remove the files the kubernetes client wrote for a kubeconfig's inline data (client keys included).

    The client removes them at interpreter exit; Ansible's worker processes, where action plugins run,
    end without exit handlers, so an action plugin that used the client calls this when it is done.
    """
    cleanup = getattr(k8s_kube_config, "_cleanup_temp_files", None) if HAS_KUBERNETES else None
    if cleanup is not None:
        cleanup()


def _configuration(params):
    """A client Configuration from kubeconfig/context/host/api_key/ca_cert/validate_certs or in-cluster."""
    configuration = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    if kubeconfig and not os.path.isfile(kubeconfig):
        raise KubeError("kubeconfig %s does not exist or is not a file: pass an existing file in "
                        "milvus_kubeconfig (or K8S_AUTH_KUBECONFIG)" % kubeconfig)
    problem = client_certificate_problem(params)
    if problem:
        raise KubeError(problem)
    # KUBECONFIG may list several files (the client merges them, as kubectl does); any one of them will do
    default_files = [os.path.expanduser(path) for path in kubeconfig_files(os.environ.get("KUBECONFIG", "~/.kube/config"))]
    default_kubeconfig = os.pathsep.join(default_files)
    use_kubeconfig = kubeconfig or context or not params.get("host")
    if use_kubeconfig and (kubeconfig or context or any(os.path.exists(path) for path in default_files)):
        try:
            k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                        client_configuration=configuration, persist_config=False)
        except ConfigException as exc:
            raise KubeError("cannot use kubeconfig %s context %s: %s. Check milvus_kube_context against "
                            "`kubectl config get-contexts` and the file against `kubectl config view`" % (
                                kubeconfig or default_kubeconfig, context or "(current)", exc))
        except Exception as exc:  # unreadable, not YAML (yaml.YAMLError), not a kubeconfig at all
            raise KubeError("cannot read kubeconfig %s (%s: %s): point milvus_kubeconfig at a valid kubeconfig "
                            "file" % (kubeconfig or default_kubeconfig, type(exc).__name__, exc))
    elif not params.get("host"):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise KubeError("no kubeconfig found (%s) and not running inside a pod (%s): set "
                            "milvus_kubeconfig/milvus_kube_context or host and api_key"
                            % (default_kubeconfig, exc))
    _apply_overrides(configuration, params)
    loader_refresh = configuration.refresh_api_key_hook
    if loader_refresh is not None and params.get("api_key"):
        configuration.refresh_api_key_hook = None   # the explicit token is the token; nothing to refresh
    elif loader_refresh is not None:
        # The kubeconfig and in-cluster loaders refresh their token before every request by copying their
        # host, CA, verification and token onto the configuration they are given (and re-installing
        # themselves). On the shared configuration that would undo host/ca_cert/validate_certs (which helm
        # gets as HELM_KUBE* variables) and, with parallel requests, expose half-refreshed settings: give
        # them a scratch configuration and take only the token, in one assignment.
        def refresh(conf):
            scratch = k8s_client.Configuration()
            loader_refresh(scratch)
            if scratch.api_key:
                conf.api_key = dict(scratch.api_key)
        configuration.refresh_api_key_hook = refresh
    configuration.retries = Retry(**READ_RETRIES)
    return configuration


def _apply_overrides(configuration, params):
    """The explicit connection options, on top of whatever a kubeconfig set."""
    if params.get("host"):
        configuration.host = params["host"]
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer " + params["api_key"]}
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    if params.get("validate_certs") is False:
        configuration.verify_ssl = False
    if params.get("client_cert"):
        configuration.cert_file = params["client_cert"]
        configuration.key_file = params["client_key"]


def unreachable_message(host, exc):
    """Why the API server could not be reached, and what to check."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        hint = ("the API server's TLS certificate is not signed by the CA in use: set milvus_kube_ca_cert to the "
                "CA that signed it (or fix certificate-authority in the kubeconfig)")
    else:
        hint = "check the API server URL (milvus_kube_host or the kubeconfig's server) and the network"
    return "cannot reach the Kubernetes API at %s: %s. %s" % (host, text, hint)


def _reason(body):
    """The message of a Status answer, or the answer's text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        return json.loads(text).get("message") or text[:300]
    except (TypeError, ValueError, AttributeError):
        return text[:300]


class Kube(object):
    """Raw JSON requests to the Kubernetes API.

    The connection (TLS, client certificates, proxy, read retries) is the kubernetes client's own pool,
    built from its Configuration; the requests are built here. Its generated API classes would cost
    about 0.4 s of CPU to import at every module start (pydantic validators for hundreds of methods),
    for the dozen endpoints we use.
    """

    def __init__(self, params):
        if not HAS_KUBERNETES:
            raise KubeError("the kubernetes Python library is required: %s" % KUBERNETES_IMPORT_ERROR)
        self.configuration = _configuration(params)
        self._pool = k8s_rest.RESTClientObject(self.configuration).pool_manager

    # -- low level --------------------------------------------------------------------------

    def _headers(self, has_body, content_type="application/json"):
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if has_body:
            headers["Content-Type"] = content_type
        # runs the kubeconfig loader's token refresh (exec plugins, expiring tokens) first
        token = (self.configuration.auth_settings().get("BearerToken") or {}).get("value")
        if token:
            headers["Authorization"] = token
        return headers

    def request(self, method, path, query=None, body=None, stream=False, content_type="application/json"):
        """The urllib3 response of one API request; connection failures become KubeError."""
        url = self.configuration.host.rstrip("/") + path
        if query:
            url += "?" + urlencode(query)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        try:
            return self._pool.request(method, url, body=data, headers=self._headers(data is not None, content_type),
                                      preload_content=not stream)
        except Exception as exc:  # urllib3 connection errors, TLS errors, timeouts
            raise KubeError(unreachable_message(self.configuration.host, exc), transient=_connection_is_transient(exc))

    def _json(self, method, path, query=None, body=None, content_type="application/json"):
        """The decoded JSON answer; None for a GET of something that does not exist."""
        response = self.request(method, path, query, body, content_type=content_type)
        if response.status == 404 and method == "GET":
            return None
        if response.status == 409:
            raise Conflict("%s %s: %s" % (method, path, _reason(response.data)))
        if response.status >= 400:
            message = "Kubernetes API %s %s failed with %s: %s" % (method, path, response.status,
                                                                   _reason(response.data))
            raise KubeError(message, transient=response.status in TRANSIENT_STATUS)
        return json.loads(response.data) if response.data else {}

    # -- reads -------------------------------------------------------------------------------

    def server_version(self):
        """gitVersion without the leading v, e.g. '1.31.0' or '1.29.3-eks-adc7111'."""
        info = self._json("GET", "/version")
        return (info or {}).get("gitVersion", "").lstrip("v")

    def denied(self, reviews, namespace):
        """The resourceAttributes of reviews the API server does not allow this identity.

        One SelfSubjectRulesReview of the namespace (every authenticated identity may ask) settles what its
        rules grant; each remaining right gets a SelfSubjectAccessReview, a few at a time.
        """
        try:
            rules = self._json("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                               body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
                                     "spec": {"namespace": namespace}})
        except KubeError as exc:
            if exc.transient:
                raise
            rules = None   # a server without rules reviews: every right is asked about on its own
        remaining = unsettled_by_rules(reviews, namespace, ((rules or {}).get("status") or {}).get("resourceRules") or [])
        with ThreadPoolExecutor(max_workers=8) as pool:
            allowed = list(pool.map(self._access_allowed, remaining))
        return [attributes for attributes, ok in zip(remaining, allowed) if not ok]

    def _access_allowed(self, attributes):
        answer = self._json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                            body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                  "spec": {"resourceAttributes": attributes}})
        return bool((answer.get("status") or {}).get("allowed"))

    def namespace_exists(self, namespace):
        return self._json("GET", "/api/v1/namespaces/" + quote(namespace, safe="")) is not None

    def list(self, kind, namespace, label_selector=None):
        """(items, resourceVersion) of a namespaced list; kind in RESOURCES."""
        result = self._json("GET", resource_path(kind, namespace), {"labelSelector": label_selector or ""}) or {}
        return result.get("items", []), result.get("metadata", {}).get("resourceVersion")

    def read(self, kind, namespace, name):
        return self._json("GET", resource_path(kind, namespace, name))

    def watch(self, kind, namespace, label_selector, resource_version, timeout_seconds):
        """Yield (event type, object) until the server closes the watch after timeout_seconds."""
        query = {"labelSelector": label_selector or "", "watch": "true", "allowWatchBookmarks": "false",
                 "timeoutSeconds": int(timeout_seconds)}
        if resource_version:
            query["resourceVersion"] = resource_version
        response = self.request("GET", resource_path(kind, namespace), query, stream=True)
        try:
            if response.status >= 400:
                raise KubeError("watch of %s failed with %s: %s" % (kind, response.status, _reason(response.data)),
                                transient=response.status in TRANSIENT_STATUS)
            for line in _lines(response):
                event = json.loads(line)
                yield event.get("type"), event.get("object") or {}
        finally:
            response.release_conn()

    def proxy_get(self, kind, namespace, name, port, path):
        """GET through the API server's service or pod proxy: (status code, body text)."""
        target = "%s/%s:%s/proxy/%s" % (resource_path(kind, namespace), quote(name, safe=""), port, path.lstrip("/"))
        try:
            response = self.request("GET", target)
        except KubeError as exc:
            return 0, str(exc)
        return response.status, response.data.decode("utf-8", "replace")

    # -- writes -------------------------------------------------------------------------------

    def merge_patch(self, kind, namespace, name, patch):
        """A JSON merge patch (RFC 7386: null removes a key); returns the object as it now is."""
        return self._json("PATCH", resource_path(kind, namespace, name), body=patch,
                          content_type="application/merge-patch+json")

    def delete(self, kind, namespace, name, uid):
        """Delete the object with this uid (a precondition: never one of the same name created since); its
        dependents go in the background, as helm's own removals do. An object already gone is no error."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
                "preconditions": {"uid": uid}}
        path = resource_path(kind, namespace, name)
        response = self.request("DELETE", path, body=body)
        if response.status == 404:
            return
        if response.status == 409:
            raise Conflict("DELETE %s: %s" % (path, _reason(response.data)))
        if response.status >= 400:
            message = "Kubernetes API DELETE %s failed with %s: %s" % (path, response.status, _reason(response.data))
            raise KubeError(message, transient=response.status in TRANSIENT_STATUS)

    # -- the upgrade lock (coordination.k8s.io Lease) -------------------------------------------

    def read_lease(self, namespace, name):
        return self._json("GET", resource_path("Lease", namespace, name))

    def create_lease(self, namespace, body):
        return self._json("POST", resource_path("Lease", namespace), body=body)

    def replace_lease(self, namespace, body):
        """Optimistic: the body carries the resourceVersion we read, so a concurrent change is a Conflict."""
        return self._json("PUT", resource_path("Lease", namespace, body["metadata"]["name"]), body=body)

    def delete_lease(self, namespace, name, resource_version):
        """Delete only the version we read (someone who took the lock over keeps it)."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"resourceVersion": resource_version}}
        return self._json("DELETE", resource_path("Lease", namespace, name), body=body)


def _lines(response):
    """Split a chunked watch response into JSON lines."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


# kind -> (API group path, plural)
RESOURCES = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Pod": ("/api/v1", "pods"),
    "ConfigMap": ("/api/v1", "configmaps"),
    "Service": ("/api/v1", "services"),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims"),
    "Lease": ("/apis/coordination.k8s.io/v1", "leases"),
}


def resource_path(kind, namespace, name=None):
    """The API path of a namespaced collection, or of one object in it."""
    group, plural = RESOURCES[kind]
    path = "%s/namespaces/%s/%s" % (group, quote(namespace, safe=""), plural)
    return path + "/" + quote(name, safe="") if name else path

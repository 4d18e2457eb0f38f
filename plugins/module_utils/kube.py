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

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.util.retry import Retry
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:  # Kube() reports it; the stubs keep except clauses valid
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc

    class ApiException(Exception):
        status = None

    class ConfigException(Exception):
        pass

# Reads are retried on transient server errors; writes are not retried blindly.
READ_RETRIES = dict(total=6, backoff_factor=0.3, status_forcelist=(429, 500, 502, 503, 504),
                    allowed_methods=frozenset(["GET"]), raise_on_status=False)


TRANSIENT_STATUS = (429, 500, 502, 503, 504)


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


def _configuration(params):
    """A client Configuration from kubeconfig/context/host/api_key/ca_cert/validate_certs or in-cluster."""
    configuration = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    if kubeconfig and not os.path.isfile(kubeconfig):
        raise KubeError("kubeconfig %s does not exist or is not a file: pass an existing file in "
                        "milvus_kubeconfig (or K8S_AUTH_KUBECONFIG)" % kubeconfig)
    default_kubeconfig = os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    use_kubeconfig = kubeconfig or context or not params.get("host")
    if use_kubeconfig and (kubeconfig or context or os.path.exists(default_kubeconfig)):
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


def unreachable_message(host, exc):
    """Why the API server could not be reached, and what to check."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        hint = ("the API server's TLS certificate is not signed by the CA in use: set milvus_kube_ca_cert to the "
                "CA that signed it (or fix certificate-authority in the kubeconfig)")
    else:
        hint = "check the API server URL (milvus_kube_host or the kubeconfig's server) and the network"
    return "cannot reach the Kubernetes API at %s: %s. %s" % (host, text, hint)


def _reason(exc):
    """The Status message of an ApiException, or its text."""
    body = getattr(exc, "body", None)
    if body:
        try:
            return json.loads(body).get("message") or body
        except (TypeError, ValueError):
            return body
    return str(exc)


class Kube(object):
    """Thin reads over the Kubernetes API returning JSON dicts."""

    def __init__(self, params):
        if not HAS_KUBERNETES:
            raise KubeError("the kubernetes Python library is required: %s" % KUBERNETES_IMPORT_ERROR)
        self.configuration = _configuration(params)
        self.api_client = k8s_client.ApiClient(self.configuration)
        self._apis = {}

    # Built on first use: importing CoreV1Api costs ~0.27 s and AppsV1Api ~0.15 s of CPU, paid at every
    # module start; the lock module needs neither.
    def _api(self, cls):
        if cls not in self._apis:
            self._apis[cls] = getattr(k8s_client, cls)(self.api_client)
        return self._apis[cls]

    @property
    def core(self):
        return self._api("CoreV1Api")

    @property
    def apps(self):
        return self._api("AppsV1Api")

    @property
    def coordination(self):
        return self._api("CoordinationV1Api")

    # -- low level --------------------------------------------------------------------------

    def _call(self, method, *args, **kwargs):
        """Call a client method for raw JSON; None on 404."""
        kwargs["_preload_content"] = False
        try:
            response = method(*args, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError(transient=exc.status in TRANSIENT_STATUS, message="Kubernetes API %s failed with %s: %s" % (
                method.__name__, exc.status, _reason(exc)))
        except Exception as exc:  # urllib3 connection errors, TLS errors, timeouts
            raise KubeError(unreachable_message(self.configuration.host, exc), transient=_connection_is_transient(exc))
        data = response.data
        return json.loads(data) if data else {}

    # -- reads -------------------------------------------------------------------------------

    def server_version(self):
        """gitVersion without the leading v, e.g. '1.31.0' or '1.29.3-eks-adc7111'."""
        info = self._call(k8s_client.VersionApi(self.api_client).get_code)
        return (info or {}).get("gitVersion", "").lstrip("v")

    def namespace_exists(self, namespace):
        return self._call(self.core.read_namespace, namespace) is not None

    def list(self, kind, namespace, label_selector=None):
        """(items, resourceVersion) of a namespaced list; kind in LISTERS."""
        method = getattr(self._api_for(kind), "list_namespaced_" + LISTERS[kind])
        result = self._call(method, namespace, label_selector=label_selector or "") or {}
        return result.get("items", []), result.get("metadata", {}).get("resourceVersion")

    def read(self, kind, namespace, name):
        method = getattr(self._api_for(kind), "read_namespaced_" + LISTERS[kind])
        return self._call(method, name, namespace)

    def _api_for(self, kind):
        return self.apps if kind in ("Deployment", "StatefulSet", "ReplicaSet") else self.core

    def watch(self, kind, namespace, label_selector, resource_version, timeout_seconds):
        """Yield (event type, object) until the server closes the watch after timeout_seconds."""
        method = getattr(self._api_for(kind), "list_namespaced_" + LISTERS[kind])
        try:
            response = method(namespace, label_selector=label_selector, watch=True,
                              resource_version=resource_version, timeout_seconds=int(timeout_seconds),
                              allow_watch_bookmarks=False, _preload_content=False)
        except ApiException as exc:
            raise KubeError("watch of %s failed with %s: %s" % (kind, exc.status, _reason(exc)))
        try:
            for line in _lines(response):
                event = json.loads(line)
                yield event.get("type"), event.get("object") or {}
        finally:
            response.release_conn()

    def proxy_get(self, kind, namespace, name, port, path):
        """GET through the API server's service or pod proxy: (status code, body text)."""
        if kind == "Service":
            method = self.core.connect_get_namespaced_service_proxy_with_path
        else:
            method = self.core.connect_get_namespaced_pod_proxy_with_path
        try:
            response = method("%s:%s" % (name, port), namespace, path.lstrip("/"), _preload_content=False)
            return response.status, response.data.decode("utf-8", "replace")
        except ApiException as exc:
            return exc.status, exc.body if isinstance(exc.body, str) else (exc.body or b"").decode("utf-8", "replace")
        except Exception as exc:
            return 0, "cannot reach the Kubernetes API: %s" % exc

    # -- the upgrade lock (coordination.k8s.io Lease) -------------------------------------------

    def read_lease(self, namespace, name):
        return self._call(self.coordination.read_namespaced_lease, name, namespace)

    def create_lease(self, namespace, body):
        return self._write(self.coordination.create_namespaced_lease, namespace, body)

    def replace_lease(self, namespace, body):
        """Optimistic: the body carries the resourceVersion we read, so a concurrent change is a Conflict."""
        return self._write(self.coordination.replace_namespaced_lease, body["metadata"]["name"], namespace, body)

    def delete_lease(self, namespace, name, resource_version):
        """Delete only the version we read (someone who took the lock over keeps it)."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"resourceVersion": resource_version}}
        return self._write(self.coordination.delete_namespaced_lease, name, namespace, body=body)

    def _write(self, method, *args, **kwargs):
        kwargs["_preload_content"] = False
        try:
            response = method(*args, **kwargs)
        except ApiException as exc:
            if exc.status == 409:
                raise Conflict("%s: %s" % (method.__name__, _reason(exc)))
            raise KubeError("Kubernetes API %s failed with %s: %s" % (method.__name__, exc.status, _reason(exc)),
                            transient=exc.status in TRANSIENT_STATUS)
        except Exception as exc:  # urllib3 connection errors, TLS errors, timeouts
            raise KubeError(unreachable_message(self.configuration.host, exc), transient=_connection_is_transient(exc))
        return json.loads(response.data) if response.data else {}


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


# kind -> the client's method suffix (list_namespaced_<x>, read_namespaced_<x>)
LISTERS = {
    "Deployment": "deployment",
    "StatefulSet": "stateful_set",
    "ReplicaSet": "replica_set",
    "Pod": "pod",
    "ConfigMap": "config_map",
    "Service": "service",
    "PersistentVolumeClaim": "persistent_volume_claim",
}

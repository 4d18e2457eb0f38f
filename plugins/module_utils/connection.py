# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module, and how they reach helm (pure, no I/O)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.milvusops.cluster.plugins.module_utils.messages import namer

# Mirrors plugins/doc_fragments/connection.py; env names follow kubernetes.core so existing
# AWX credentials and CI variables work unchanged.
CONNECTION_ARGUMENT_SPEC = dict(
    release=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
    host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
    validate_certs=dict(type="bool", default=True, aliases=["verify_ssl"],
                        fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
    client_cert=dict(type="path", aliases=["cert_file"], fallback=(env_fallback, ["K8S_AUTH_CERT_FILE"])),
    client_key=dict(type="path", aliases=["key_file"], no_log=False,   # a path, not the key itself
                    fallback=(env_fallback, ["K8S_AUTH_KEY_FILE"])),
    cluster_name=dict(type="str"),
    message_names=dict(type="str", default="option", choices=["option", "inventory"]),
)

# Only for the modules that run helm (doc fragment milvusops.cluster.connection.helm).
HELM_ARGUMENT_SPEC = dict(
    helm_binary=dict(type="path", default="helm"),
)

CONNECTION_KEYS = ("kubeconfig", "context", "host", "api_key", "ca_cert", "validate_certs", "client_cert",
                   "client_key")


def connection_argument_spec(helm=False, **extra):
    """The shared argument spec, with helm_binary when the module runs helm, plus a module's own options."""
    shared = dict(CONNECTION_ARGUMENT_SPEC, **(HELM_ARGUMENT_SPEC if helm else {}))
    spec = dict((key, dict(value)) for key, value in shared.items())
    spec.update(extra)
    return spec


def helm_environment(params):
    """Environment variables that point helm at the same cluster as the Python client.

    Helm reads these itself, so the token never appears on its command line (where every local user
    could read it from /proc).
    """
    env = {}
    if params.get("kubeconfig"):
        env["KUBECONFIG"] = params["kubeconfig"]
    if params.get("context"):
        env["HELM_KUBECONTEXT"] = params["context"]
    if params.get("host"):
        env["HELM_KUBEAPISERVER"] = params["host"]
    if params.get("api_key"):
        env["HELM_KUBETOKEN"] = params["api_key"]
    if params.get("ca_cert"):
        env["HELM_KUBECAFILE"] = params["ca_cert"]
    if params.get("validate_certs") is False:
        env["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"] = "true"
    return env


def kubeconfig_files(value):
    """The files of a KUBECONFIG value: several, separated like PATH (':'), empty entries dropped."""
    return [part for part in (value or "").split(":") if part]


def client_certificate_problem(params):
    """Why client_cert/client_key cannot be used as given, or None (settings named per message_names)."""
    name = namer(params)
    if bool(params.get("client_cert")) != bool(params.get("client_key")):
        return "%s and %s go together: set both, or neither" % (name("client_cert"), name("client_key"))
    if params.get("client_cert") and not params.get("host"):
        return ("%s/%s need %s: helm takes a client certificate only from a kubeconfig, so the modules write "
                "one for the API URL, its CA and the certificate. With a kubeconfig, put the certificate in "
                "its user (client-certificate, client-key) instead" % (
                    name("client_cert"), name("client_key"), name("host")))
    return None


def helm_client_certificate_kubeconfig(params):
    """A one-context kubeconfig for helm when the connection uses a client certificate, else None.

    helm has environment variables for the API server, its CA and a token, but none for a client
    certificate: with one, helm gets this file instead (its paths, not the key's contents).
    """
    if not params.get("client_cert") or client_certificate_problem(params):
        return None
    cluster = {"server": params["host"]}
    if params.get("validate_certs") is False:
        cluster["insecure-skip-tls-verify"] = True
    elif params.get("ca_cert"):
        cluster["certificate-authority"] = params["ca_cert"]
    user = {"client-certificate": params["client_cert"], "client-key": params["client_key"]}
    if params.get("api_key"):
        user["token"] = params["api_key"]
    return {"apiVersion": "v1", "kind": "Config", "current-context": "milvusops",
            "clusters": [{"name": "milvusops", "cluster": cluster}],
            "users": [{"name": "milvusops", "user": user}],
            "contexts": [{"name": "milvusops", "context": {"cluster": "milvusops", "user": "milvusops"}}]}


def cluster_label(params):
    """The cluster's name in messages and reports: cluster_name, else the context or API host."""
    return params.get("cluster_name") or params.get("context") or params.get("host") or "current-context"


def describe_target(params):
    """Human words for where a module is pointed, for error messages (no secrets)."""
    return "cluster %s: release %s in namespace %s" % (
        cluster_label(params), params.get("release"), params.get("namespace"))

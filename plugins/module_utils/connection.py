# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module, and how they reach helm (pure, no I/O)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

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
    cluster_name=dict(type="str"),
    message_names=dict(type="str", default="option", choices=["option", "inventory"]),
)

# Only for the modules that run helm (doc fragment milvusops.cluster.connection.helm).
HELM_ARGUMENT_SPEC = dict(
    helm_binary=dict(type="path", default="helm"),
)

CONNECTION_KEYS = ("kubeconfig", "context", "host", "api_key", "ca_cert", "validate_certs")


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


def cluster_label(params):
    """The cluster's name in messages and reports: cluster_name, else the context or API host."""
    return params.get("cluster_name") or params.get("context") or params.get("host") or "current-context"


def describe_target(params):
    """Human words for where a module is pointed, for error messages (no secrets)."""
    return "cluster %s: release %s in namespace %s" % (
        cluster_label(params), params.get("release"), params.get("namespace"))

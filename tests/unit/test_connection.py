# -*- coding: utf-8 -*-
"""plugins/module_utils/connection.py: the shared options and how they reach helm."""
from __future__ import absolute_import, division, print_function

import json

import pytest

from ansible.module_utils.basic import AnsibleModule
from factories import patch_module_args

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    CONNECTION_ARGUMENT_SPEC, client_certificate_problem, cluster_label, connection_argument_spec, describe_target,
    helm_client_certificate_kubeconfig, helm_environment, kubeconfig_files)

TOKEN = "s3cr3t-token"
ALL = {"kubeconfig": "/etc/kube/eu.yaml", "context": "prod-eu-1", "host": "https://api.eu:6443",
       "api_key": TOKEN, "ca_cert": "/etc/kube/ca.pem", "validate_certs": False}


# -- helm_environment -------------------------------------------------------------------------

def test_helm_environment_everything():
    assert helm_environment(ALL) == {
        "KUBECONFIG": "/etc/kube/eu.yaml",
        "HELM_KUBECONTEXT": "prod-eu-1",
        "HELM_KUBEAPISERVER": "https://api.eu:6443",
        "HELM_KUBETOKEN": TOKEN,
        "HELM_KUBECAFILE": "/etc/kube/ca.pem",
        "HELM_KUBEINSECURE_SKIP_TLS_VERIFY": "true",
    }


def test_helm_environment_defaults_are_empty():
    # what AnsibleModule hands over when nothing is set: None everywhere, validate_certs True
    params = dict((key, None) for key in CONNECTION_ARGUMENT_SPEC)
    params["validate_certs"] = True
    assert helm_environment(params) == {}
    assert helm_environment({}) == {}


@pytest.mark.parametrize("validate", [True, None])
def test_insecure_only_when_validate_certs_is_false(validate):
    params = dict(ALL, validate_certs=validate)
    env = helm_environment(params)
    assert "HELM_KUBEINSECURE_SKIP_TLS_VERIFY" not in env
    assert env["HELM_KUBECAFILE"] == "/etc/kube/ca.pem"


@pytest.mark.parametrize("key,variable", [
    ("kubeconfig", "KUBECONFIG"), ("context", "HELM_KUBECONTEXT"), ("host", "HELM_KUBEAPISERVER"),
    ("api_key", "HELM_KUBETOKEN"), ("ca_cert", "HELM_KUBECAFILE"),
])
def test_each_option_maps_to_its_variable_alone(key, variable):
    assert helm_environment({key: ALL[key], "validate_certs": True}) == {variable: ALL[key]}


def test_token_only_in_helm_kubetoken():
    env = helm_environment(ALL)
    holders = [name for name, value in env.items() if TOKEN in value]
    assert holders == ["HELM_KUBETOKEN"]


def test_helm_environment_does_not_mutate_params():
    params = dict(ALL)
    helm_environment(params)
    assert params == ALL


# -- argument spec ----------------------------------------------------------------------------

def test_spec_api_key_is_no_log():
    spec = connection_argument_spec()
    assert spec["api_key"]["no_log"] is True
    no_log = sorted(k for k, v in spec.items() if v.get("no_log"))
    assert no_log == ["api_key"]


@pytest.mark.parametrize("key,variable", [
    ("kubeconfig", "K8S_AUTH_KUBECONFIG"), ("context", "K8S_AUTH_CONTEXT"), ("host", "K8S_AUTH_HOST"),
    ("api_key", "K8S_AUTH_API_KEY"), ("ca_cert", "K8S_AUTH_SSL_CA_CERT"), ("validate_certs", "K8S_AUTH_VERIFY_SSL"),
])
def test_spec_env_fallbacks(key, variable):
    fallback = connection_argument_spec()[key]["fallback"]
    assert fallback[1] == [variable]


def test_spec_types_defaults_and_aliases():
    spec = connection_argument_spec()
    assert spec["release"] == {"type": "str", "required": True}
    assert spec["namespace"] == {"type": "str", "required": True}
    assert spec["validate_certs"]["default"] is True
    assert spec["validate_certs"]["type"] == "bool"
    assert "verify_ssl" in spec["validate_certs"]["aliases"]
    assert "ssl_ca_cert" in spec["ca_cert"]["aliases"]
    assert "helm_binary" not in spec
    assert connection_argument_spec(helm=True)["helm_binary"] == {"type": "path", "default": "helm"}


def test_spec_extra_options_and_independent_copies():
    spec = connection_argument_spec(hop_name=dict(type="str", required=True))
    assert spec["hop_name"] == {"type": "str", "required": True}
    spec["api_key"]["no_log"] = False
    spec["release"]["required"] = False
    assert CONNECTION_ARGUMENT_SPEC["api_key"]["no_log"] is True
    assert connection_argument_spec()["release"]["required"] is True
    assert "hop_name" not in connection_argument_spec()


def _module(args, monkeypatch, env=None):
    for variable in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY",
                     "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VERIFY_SSL"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in (env or {}).items():
        monkeypatch.setenv(variable, value)
    with patch_module_args(args):
        return AnsibleModule(argument_spec=connection_argument_spec())


def test_env_fallbacks_through_ansible_module(monkeypatch):
    module = _module({"release": "rel", "namespace": "milvus"}, monkeypatch, {
        "K8S_AUTH_CONTEXT": "staging-1", "K8S_AUTH_HOST": "https://api.staging:6443",
        "K8S_AUTH_API_KEY": TOKEN, "K8S_AUTH_VERIFY_SSL": "no"})
    params = module.params
    assert params["context"] == "staging-1"
    assert params["host"] == "https://api.staging:6443"
    assert params["api_key"] == TOKEN
    assert params["validate_certs"] is False
    assert TOKEN in module.no_log_values
    assert helm_environment(params)["HELM_KUBEINSECURE_SKIP_TLS_VERIFY"] == "true"


def test_explicit_option_beats_env_fallback(monkeypatch):
    module = _module({"release": "rel", "namespace": "milvus", "context": "explicit"}, monkeypatch,
                     {"K8S_AUTH_CONTEXT": "from-env"})
    assert module.params["context"] == "explicit"


def test_aliases_through_ansible_module(monkeypatch):
    module = _module({"release": "rel", "namespace": "milvus", "verify_ssl": False, "ssl_ca_cert": "/ca.pem"},
                     monkeypatch)
    assert module.params["validate_certs"] is False
    assert module.params["ca_cert"] == "/ca.pem"


def test_api_key_is_scrubbed_from_module_output(monkeypatch, capsys):
    monkeypatch.delenv("K8S_AUTH_API_KEY", raising=False)
    with patch_module_args({"release": "rel", "namespace": "milvus", "api_key": TOKEN}):
        module = AnsibleModule(argument_spec=connection_argument_spec())
        with pytest.raises(SystemExit):
            module.exit_json(msg="token is %s" % TOKEN, env=helm_environment(module.params))
    out = capsys.readouterr().out
    assert TOKEN not in out
    assert json.loads(out)["env"]["HELM_KUBETOKEN"] != TOKEN


# -- cluster_label / describe_target ---------------------------------------------------------

@pytest.mark.parametrize("params,label", [
    ({"cluster_name": "prod-eu-1", "context": "ctx", "host": "https://h"}, "prod-eu-1"),
    ({"context": "ctx", "host": "https://h"}, "ctx"),
    ({"host": "https://api.eu:6443"}, "https://api.eu:6443"),
    ({"cluster_name": None, "context": None, "host": None}, "current-context"),
    ({}, "current-context"),
])
def test_cluster_label(params, label):
    assert cluster_label(params) == label


def test_describe_target_words_and_no_secret():
    params = dict(ALL, release="vectors", namespace="milvus", cluster_name="prod-eu-1")
    text = describe_target(params)
    assert text == "cluster prod-eu-1: release vectors in namespace milvus"
    assert TOKEN not in text
    assert describe_target({"release": "rel", "namespace": "ai"}) == \
        "cluster current-context: release rel in namespace ai"


# -- client certificates and KUBECONFIG lists --------------------------------------------------

CERT = {"host": "https://api.eu:6443", "ca_cert": "/etc/kube/ca.pem", "client_cert": "/etc/kube/me.crt",
        "client_key": "/etc/kube/me.key", "validate_certs": True, "message_names": "inventory"}


@pytest.mark.parametrize("missing", ["client_cert", "client_key"])
def test_a_certificate_without_its_key_or_a_key_without_its_certificate_is_refused(missing):
    problem = client_certificate_problem(dict(CERT, **{missing: None}))
    assert "milvus_kube_client_cert" in problem and "milvus_kube_client_key" in problem


def test_a_certificate_without_a_host_is_refused_naming_the_kubeconfig_alternative():
    problem = client_certificate_problem(dict(CERT, host=None, kubeconfig="/etc/kube/eu.yaml"))
    assert "milvus_kube_host" in problem and "kubeconfig" in problem


def test_called_directly_the_certificate_problem_names_the_module_options():
    problem = client_certificate_problem(dict(CERT, client_key=None, message_names="option"))
    assert problem.startswith("client_cert and client_key go together") and "milvus_" not in problem


@pytest.mark.parametrize("params", [CERT, dict(CERT, api_key=TOKEN), dict(CERT, validate_certs=False)])
def test_helm_gets_a_kubeconfig_with_the_certificate_paths_and_the_same_server(params):
    assert client_certificate_problem(params) is None
    config = helm_client_certificate_kubeconfig(params)
    context = dict((c["name"], c["context"]) for c in config["contexts"])[config["current-context"]]
    cluster = dict((c["name"], c["cluster"]) for c in config["clusters"])[context["cluster"]]
    user = dict((u["name"], u["user"]) for u in config["users"])[context["user"]]
    assert cluster["server"] == params["host"]
    assert user["client-certificate"] == params["client_cert"] and user["client-key"] == params["client_key"]
    assert user.get("token") == params.get("api_key")
    if params["validate_certs"] is False:
        assert cluster == {"server": params["host"], "insecure-skip-tls-verify": True}
    else:
        assert cluster["certificate-authority"] == params["ca_cert"]


@pytest.mark.parametrize("params", [{}, ALL, dict(CERT, client_key=None)])
def test_without_a_usable_certificate_helm_keeps_its_environment(params):
    assert helm_client_certificate_kubeconfig(params) is None


@pytest.mark.parametrize("value,files", [
    ("/a", ["/a"]), ("/a:/b", ["/a", "/b"]), ("/a::/b:", ["/a", "/b"]), ("", []), (None, []),
])
def test_kubeconfig_files(value, files):
    assert kubeconfig_files(value) == files

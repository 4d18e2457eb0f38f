# -*- coding: utf-8 -*-
"""plugins/module_utils/connection.py: the shared options and how they reach helm."""
from __future__ import absolute_import, division, print_function

import json

import pytest

from ansible.module_utils.basic import AnsibleModule
from factories import patch_module_args

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    CONNECTION_ARGUMENT_SPEC, cluster_label, connection_argument_spec, describe_target, helm_environment)

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

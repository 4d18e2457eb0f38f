# -*- coding: utf-8 -*-
"""plugins/module_utils/kube.py: the client configuration built from the shared connection options.

No network: the kubernetes client's own auth hook (what it calls before every request) is driven directly.
"""
from __future__ import absolute_import, division, print_function

import pytest
import yaml

from ansible_collections.milvusops.cluster.plugins.module_utils.kube import (
    Kube, KubeError, _configuration, unreachable_message)


def kubeconfig(tmp_path, token="kubeconfig-token", server="https://kubeconfig-server:6443", name="config"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c1",
        "clusters": [{"name": "c1", "cluster": {"server": server, "certificate-authority-data": ""}}],
        "users": [{"name": "c1", "user": {"token": token}}],
        "contexts": [{"name": "c1", "context": {"cluster": "c1", "user": "c1"}}],
    }))
    return str(path)


def requests(configuration, count=3):
    """What the client sends with `count` successive requests: (host, authorization, verify, ca)."""
    seen = []
    for _ in range(count):
        auth = configuration.auth_settings()["BearerToken"]["value"]   # runs refresh_api_key_hook first
        seen.append((configuration.host, auth, configuration.verify_ssl, configuration.ssl_ca_cert))
    return seen


def test_kubeconfig_alone(tmp_path):
    configuration = _configuration({"kubeconfig": kubeconfig(tmp_path), "context": "c1", "validate_certs": True})
    assert requests(configuration)[-1][:2] == ("https://kubeconfig-server:6443", "Bearer kubeconfig-token")


def test_explicit_options_beat_the_kubeconfig_on_every_request(tmp_path):
    # The kubeconfig loader's token refresh copies its host/token/CA back before each request and
    # re-installs itself; the explicit options must still win, request after request, as they do for helm.
    params = {"kubeconfig": kubeconfig(tmp_path, token="stale"), "context": "c1", "host": "https://override:443",
              "api_key": "explicit-token", "ca_cert": "/etc/ca.pem", "validate_certs": False}
    configuration = _configuration(params)
    assert requests(configuration, 4) == [("https://override:443", "Bearer explicit-token", False, "/etc/ca.pem")] * 4


def test_kubeconfig_token_refresh_keeps_the_explicit_settings_and_stays_put(tmp_path):
    # without api_key the kubeconfig's token is still refreshed (exec plugins, expiring tokens), but the
    # refresh works on a scratch configuration: the shared one only ever gets a whole new token dict
    params = {"kubeconfig": kubeconfig(tmp_path), "context": "c1", "host": "https://override:443",
              "validate_certs": False}
    configuration = _configuration(params)
    hook = configuration.refresh_api_key_hook
    assert hook is not None
    assert requests(configuration) == [("https://override:443", "Bearer kubeconfig-token", False, None)] * 3
    assert configuration.refresh_api_key_hook is hook


def test_explicit_api_key_needs_no_refresh(tmp_path):
    configuration = _configuration({"kubeconfig": kubeconfig(tmp_path), "context": "c1", "api_key": "k",
                                    "validate_certs": True})
    assert configuration.refresh_api_key_hook is None
    assert configuration.api_key == {"authorization": "Bearer k"}


@pytest.mark.parametrize("key,value,index,expected", [
    ("host", "https://other:6443", 0, "https://other:6443"),
    ("api_key", "other-token", 1, "Bearer other-token"),
    ("ca_cert", "/other/ca.pem", 3, "/other/ca.pem"),
])
def test_each_override_alone_sticks(tmp_path, key, value, index, expected):
    params = {"kubeconfig": kubeconfig(tmp_path), "context": "c1", "validate_certs": True, key: value}
    assert [request[index] for request in requests(_configuration(params))] == [expected] * 3


def test_host_and_api_key_without_a_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, token="must-not-be-used"))
    configuration = _configuration({"host": "https://api:6443", "api_key": "t", "validate_certs": True})
    assert requests(configuration) == [("https://api:6443", "Bearer t", True, None)] * 3


@pytest.mark.parametrize("content", [": : [\nnot yaml\n", "just a string\n", "- a\n- list\n"])
def test_a_kubeconfig_that_is_not_one_is_a_clear_error(tmp_path, content):
    path = tmp_path / "broken"
    path.write_text(content)
    with pytest.raises(KubeError) as error:
        Kube({"kubeconfig": str(path), "validate_certs": True})
    assert "cannot read kubeconfig %s" % path in str(error.value) or "cannot use kubeconfig %s" % path in str(error.value)
    assert "milvus_kube" in str(error.value)


def test_unknown_context_says_what_to_check(tmp_path):
    with pytest.raises(KubeError) as error:
        Kube({"kubeconfig": kubeconfig(tmp_path), "context": "nope", "validate_certs": True})
    assert "context nope" in str(error.value) and "get-contexts" in str(error.value)


def test_unreachable_message_hints():
    tls = unreachable_message("https://api:6443", Exception("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
    assert "https://api:6443" in tls and "milvus_kube_ca_cert" in tls
    refused = unreachable_message("http://127.0.0.1:1", Exception("Connection refused"))
    assert "Connection refused" in refused and "milvus_kube_host" in refused and "milvus_kube_ca_cert" not in refused


def test_kubeconfig_naming_several_files_merges_them_even_when_the_first_is_missing(tmp_path, monkeypatch):
    full = yaml.safe_load(open(kubeconfig(tmp_path, token="merged-token")))
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": full.pop("users")}))
    rest = tmp_path / "rest.yaml"
    rest.write_text(yaml.safe_dump(full))
    # current-context in the first file that exists: the lowest client admitted (24.2.0) reads it from that file only
    value = ":".join([str(tmp_path / "missing.yaml"), str(rest), str(users)])
    monkeypatch.setenv("KUBECONFIG", value)
    # the client reads its default location once, at import, from the same variable
    import kubernetes.config.kube_config as loader
    monkeypatch.setattr(loader, "KUBE_CONFIG_DEFAULT_LOCATION", value)
    configuration = _configuration({"validate_certs": True})
    assert requests(configuration)[-1][:2] == ("https://kubeconfig-server:6443", "Bearer merged-token")


def test_a_client_certificate_reaches_the_client_and_needs_its_key(tmp_path):
    params = {"host": "https://api:6443", "client_cert": "/etc/me.crt", "client_key": "/etc/me.key",
              "validate_certs": True}
    configuration = _configuration(params)
    assert (configuration.cert_file, configuration.key_file) == ("/etc/me.crt", "/etc/me.key")
    with pytest.raises(KubeError, match="client_cert and client_key go together"):
        _configuration(dict(params, client_key=None))


def test_the_client_temp_files_of_inline_credentials_can_be_removed_by_a_worker(tmp_path):
    import base64
    import os

    from ansible_collections.milvusops.cluster.plugins.module_utils.kube import remove_client_temp_files
    secret = b"-----BEGIN EC PRIVATE KEY-----\nnot-a-real-key\n-----END EC PRIVATE KEY-----\n"
    path = tmp_path / "inline"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c1",
        "clusters": [{"name": "c1", "cluster": {"server": "https://api:6443"}}],
        "users": [{"name": "c1", "user": {"client-certificate-data": base64.b64encode(b"cert").decode(),
                                          "client-key-data": base64.b64encode(secret).decode()}}],
        "contexts": [{"name": "c1", "context": {"cluster": "c1", "user": "c1"}}],
    }))
    configuration = _configuration({"kubeconfig": str(path), "validate_certs": True})
    assert open(configuration.key_file, "rb").read() == secret     # the client wrote the key to a file
    remove_client_temp_files()
    assert not os.path.exists(configuration.key_file)

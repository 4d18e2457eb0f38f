# -*- coding: utf-8 -*-
"""plugins/module_utils/redact.py: secrets never leave a module in results or messages."""
from __future__ import absolute_import, division, print_function

import copy

import pytest

from ansible_collections.milvusops.cluster.plugins.module_utils.redact import (
    REDACTED, redact_text, redact_values)


STORED = {
    "image": {"all": {"repository": "milvusdb/milvus", "tag": "v2.5.10"}},
    "minio": {"enabled": True, "accessKey": "minioadmin", "secretKey": "minio-s3cr3t", "mode": "distributed"},
    "externalS3": {"enabled": False, "host": "s3.amazonaws.com", "accessKey": "AKIAEXAMPLE",
                   "secretKey": "aws-s3cr3t", "useIAM": False},
    "externalKafka": {"enabled": False, "sasl": {"username": "milvus", "password": "kafka-pw",
                                                 "mechanisms": "PLAIN"}},
    "pulsar": {"enabled": True, "auth": {"authentication": False, "superUsers": {"proxy": "proxy-admin"}}},
    "extraConfigFiles": {"user.yaml": "common:\n  security:\n    defaultRootPassword: Root-pw\n"},
    "etcd": {"auth": {"rbac": {"rootPassword": "etcd-pw", "create": True}}, "replicaCount": 3},
    "tls": {"enabled": True, "tls.key": "-----BEGIN PRIVATE KEY-----"},
    "attu": {"token": "attu-tok", "apiKey": 12345},
    "common": {"security": {"authorizationEnabled": True}},
}


def test_credential_like_keys_are_hidden_structure_kept():
    result = redact_values(STORED)
    assert result["minio"] == {"enabled": True, "accessKey": REDACTED, "secretKey": REDACTED, "mode": "distributed"}
    assert result["externalS3"]["accessKey"] == REDACTED
    assert result["externalS3"]["secretKey"] == REDACTED
    assert result["externalS3"]["host"] == "s3.amazonaws.com"
    assert result["externalS3"]["useIAM"] is False
    assert result["etcd"]["auth"]["rbac"]["rootPassword"] == REDACTED
    assert result["etcd"]["auth"]["rbac"]["create"] is True
    assert result["etcd"]["replicaCount"] == 3
    assert result["tls"] == {"enabled": True, "tls.key": REDACTED}
    assert result["attu"] == {"token": REDACTED, "apiKey": REDACTED}  # numbers too
    assert result["image"] == STORED["image"]


def test_credential_named_dict_is_walked_not_replaced():
    # `sasl` looks like a credential key but holds a block: its credential leaves are hidden, the rest kept
    result = redact_values(STORED)
    assert result["externalKafka"]["sasl"] == {"username": "milvus", "password": REDACTED, "mechanisms": "PLAIN"}
    assert result["externalKafka"]["enabled"] is False


def test_booleans_under_credential_keys_stay_visible():
    # feature flags like `pulsar.auth.authentication: false` or `useIAM` are not secrets
    values = {"pulsar": {"auth": {"authentication": False}}, "secret": {"enabled": True},
              "token": True, "common": {"security": {"authorizationEnabled": True}}}
    result = redact_values(values)
    assert result == values


def test_nothing_leaks_anywhere():
    text = repr(redact_values(STORED, ["extraConfigFiles.user\\.yaml"]))
    for secret in ("minioadmin", "minio-s3cr3t", "AKIAEXAMPLE", "aws-s3cr3t", "kafka-pw", "Root-pw", "etcd-pw",
                   "BEGIN PRIVATE KEY", "attu-tok", "12345"):
        assert secret not in text


def test_input_is_not_mutated():
    before = copy.deepcopy(STORED)
    redact_values(STORED, ["image.all.tag"])
    assert STORED == before


def test_explicit_paths_escaped_dot_spelling():
    # the docstring's spelling, the same as flatten_values' keys
    result = redact_values(STORED, ["extraConfigFiles.user\\.yaml"])
    assert result["extraConfigFiles"] == {"user.yaml": REDACTED}


def test_explicit_paths_plain_dot_spelling():
    result = redact_values(STORED, ["extraConfigFiles.user.yaml"])
    assert result["extraConfigFiles"] == {"user.yaml": REDACTED}


def test_explicit_path_hides_a_whole_subtree_and_only_it():
    result = redact_values(STORED, ["pulsar.auth"])
    assert result["pulsar"] == {"enabled": True, "auth": REDACTED}
    assert result["image"]["all"]["tag"] == "v2.5.10"


def test_explicit_path_of_an_ordinary_leaf():
    result = redact_values({"image": {"all": {"tag": "v2.5.10"}}, "cluster": {"enabled": True}}, ["image.all.tag"])
    assert result == {"image": {"all": {"tag": REDACTED}}, "cluster": {"enabled": True}}


def test_paths_inside_lists():
    values = {"extraEnv": [{"name": "A", "value": "visible"}, {"name": "B", "value": "hide-me"}],
              "proxy": {"extraEnv": [{"name": "DB_PASSWORD", "password": "pw"}]}}
    result = redact_values(values, ["extraEnv[1].value"])
    assert result["extraEnv"] == [{"name": "A", "value": "visible"}, {"name": "B", "value": REDACTED}]
    assert result["proxy"]["extraEnv"] == [{"name": "DB_PASSWORD", "password": REDACTED}]


def test_list_of_scalar_credentials_is_hidden():
    # e.g. the Kafka subchart's auth.jaas.clientPasswords: [..]
    values = {"kafka": {"auth": {"jaas": {"clientUsers": ["milvus"], "clientPasswords": ["pw-1", "pw-2"]}}}}
    result = redact_values(values)
    assert result["kafka"]["auth"]["jaas"] == {"clientUsers": ["milvus"], "clientPasswords": [REDACTED, REDACTED]}


def test_empty_and_none():
    assert redact_values({}) == {}
    assert redact_values({}, None) == {}
    assert redact_values({"a": 1}, None) == {"a": 1}


@pytest.mark.parametrize("text,secrets,expected", [
    ("helm --kube-token abc failed", ["abc"], "helm --kube-token %s failed" % REDACTED),
    ("abc and abc", ["abc"], "%s and %s" % (REDACTED, REDACTED)),
    ("nothing here", ["abc"], "nothing here"),
    ("keep", [None, ""], "keep"),
    ("keep", None, "keep"),
])
def test_redact_text(text, secrets, expected):
    assert redact_text(text, secrets) == expected


# -- configuration text embedded in values, URL user-info (hidden by default, no path listed) --------

from ansible_collections.milvusops.cluster.plugins.module_utils.redact import (  # noqa: E402
    redact_embedded_text, redact_strings, redact_url_userinfo)

USER_YAML = (
    "# operator settings\n"
    "common:\n"
    "  security:\n"
    "    authorizationEnabled: true\n"
    "    defaultRootPassword: Root-pw-1   # rotated quarterly\n"
    "    superUsers: admin\n"
    "minio:\n"
    "  accessKeyID: minio-user\n"
    "  secretAccessKey: 'minio-s3cr3t'\n"
    "  address: minio.storage\n"
    "pulsar:\n"
    "  address: pulsar+ssl://milvus:pulsar-pw@pulsar.internal:6651\n"
    "  authParams: '{\"token\":\"pulsar-tok\"}'\n"
    "kafka:\n"
    "  brokerList: kafka-1:9093\n"
    "  saslPassword: \"kafka-pw\"\n"
    "  saslUsername: milvus\n"
    "etcd:\n"
    "  auth:\n"
    "    enabled: true\n"
    "    password: |\n"
    "      etcd-pw-line\n"
    "  endpoints:\n"
    "    - http://root:etcd-root-pw@etcd-0:2379\n"
)
EMBEDDED_SECRETS = ("Root-pw-1", "minio-s3cr3t", "pulsar-pw", "pulsar-tok", "kafka-pw", "etcd-pw-line",
                    "etcd-root-pw")


def test_embedded_yaml_hides_credentials_and_keeps_everything_else():
    values = {"extraConfigFiles": {"user.yaml": USER_YAML}}
    shown = redact_values(values)["extraConfigFiles"]["user.yaml"]
    for secret in EMBEDDED_SECRETS:
        assert secret not in shown, secret
    lines = shown.splitlines()
    # the text stays the operator's text: comments, order and every non-secret setting
    assert lines[0] == "# operator settings"
    assert "    authorizationEnabled: true" in lines
    assert "    defaultRootPassword: %s" % REDACTED in lines
    assert "    superUsers: admin" in lines
    assert "  accessKeyID: %s" % REDACTED in lines and "  address: minio.storage" in lines   # like accessKey
    assert "  address: pulsar+ssl://%s@pulsar.internal:6651" % REDACTED in lines
    assert "  brokerList: kafka-1:9093" in lines
    assert "    - http://%s@etcd-0:2379" % REDACTED in lines
    assert len(lines) == len(USER_YAML.splitlines()) - 1   # the block scalar's line is gone with it


def test_embedded_yaml_that_cannot_be_hidden_line_by_line_is_hidden_whole():
    flow = "minio: {secretAccessKey: flow-s3cr3t, address: x}\ncommon:\n  a: 1\n"
    assert redact_embedded_text(flow) == REDACTED
    escaped = 'common:\n  password: "esc\\"aped"\n'
    shown = redact_embedded_text(escaped)
    assert "esc" not in shown


def test_embedded_json_is_configuration_text_too():
    shown = redact_values({"externalPulsar": {"authParams": '{"token": "tok-1"}', "authPlugin": "token"},
                           "extra": {"client": '{"apiKey": "k-1", "endpoint": "https://u:p-1@h"}'}})
    assert shown["externalPulsar"] == {"authParams": REDACTED, "authPlugin": "token"}
    assert "k-1" not in shown["extra"]["client"] and "p-1" not in shown["extra"]["client"]


def test_text_that_is_not_yaml_gets_its_credential_lines_hidden():
    properties = ("sasl.mechanism=PLAIN\nsasl.password=prop-pw\nbootstrap.servers=k:9092\n"
                  "sasl.jaas.config=x required username=\"u\" password=\"jaas-pw\";\n\tbad: [yaml\n")
    shown = redact_embedded_text(properties)
    assert "prop-pw" not in shown and "jaas-pw" not in shown
    assert "sasl.mechanism=PLAIN" in shown and "bootstrap.servers=k:9092" in shown


@pytest.mark.parametrize("text,expected", [
    ("pulsar://user:pw@host:6650", "pulsar://%s@host:6650" % REDACTED),
    ("http://user:p@ss@host/path@x", "http://%s@host/path@x" % REDACTED),
    ("see https://token@example.com and s3://k:s@bucket", "see https://%s@example.com and s3://%s@bucket"
     % (REDACTED, REDACTED)),
    ("pulsar://rel-pulsar-proxy:6650", "pulsar://rel-pulsar-proxy:6650"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
    ("no url here", "no url here"),
])
def test_url_userinfo(text, expected):
    assert redact_url_userinfo(text) == expected


def test_plain_string_values_lose_url_userinfo_only():
    shown = redact_values({"externalKafka": {"brokerList": "kafka://u:kpw@k1:9092"}, "note": "a: b"})
    assert shown == {"externalKafka": {"brokerList": "kafka://%s@k1:9092" % REDACTED}, "note": "a: b"}


def test_redact_strings_walks_messages():
    evidence = {"evidence": ["ConfigMap c pulsar.address=pulsar://a:b-pw@p:6650"], "kind": "external-pulsar",
                "n": 1}
    shown = redact_strings(evidence)
    assert "b-pw" not in repr(shown) and shown["kind"] == "external-pulsar" and shown["n"] == 1


def test_explicit_path_still_hides_the_whole_text():
    shown = redact_values({"extraConfigFiles": {"user.yaml": USER_YAML}}, ["extraConfigFiles.user\\.yaml"])
    assert shown == {"extraConfigFiles": {"user.yaml": REDACTED}}

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

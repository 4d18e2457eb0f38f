# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import pytest
from packaging.version import Version

from ansible_collections.milvusops.cluster.plugins.module_utils import versions as v


@pytest.mark.parametrize("tag, base, prefix, suffix, pre, normalized", [
    ("v2.5.10", "2.5.10", "v", "", "", "2.5.10"),
    ("2.5.10", "2.5.10", "", "", "", "2.5.10"),
    ("v2.5.16-gpu", "2.5.16", "v", "-gpu", "", "2.5.16"),
    ("v2.6.0-rc1", "2.6.0", "v", "", "rc1", "2.6.0-rc1"),
    ("v2.6.0-rc1-gpu", "2.6.0", "v", "-gpu", "rc1", "2.6.0-rc1"),
    ("v2.6.0-rc.1", "2.6.0", "v", "", "rc1", "2.6.0-rc1"),
    ("2.5.0-beta", "2.5.0", "", "", "beta", "2.5.0-beta"),
    ("v2.5.16-gpu-arm64", "2.5.16", "v", "-gpu-arm64", "", "2.5.16"),
    ("v2.6.15", "2.6.15", "v", "", "", "2.6.15"),
])
def test_parse_milvus_tag(tag, base, prefix, suffix, pre, normalized):
    parsed = v.parse_milvus_tag(tag)
    assert parsed.base == base
    assert parsed.prefix == prefix
    assert parsed.suffix == suffix
    assert parsed.prerelease == pre
    assert parsed.normalized == normalized
    assert parsed.raw == tag
    assert parsed.is_prerelease == bool(pre)


def test_rc_is_a_prerelease_not_a_suffix():
    rc = v.parse_milvus_tag("v2.6.0-rc1")
    assert rc.suffix == ""
    assert rc.version == Version("2.6.0rc1")
    assert rc < v.parse_milvus_tag("v2.6.0")
    assert rc > v.parse_milvus_tag("v2.5.99")


@pytest.mark.parametrize("bad, words", [
    ("latest", "moving tag"),
    ("", "empty"),
    (None, "empty"),
    ("   ", "empty"),
    ("2.6", "MAJOR.MINOR.PATCH"),
    ("v2", "MAJOR.MINOR.PATCH"),
    ("v2.6.4.1", "four version components"),
    ("sha256:" + "a" * 64, "digest"),
    ("v2.5.10@sha256:" + "a" * 64, "digest"),
    ("v2.5.10-20250101-abcdef0", "custom"),
    ("master-20250101-abcdef0", "custom"),
    ("v02.5.10", "custom"),
])
def test_parse_milvus_tag_rejects(bad, words):
    with pytest.raises(ValueError) as exc:
        v.parse_milvus_tag(bad)
    assert words in str(exc.value)


def test_try_parse_returns_none():
    assert v.try_parse_milvus_tag("latest") is None
    assert v.try_parse_milvus_tag("v2.5.10").base == "2.5.10"


def test_comparisons_ignore_suffix_and_are_numeric():
    assert v.parse_milvus_tag("v2.5.9") < v.parse_milvus_tag("v2.5.10")
    assert v.parse_milvus_tag("v2.5.16-gpu") == v.parse_milvus_tag("v2.5.16")
    assert v.parse_milvus_tag("v2.6.4") >= "2.6.4"
    assert v.parse_milvus_tag("v2.6.9") > "v2.6.4"
    assert v.compare("v2.5.10", "2.5.16") == -1
    assert v.compare("v2.6.4-gpu", "2.6.4") == 0
    assert v.compare("v2.6.11", "v2.6.4") == 1


@pytest.mark.parametrize("version, suffix, prefix, expected", [
    ("2.6.4", "-gpu", "v", "v2.6.4-gpu"),
    ("v2.6.4", "", "v", "v2.6.4"),
    ("v2.5.18", "", "", "2.5.18"),
    ("v2.6.0-rc1", "-gpu", "v", "v2.6.0-rc1-gpu"),
    ("2.5.0-beta", "", "v", "v2.5.0-beta"),
    (Version("2.6.0rc2"), "", "v", "v2.6.0-rc2"),
    (Version("2.5.0b0"), "", "v", "v2.5.0-beta0"),
])
def test_format_tag(version, suffix, prefix, expected):
    assert v.format_tag(version, suffix=suffix, prefix=prefix) == expected


def test_with_version_keeps_style():
    assert v.parse_milvus_tag("v2.5.16-gpu").with_version("v2.6.4") == "v2.6.4-gpu"
    assert v.parse_milvus_tag("2.5.10").with_version("2.6.4") == "2.6.4"


@pytest.mark.parametrize("image, expected", [
    ("milvusdb/milvus:v2.5.10", ("milvusdb/milvus", "v2.5.10", None)),
    ("registry.local:5000/mirror/milvus:v2.5.16-gpu", ("registry.local:5000/mirror/milvus", "v2.5.16-gpu", None)),
    ("registry.local:5000/mirror/milvus", ("registry.local:5000/mirror/milvus", None, None)),
    ("milvusdb/milvus@sha256:abc", ("milvusdb/milvus", None, "sha256:abc")),
    ("milvusdb/milvus:v2.5.10@sha256:abc", ("milvusdb/milvus", "v2.5.10", "sha256:abc")),
])
def test_split_image(image, expected):
    assert v.split_image(image) == expected


def test_same_image_normalises_docker_hub():
    assert v.same_image("docker.io/milvusdb/milvus:v2.6.4", "milvusdb/milvus:v2.6.4")
    assert not v.same_image("milvusdb/milvus:v2.6.4", "milvusdb/milvus:v2.6.4-gpu")
    assert not v.same_image("reg.local/milvusdb/milvus:v2.6.4", "milvusdb/milvus:v2.6.4")
    assert v.same_image("docker.io/library/busybox:1", "busybox:1")


@pytest.mark.parametrize("text, expected", [
    ("4.2.58", "4.2.58"), ("5.0.0", "5.0.0"), ("v5.0.19", "5.0.19"), ("4.1.36", "4.1.36"),
    ("5.0.0-rc.1", "5.0.0rc1"),
])
def test_parse_chart_version(text, expected):
    assert v.parse_chart_version(text) == Version(expected)


def test_chart_versions_compare_numerically():
    assert v.parse_chart_version("4.2.58") > v.parse_chart_version("4.2.9")
    assert v.parse_chart_version("5.0.0-rc.1") < v.parse_chart_version("5.0.0")


@pytest.mark.parametrize("bad", ["", None, "4.2", "latest", "4.2.58.1"])
def test_parse_chart_version_rejects(bad):
    with pytest.raises(ValueError):
        v.parse_chart_version(bad)


@pytest.mark.parametrize("text, expected", [
    ("v3.17.3+ge4da497", "3.17.3"), ("3.14.0", "3.14.0"), ("v3.13.3", "3.13.3"), ("v3.16.0-rc.1", "3.16.0"),
])
def test_parse_helm_version(text, expected):
    assert v.parse_helm_version(text) == Version(expected)


@pytest.mark.parametrize("text, expected", [
    ("v1.31.0", "1.31.0"), ("v1.29.3-eks-adc7111", "1.29.3"), ("v1.30.1+k3s1", "1.30.1"),
    ("1.27.16-gke.1287000", "1.27.16"), ("v1.19.16", "1.19.16"),
])
def test_parse_kube_version(text, expected):
    assert v.parse_kube_version(text) == Version(expected)


@pytest.mark.parametrize("bad", ["", None, "unknown", "three.one"])
def test_platform_versions_reject(bad):
    with pytest.raises(ValueError):
        v.parse_helm_version(bad)
    with pytest.raises(ValueError):
        v.parse_kube_version(bad)


def test_at_least():
    assert v.at_least("v3.14.0", "3.14.0", v.parse_helm_version)
    assert not v.at_least("v3.13.9+gabc", "3.14.0", v.parse_helm_version)
    assert v.at_least("4.2.58", "4.2.9")

# -*- coding: utf-8 -*-
"""plugins/module_utils/names.py: object names and selectors as the Milvus chart renders them."""
from __future__ import absolute_import, division, print_function

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils.names import (
    MILVUS_COMPONENTS, MQ_FAMILIES, SEPARATE_COORDINATORS, component_of, milvus_fullname, milvus_selector,
    mq_statefulset_selector)


@pytest.mark.parametrize("release,values,expected", [
    ("rel", None, "rel-milvus"),
    ("vectors", {}, "vectors-milvus"),
    ("milvus", {}, "milvus"),                      # the release already says milvus
    ("my-milvus-prod", {}, "my-milvus-prod"),
    ("rel", {"nameOverride": "vdb"}, "rel-vdb"),
    ("vdb-1", {"nameOverride": "vdb"}, "vdb-1"),
    ("rel", {"fullnameOverride": "custom"}, "custom"),
    ("milvus", {"fullnameOverride": "custom", "nameOverride": "x"}, "custom"),
    ("rel", {"fullnameOverride": ""}, "rel-milvus"),
])
def test_milvus_fullname(release, values, expected):
    assert milvus_fullname(release, values) == expected


def test_milvus_fullname_matches_the_factories():
    for release in ("rel", "milvus", "vectors", "prod-milvus"):
        assert milvus_fullname(release) == f.fullname(release)


def test_milvus_fullname_truncates_to_63_without_trailing_dash():
    release = "a" * 56 + "-b"  # 58 chars + "-milvus" = 65 -> cut at 63
    name = milvus_fullname(release)
    assert len(name) <= 63
    assert name == ("%s-milvus" % release)[:63]
    dashed = "r" * 62 + "-"  # would end in "-" after truncation
    assert not milvus_fullname(dashed, {"fullnameOverride": dashed + "xyz"}).endswith("-")
    assert len(milvus_fullname("x", {"fullnameOverride": "y" * 80})) == 63


def test_milvus_selector():
    assert milvus_selector("rel") == "app.kubernetes.io/instance=rel,app.kubernetes.io/name=milvus"
    assert milvus_selector("rel", "proxy") == \
        "app.kubernetes.io/instance=rel,app.kubernetes.io/name=milvus,component=proxy"


def test_milvus_selector_matches_factory_labels():
    dep = f.deployment("querynode", release="vectors")
    labels = dep["metadata"]["labels"]
    for term in milvus_selector("vectors", "querynode").split(","):
        key, _, value = term.partition("=")
        assert labels[key] == value


@pytest.mark.parametrize("family,expected", [
    ("pulsar", "release=rel,app=pulsar"),
    ("pulsarv3", "release=rel,app=pulsarv3"),
    ("kafka", "app.kubernetes.io/instance=rel,app.kubernetes.io/name=kafka"),
])
def test_mq_statefulset_selector(family, expected):
    assert mq_statefulset_selector("rel", family) == expected


def test_mq_families_and_components():
    assert MQ_FAMILIES == ("pulsar", "pulsarv3", "kafka")
    assert set(SEPARATE_COORDINATORS) == {"rootcoord", "querycoord", "datacoord", "indexcoord"}
    for component in ("proxy", "mixcoord", "querynode", "datanode", "indexnode", "streamingnode"):
        assert component in MILVUS_COMPONENTS
    assert set(SEPARATE_COORDINATORS) <= set(MILVUS_COMPONENTS)


def test_component_of():
    assert component_of(f.deployment("mixcoord")) == "mixcoord"
    assert component_of(f.pod("streamingnode", image="milvusdb/milvus:v2.6.4")) == "streamingnode"
    pulsar_proxy = {"metadata": {"name": "rel-pulsar-proxy", "labels": {"app": "pulsar", "component": "proxy",
                                                                         "release": "rel"}}}
    assert component_of(pulsar_proxy) is None  # Pulsar's own component=proxy is not Milvus'
    assert component_of({"metadata": {}}) is None
    assert component_of({}) is None
    assert component_of({"metadata": {"labels": None}}) is None


# -- the release layout: where the chart puts things, from the merged values -----------------------

from ansible_collections.milvusops.cluster.plugins.module_utils.names import (  # noqa: E402
    configmap_mismatch, default_layout, instance_component_selector, milvus_name, mounted_configmaps,
    release_layout)


@pytest.mark.parametrize("release,values,expected", [
    ("rel", {}, {"fullname": "rel-milvus", "name": "milvus", "configmap": "rel-milvus", "custom_configmap": False}),
    ("my-milvus", {}, {"fullname": "my-milvus", "name": "milvus", "configmap": "my-milvus",
                       "custom_configmap": False}),
    ("milvus", {"customConfigMap": "ops-config"}, {"fullname": "milvus", "name": "milvus", "configmap": "ops-config",
                                                     "custom_configmap": True}),
    ("rel", {"nameOverride": "vdb"}, {"fullname": "rel-vdb", "name": "vdb", "configmap": "rel-vdb",
                                      "custom_configmap": False}),
    # nameOverride replaces milvus in the "contains" rule too: a release called *milvus* is no longer the fullname
    ("my-milvus", {"nameOverride": "vdb"}, {"fullname": "my-milvus-vdb", "name": "vdb", "configmap": "my-milvus-vdb",
                                            "custom_configmap": False}),
    ("search", {"nameOverride": "vdb", "fullnameOverride": "search-engine"},
     {"fullname": "search-engine", "name": "vdb", "configmap": "search-engine", "custom_configmap": False}),
    ("search", {"fullnameOverride": "engine", "customConfigMap": "cfg"},
     {"fullname": "engine", "name": "milvus", "configmap": "cfg", "custom_configmap": True}),
    # what helm get values --all shows for the chart's defaults: empty strings, or null when a user unset them
    ("rel", {"nameOverride": "", "fullnameOverride": None, "customConfigMap": ""},
     {"fullname": "rel-milvus", "name": "milvus", "configmap": "rel-milvus", "custom_configmap": False}),
])
def test_release_layout(release, values, expected):
    assert release_layout(release, values) == expected


def test_default_layout_is_the_layout_of_no_overrides():
    assert default_layout("vectors") == release_layout("vectors", {}) == release_layout("vectors", None)


def test_milvus_name_truncates_like_helm():
    assert milvus_name({"nameOverride": "a" * 62 + "-b"}) == "a" * 62
    assert milvus_name({}) == "milvus"


def test_selector_and_component_of_follow_the_chart_name():
    assert milvus_selector("rel", "proxy", name="vdb") == \
        "app.kubernetes.io/instance=rel,app.kubernetes.io/name=vdb,component=proxy"
    renamed = f.deployment("proxy")
    renamed["metadata"]["labels"]["app.kubernetes.io/name"] = "vdb"
    assert component_of(renamed) is None
    assert component_of(renamed, "vdb") == "proxy"
    # an etcd or Kafka pod of the same instance is never Milvus, whatever the chart name
    etcd = {"metadata": {"labels": {"app.kubernetes.io/name": "etcd", "app.kubernetes.io/instance": "rel",
                                    "component": "etcd"}}}
    assert component_of(etcd, "vdb") is None and component_of(etcd) is None
    assert instance_component_selector("rel") == "app.kubernetes.io/instance=rel,component"


def test_mounted_configmaps_and_the_mismatch_check():
    dep = f.deployment("proxy", release="vectors")
    assert mounted_configmaps(dep) == ["vectors-milvus"]
    assert configmap_mismatch(release_layout("vectors", {}), [dep]) is None
    custom = release_layout("vectors", {"customConfigMap": "ops-config"})
    message = configmap_mismatch(custom, [dep])
    assert "ops-config (customConfigMap)" in message and "vectors-milvus-proxy mounts vectors-milvus" in message
    projected = {"spec": {"template": {"spec": {"volumes": [
        {"name": "c", "projected": {"sources": [{"configMap": {"name": "ops-config"}}, {"secret": {"name": "s"}}]}}]}}}}
    assert mounted_configmaps(projected) == ["ops-config"]
    assert configmap_mismatch(custom, [projected]) is None
    assert configmap_mismatch(custom, [{"spec": {"template": {"spec": {}}}}]) is None   # mounts nothing: no claim

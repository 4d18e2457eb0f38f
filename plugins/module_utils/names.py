# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object names and label selectors of a Milvus release, as the chart renders them (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Every Milvus component Deployment the chart can render in cluster mode.
SEPARATE_COORDINATORS = ("rootcoord", "querycoord", "datacoord", "indexcoord")
MILVUS_COMPONENTS = ("proxy", "mixcoord") + SEPARATE_COORDINATORS + (
    "querynode", "datanode", "indexnode", "streamingnode", "standalone")

MQ_FAMILIES = ("pulsar", "pulsarv3", "kafka")


def milvus_fullname(release, values=None):
    """The chart's fullname: fullnameOverride, else the release if it already says milvus, else <rel>-<name>."""
    values = values or {}
    override = values.get("fullnameOverride")
    if override:
        return str(override)[:63].rstrip("-")
    name = values.get("nameOverride") or "milvus"
    if name in release:
        return release[:63].rstrip("-")
    return ("%s-%s" % (release, name))[:63].rstrip("-")


def milvus_selector(release, component=None):
    """Selects the release's Milvus pods/Deployments only (component=proxy alone would match Pulsar's)."""
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/name=milvus" % release
    if component:
        selector += ",component=%s" % component
    return selector


def mq_statefulset_selector(release, family):
    """Label selector of the StatefulSets of one message-queue family of the release."""
    if family == "kafka":
        return "app.kubernetes.io/instance=%s,app.kubernetes.io/name=kafka" % release
    return "release=%s,app=%s" % (release, family)


def component_of(obj):
    """The Milvus component an object belongs to, from its labels (None for non-Milvus objects)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/name") != "milvus":
        return None
    return labels.get("component")

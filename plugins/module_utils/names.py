# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object names and label selectors of a Milvus release, as the chart renders them (pure).

The chart derives every name from the release name and three values: ``nameOverride`` (the chart
name in ``app.kubernetes.io/name`` and in the fullname), ``fullnameOverride`` and ``customConfigMap``
(a ConfigMap the operator manages; the chart then renders none). ``release_layout`` applies the same
rules once, from ``helm get values --all``; detection before a hop and verification after it both use
its answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Every Milvus component Deployment the chart can render in cluster mode.
SEPARATE_COORDINATORS = ("rootcoord", "querycoord", "datacoord", "indexcoord")
MILVUS_COMPONENTS = ("proxy", "mixcoord") + SEPARATE_COORDINATORS + (
    "querynode", "datanode", "indexnode", "streamingnode", "standalone")

MQ_FAMILIES = ("pulsar", "pulsarv3", "kafka")
CHART_NAME = "milvus"


def _dns_label(text):
    """Helm's `trunc 63 | trimSuffix "-"`."""
    text = str(text)[:63]
    return text[:-1] if text.endswith("-") else text


def _string_value(values, key):
    """A string value as the chart's `{{ if .Values.x }}` sees it ('' for missing, null or empty)."""
    value = (values or {}).get(key)
    if value is None or value is False:
        return ""
    return str(value)


def milvus_name(values=None):
    """The chart name the release's objects carry in app.kubernetes.io/name (nameOverride, else milvus)."""
    return _dns_label(_string_value(values, "nameOverride") or CHART_NAME)


def milvus_fullname(release, values=None):
    """The chart's fullname: fullnameOverride, else the release if it already says <name>, else <rel>-<name>."""
    override = _string_value(values, "fullnameOverride")
    if override:
        return _dns_label(override)
    name = milvus_name(values)
    if name in release:
        return _dns_label(release)
    return _dns_label("%s-%s" % (release, name))


def release_layout(release, values=None):
    """Where the chart puts a release's Milvus objects, from its merged values (helm get values --all).

    Returns {"fullname", "name", "configmap", "custom_configmap"}: Deployments are <fullname>-<component>,
    the proxy Service is <fullname>, objects carry app.kubernetes.io/name=<name>, and the pods mount the
    ConfigMap <configmap> (customConfigMap when set, else <fullname>).
    """
    fullname = milvus_fullname(release, values)
    custom = _string_value(values, "customConfigMap")
    return {
        "fullname": fullname,
        "name": milvus_name(values),
        "configmap": custom or fullname,
        "custom_configmap": bool(custom),
    }


def default_layout(release):
    """The layout of a release that overrides nothing (chart defaults)."""
    return release_layout(release, {})


def milvus_selector(release, component=None, name=CHART_NAME):
    """Selects the release's Milvus pods/Deployments only (component=proxy alone would match Pulsar's)."""
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/name=%s" % (release, name or CHART_NAME)
    if component:
        selector += ",component=%s" % component
    return selector


def instance_component_selector(release):
    """Every object of the release that carries a component label, whatever its chart name.

    Used before the values (and so the chart name) are known; ``component_of`` then keeps the Milvus ones.
    """
    return "app.kubernetes.io/instance=%s,component" % release


def mq_statefulset_selector(release, family):
    """Label selector of the StatefulSets of one message-queue family of the release."""
    if family == "kafka":
        return "app.kubernetes.io/instance=%s,app.kubernetes.io/name=kafka" % release
    return "release=%s,app=%s" % (release, family)


def component_of(obj, name=CHART_NAME):
    """The Milvus component an object belongs to, from its labels (None for non-Milvus objects)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if labels.get("app.kubernetes.io/name") != (name or CHART_NAME):
        return None
    return labels.get("component")


def mounted_configmaps(deployment):
    """Names of the ConfigMaps a Deployment's pod template mounts as volumes (sorted)."""
    spec = (((deployment.get("spec") or {}).get("template") or {}).get("spec")) or {}
    names = set()
    for volume in spec.get("volumes") or []:
        configmap = volume.get("configMap") or {}
        if configmap.get("name"):
            names.add(configmap["name"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            projected = source.get("configMap") or {}
            if projected.get("name"):
                names.add(projected["name"])
    return sorted(names)


def configmap_mismatch(layout, deployments):
    """A message when the Milvus Deployments do not mount the ConfigMap the values name, else None.

    Deployments that mount no ConfigMap at all say nothing (a chart that reads its config otherwise).
    """
    wanted = layout["configmap"]
    strays = []
    for deployment in deployments or []:
        mounted = mounted_configmaps(deployment)
        if mounted and wanted not in mounted:
            strays.append("%s mounts %s" % ((deployment.get("metadata") or {}).get("name", "?"), ", ".join(mounted)))
    if not strays:
        return None
    return ("the values name the Milvus ConfigMap %s (%s), but %s" % (
        wanted, "customConfigMap" if layout.get("custom_configmap") else "the chart's fullname", "; ".join(strays)))

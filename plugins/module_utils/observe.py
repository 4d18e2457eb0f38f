# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather the observed state of one Milvus release (the I/O the planner needs), concurrently."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.milvusops.cluster.plugins.module_utils.versions import split_chart_field
from ansible_collections.milvusops.cluster.plugins.module_utils.names import (
    MQ_FAMILIES, component_of, default_layout, instance_component_selector, mq_statefulset_selector,
    release_layout)


def release_summary(history, release, namespace):
    """The release dict of the observed state from `helm history` rows (oldest first)."""
    if not history:
        return None
    last = history[-1]
    chart_name, chart_version = split_chart_field(last.get("chart", ""))
    return {
        "name": release,
        "namespace": namespace,
        "chart_name": chart_name,
        "chart_version": chart_version,
        "app_version": last.get("app_version", ""),
        "revision": last.get("revision"),
        "status": last.get("status"),
        "description": last.get("description", ""),
        "history": history,
    }


def observe(helm, kube, release, namespace, cluster):
    """Everything the planner reads, as plain data (see docs/CONTRACTS.md).

    Helm calls cost a process start and two API round trips each, so independent reads run in
    parallel; the result does not depend on their order.
    """
    with ThreadPoolExecutor(max_workers=6) as pool:
        helm_version = pool.submit(helm.version)
        kube_version = pool.submit(kube.server_version)
        history = pool.submit(helm.history, release, namespace)
        # read alongside the history (one helm start less on the critical path); unused when there is no release
        user_values = pool.submit(helm.get_values, release, namespace)
        all_values = pool.submit(helm.get_values, release, namespace, True)
        # The chart name in app.kubernetes.io/name (nameOverride) is only known from the values: list every
        # object of the release with a component label now, keep the Milvus ones once the values are read.
        deployments = pool.submit(kube.list, "Deployment", namespace, instance_component_selector(release))
        pods = pool.submit(kube.list, "Pod", namespace, instance_component_selector(release))
        # the end state of a release with no hop left is judged from these reads too
        replicasets = pool.submit(kube.list, "ReplicaSet", namespace, instance_component_selector(release))
        statefulsets = dict(
            (family, pool.submit(kube.list, "StatefulSet", namespace, mq_statefulset_selector(release, family)))
            for family in MQ_FAMILIES)
        observed = {
            "cluster": cluster,
            "release_name": release,    # what was looked for, for messages when the release is not found
            "namespace": namespace,
            "helm_version": helm_version.result(),
            "kube_version": kube_version.result(),
            "release": release_summary(history.result(), release, namespace),
            "user_values": {},
            "all_values": {},
            "deployments": deployments.result()[0],
            "pods": pods.result()[0],
            "replicasets": replicasets.result()[0],
            "configmap": None,
            "layout": default_layout(release),
            "mq_statefulsets": dict((family, sorted(obj["metadata"]["name"] for obj in future.result()[0]))
                                    for family, future in statefulsets.items()),
            "mq_statefulset_uids": dict((obj["metadata"]["name"], obj["metadata"].get("uid"))
                                        for future in statefulsets.values() for obj in future.result()[0]),
        }
        if observed["release"] is None:
            return keep_milvus_objects(observed)
        observed["user_values"] = user_values.result()
        observed["all_values"] = all_values.result()
    observed["layout"] = release_layout(release, observed["all_values"])
    # the ConfigMap the pods mount, named the way the chart names it (customConfigMap, else the fullname)
    observed["configmap"] = kube.read("ConfigMap", namespace, observed["layout"]["configmap"])
    return keep_milvus_objects(observed)


def keep_milvus_objects(observed):
    """Drop the listed objects that are not Milvus' (etcd, Kafka... of the same instance) (pure)."""
    name = observed["layout"]["name"]
    for key in ("deployments", "pods", "replicasets"):
        observed[key] = [obj for obj in observed[key] if component_of(obj, name)]
    return observed

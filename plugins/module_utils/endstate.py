# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a finished rollout that ask the cluster (the wait's end and preflight's up-to-date shortcut).

The proxy's /healthz and the message queue after the hop (the queue's StatefulSets, the Milvus ConfigMap and
the WAL names the streaming nodes report) are read here; the verdicts are mq.verify's and readiness.assess's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.milvusops.cluster.plugins.module_utils.mq import detect, parse_wal_names, verify
from ansible_collections.milvusops.cluster.plugins.module_utils.names import MQ_FAMILIES, mq_statefulset_selector
from ansible_collections.milvusops.cluster.plugins.module_utils.ordering import paused_deployments
from ansible_collections.milvusops.cluster.plugins.module_utils.readiness import READY, assess, component_of
from ansible_collections.milvusops.cluster.plugins.module_utils.redact import redact_url_userinfo

METRICS_PORT = 9091
# what a finished 2.6 release no longer has
REMOVED_AFTER_UPGRADE = ("rootcoord", "querycoord", "datacoord", "indexcoord", "indexnode")


def fullname_from(deployments):
    """The chart's fullname, read back from the proxy Deployment (<fullname>-proxy)."""
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        if name.endswith("-proxy"):
            return name[:-len("-proxy")]
    return None


def healthz(kube, namespace, layout, deployments):
    """(serving, what the proxy answered): GET /healthz of the proxy Service must answer 200 OK."""
    service = (layout or {}).get("fullname") or fullname_from(deployments)
    if service is None:
        return False, "no proxy Deployment found for /healthz"
    status, body = kube.proxy_get("Service", namespace, service, METRICS_PORT, "healthz")
    return (status == 200 and (body or "").strip().startswith("OK"),
            "proxy /healthz answered %s %s" % (status, (body or "").strip()[:120]))


def message_queue_problems(kube, namespace, release, layout, expected, deployments, pods):
    """mq.verify of the queue found now (StatefulSets, ConfigMap, WAL names) against expected; [] when kept."""
    name = (layout or {}).get("name") or "milvus"
    statefulsets, uids = {}, {}
    for family in MQ_FAMILIES:
        items = kube.list("StatefulSet", namespace, mq_statefulset_selector(release, family))[0]
        statefulsets[family] = sorted(item["metadata"]["name"] for item in items)
        uids.update((item["metadata"]["name"], item["metadata"].get("uid")) for item in items)
    # the ConfigMap preflight read: the one the pods mount (customConfigMap, else the fullname)
    configmap_name = (layout or {}).get("configmap") or (layout or {}).get("fullname") or \
        fullname_from(deployments) or release
    configmap = kube.read("ConfigMap", namespace, configmap_name)
    after = detect(None, configmap, statefulsets, release, statefulset_uids=uids)
    wal_names = None
    streaming_pods = [pod for pod in pods if component_of(pod, release, name) == "streamingnode"]
    if streaming_pods:
        wal_names = []
        for pod in streaming_pods:
            status, body = kube.proxy_get("Pod", namespace, pod["metadata"]["name"], METRICS_PORT, "metrics")
            if status == 200:
                wal_names.extend(wal for wal in parse_wal_names(body) if wal not in wal_names)
    return [redact_url_userinfo(problem) for problem in verify(expected, after, wal_names)]


def settled(kube, namespace, release, layout, expected_image, message_queue, deployments, replicasets, pods):
    """{"settled", "waiting_for"}: whether a release with no hop left is finished, from one read of it.

    Settled means what the wait would end on at once: every Milvus component ready on expected_image, no
    removed component left, nothing paused, the proxy serving and the message queue the one preflight found.
    Anything else is left to the wait, which resumes, waits and fails with the full story.
    """
    name = (layout or {}).get("name") or "milvus"
    verdict = assess(deployments, replicasets, pods, expected_image, None, REMOVED_AFTER_UPGRADE, release, name)
    waiting = list(verdict["waiting_for"]) + ["%s: Deployment %s is paused" % (entry["component"], entry["deployment"])
                                              for entry in paused_deployments(deployments, release, name)]
    if verdict["state"] != READY or waiting:
        return {"settled": False, "waiting_for": waiting or ["state %s" % verdict["state"]]}
    serving, answer = healthz(kube, namespace, layout, deployments)
    if not serving:
        return {"settled": False, "waiting_for": [answer]}
    problems = message_queue_problems(kube, namespace, release, layout, message_queue, deployments, pods) \
        if message_queue else []
    return {"settled": not problems, "waiting_for": problems}

# -*- coding: utf-8 -*-
"""readiness.restart_counts / restarts_since: the stability window after a hop turned ready."""
from __future__ import absolute_import, division, print_function

from ansible_collections.milvusops.cluster.plugins.module_utils.readiness import restart_counts, restarts_since

from factories import pod

IMAGE = "milvusdb/milvus:v2.6.4"


def test_a_release_that_stays_as_it_was_has_no_failures():
    pods = [pod("streamingnode", image=IMAGE), pod("proxy", image=IMAGE, restarts=2)]
    assert restarts_since(restart_counts(pods), pods) == []


def test_a_restart_after_turning_ready_names_the_pod_the_container_and_the_reason():
    before = [pod("streamingnode", image=IMAGE, restarts=1), pod("proxy", image=IMAGE)]
    baseline = restart_counts(before)
    after = [pod("streamingnode", image=IMAGE, restarts=2,
                 last_terminated={"reason": "OOMKilled", "exitCode": 137}), pod("proxy", image=IMAGE)]
    failures = restarts_since(baseline, after)
    assert len(failures) == 1
    failure = failures[0]
    assert failure["pod"] == before[0]["metadata"]["name"] and failure["container"] == "streamingnode"
    assert failure["reason"] == "OOMKilled"
    assert "1 -> 2" in failure["message"] and "exit code 137" in failure["message"]


def test_a_crash_counts_before_the_restart_count_moves():
    baseline = restart_counts([pod("querynode", image=IMAGE)])
    crashing = [pod("querynode", image=IMAGE, waiting="CrashLoopBackOff", waiting_message="back-off 10s")]
    failures = restarts_since(baseline, crashing)
    assert [f["reason"] for f in failures] == ["CrashLoopBackOff"]
    terminated = [pod("querynode", image=IMAGE, terminated="Error")]
    assert [f["reason"] for f in restarts_since(baseline, terminated)] == ["Error"]


def test_a_pod_new_since_the_baseline_counts_from_zero_and_deleted_pods_are_not_judged():
    baseline = restart_counts([pod("datanode", image=IMAGE, index=0)])
    fresh = pod("datanode", image=IMAGE, index=1, restarts=1, last_terminated={"reason": "Error", "exitCode": 1})
    assert [f["pod"] for f in restarts_since(baseline, [fresh])] == [fresh["metadata"]["name"]]
    going = pod("datanode", image=IMAGE, index=2, restarts=3, deleting=True)
    assert restarts_since(baseline, [going]) == [] and restart_counts([going]) == {}

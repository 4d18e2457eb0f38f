# -*- coding: utf-8 -*-
"""The benchmark's pure parts (tests/bench): what is recorded of a run and the ordered / all-at-once comparison."""

from __future__ import absolute_import, division, print_function

import pytest

from tests.bench import analyse, report
from tests.bench.record import LISTED, ObjectRecorder

NS, RELEASE = "ns1", "rel"
LABELS = {"app.kubernetes.io/name": "milvus", "app.kubernetes.io/instance": RELEASE}


def deployment(name, generation, template="v2.5.16", paused=False, rolled=True):
    return {"metadata": {"name": name, "namespace": NS, "generation": generation, "labels": LABELS},
            "spec": {"replicas": 1, "paused": paused,
                     "template": {"spec": {"containers": [{"image": "milvusdb/milvus:" + template}]}}},
            "status": {"observedGeneration": generation, "replicas": 1, "availableReplicas": 1,
                       "updatedReplicas": 1 if rolled else 0}}


def pod(name, image, phase="Pending", ready=False, uid=None):
    return {"metadata": {"name": name, "namespace": NS, "uid": uid or name, "labels": LABELS},
            "spec": {"containers": [{"image": image}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def types(recorder):
    return [(e["type"], e["name"]) for e in recorder.events_since(NS, 0)]


def test_listed_objects_are_no_change_and_other_namespaces_are_ignored():
    rec = ObjectRecorder({NS: RELEASE})
    rec.observe("deployments", LISTED, deployment("rel-milvus-proxy", 3), 1.0)
    rec.observe("pods", LISTED, pod("rel-milvus-proxy-a", "m:v2.5.16", "Running", True), 1.0)
    other = deployment("x", 1)
    other["metadata"]["namespace"] = "elsewhere"
    rec.observe("deployments", "ADDED", other, 2.0)
    assert rec.record(NS) == {"deployments": ["rel-milvus-proxy"], "writes": [], "revisions": []}
    assert types(rec) == []


def test_a_pause_and_a_resume_write_the_spec_but_only_a_new_template_rolls_out():
    rec = ObjectRecorder({NS: RELEASE})
    rec.observe("deployments", LISTED, deployment("rel-milvus-proxy", 3), 1.0)
    rec.observe("deployments", "MODIFIED", deployment("rel-milvus-proxy", 4, paused=True), 2.0)       # pause
    rec.observe("deployments", "MODIFIED", deployment("rel-milvus-proxy", 5, "v2.6.4", True, False), 3.0)   # helm
    rec.observe("deployments", "MODIFIED", deployment("rel-milvus-proxy", 6, "v2.6.4", False, False), 4.0)  # resume
    rec.observe("deployments", "MODIFIED", deployment("rel-milvus-proxy", 6, "v2.6.4"), 5.0)           # rolled out
    rec.observe("deployments", "MODIFIED", deployment("rel-milvus-proxy", 6, "v2.6.4"), 6.0)           # status again
    assert [w[0] for w in rec.record(NS)["writes"]] == [2.0, 3.0, 4.0]
    assert [(e["ts"], e["type"]) for e in rec.events_since(NS, 0)] == [(5.0, "DeploymentRolloutComplete")]


def test_pods_turning_running_and_ready_carry_their_image_and_a_deletion_is_recorded():
    rec = ObjectRecorder({NS: RELEASE})
    rec.observe("pods", "ADDED", pod("rel-milvus-proxy-b", "m:v2.6.4"), 1.0)
    rec.observe("pods", "MODIFIED", pod("rel-milvus-proxy-b", "m:v2.6.4", "Running"), 2.0)
    rec.observe("pods", "MODIFIED", pod("rel-milvus-proxy-b", "m:v2.6.4", "Running", True), 3.0)
    rec.observe("pods", "MODIFIED", pod("rel-milvus-proxy-b", "m:v2.6.4", "Running", True), 4.0)
    rec.observe("pods", "DELETED", pod("rel-milvus-proxy-b", "m:v2.6.4", "Running", True), 5.0)
    events = rec.events_since(NS, 0)
    assert [(e["ts"], e["type"], e["image"]) for e in events] == [
        (2.0, "PodRunning", "m:v2.6.4"), (3.0, "PodReady", "m:v2.6.4"), (5.0, "PodDeleted", "m:v2.6.4")]
    assert rec.events_since(NS, 2.5)[0]["type"] == "PodReady"


def test_helm_revisions_of_the_release_only():
    rec = ObjectRecorder({NS: RELEASE})
    for name in ("sh.helm.release.v1.rel.v3", "sh.helm.release.v1.other.v4", "sh.helm.release.v1.rel.vx"):
        rec.observe("secrets", "ADDED", {"metadata": {"name": name, "namespace": NS}}, 7.0)
    assert rec.record(NS)["revisions"] == [(7.0, 3)]


def _record(revisions, writes):
    return {"deployments": ["rel-milvus-proxy", "rel-milvus-indexnode"], "revisions": revisions, "writes": writes}


def _ev(ts, etype, name, image=None):
    return {"ts": ts, "type": etype, "kind": "Pod", "name": name, "image": image}


# hop 1 (rev 2, with hop 2's pauses written before rev 3), hop 2 (rev 3) and its last step (rev 4)
ORDERED = _record([(10.0, 2), (20.0, 3), (40.0, 4), (0.0, 1)],
                  [(11.0, "MODIFIED", "rel-milvus-proxy"), (18.0, "MODIFIED", "rel-milvus-proxy"),
                   (21.0, "MODIFIED", "rel-milvus-proxy"), (41.0, "DELETED", "rel-milvus-indexnode")])
ORDERED_EVENTS = [_ev(15.0, "PodReady", "rel-milvus-proxy-a", "m:v2.5.16"),
                  _ev(24.0, "PodRunning", "rel-milvus-proxy-b", "m:v2.6.4"),
                  _ev(30.0, "PodReady", "rel-milvus-proxy-b", "m:v2.6.4"),
                  _ev(44.0, "PodDeleted", "rel-milvus-indexnode-c", "m:v2.5.16")]


def test_the_ordered_hop_2s_last_step_is_part_of_hop_2():
    windows = analyse.hop_windows(ORDERED, ORDERED_EVENTS, 5.0, hops=2)
    assert [(w["hop"], w["revision"], w["start"], w["end"], w["steps"]) for w in windows] == [
        (1, 2, 11.0, 15.0, 1), (2, 3, 21.0, 44.0, 2)]
    assert windows[1]["rollout_seconds"] == 23.0 and windows[1]["writes_end"] == 41.0
    assert len(analyse.hop_windows(ORDERED, ORDERED_EVENTS, 5.0)) == 3      # unfolded
    assert analyse.floor_seconds(windows) == 27.0


def test_the_write_outage_runs_from_the_first_new_pod_running_to_the_last_new_pod_ready():
    window = {"start": 21.0}
    events = ORDERED_EVENTS + [_ev(26.0, "PodRunning", "rel-milvus-mixcoord-d", "m:v2.6.4"),
                               _ev(35.0, "PodReady", "rel-milvus-mixcoord-d", "m:v2.6.4"),
                               _ev(36.0, "PodReady", "rel-milvus-querynode-e", "m:v2.6.4-gpu")]
    assert analyse.write_outage(events, window, "v2.6.4") == 11.0
    assert analyse.write_outage(events, {"start": 50.0}, "v2.6.4") is None
    assert analyse.write_outage(events, None, "v2.6.4") is None


def test_the_outage_our_report_gives_for_hop_2():
    cluster = {"hops_applied": [{"name": "mixcoord", "rollout": {"write_outage_seconds": 0.0}},
                                {"name": "streaming", "rollout": {"write_outage_seconds": 12.5}}]}
    assert analyse.reported_outage(cluster) == 12.5
    assert analyse.reported_outage({"hops_applied": [{"name": "mixcoord"}]}) is None
    assert analyse.reported_outage(None) is None


def _run(wall, **figures):
    return dict({"wall_seconds": wall, "ok": True, "cpu": {"controller_cpu_seconds": 20.0}}, **figures)


def test_the_ordered_comparison_gives_both_kinds_and_their_ratio():
    entry = {"size": 2, "delay": 5.0, "runs": {
        "ours": [_run(60.0, hop2_seconds=30.0, write_outage_seconds=24.0, requests_per_cluster=700),
                 _run(50.0, hop2_seconds=32.0, write_outage_seconds=26.0, requests_per_cluster=700)],
        "ours-all-at-once": [_run(40.0, hop2_seconds=10.0, write_outage_seconds=8.0, requests_per_cluster=500),
                             _run(50.0, hop2_seconds=10.0, write_outage_seconds=8.0, requests_per_cluster=500)]}}
    report.derive(entry)
    comparison = report.ordered_comparison(entry)
    assert comparison["wall_seconds"] == (55.0, 45.0, 1.25)       # median of 60/40 and 50/50
    assert comparison["hop2_seconds"] == (31.0, 10.0, 3.1)
    assert comparison["write_outage_seconds"] == (25.0, 8.0, 3.12)
    assert comparison["cpu_per_cluster"] == (10.0, 10.0, 1.0)
    assert comparison["requests_per_cluster"] == (700, 500, 1.4)
    assert comparison["reported_write_outage_seconds"] == (None, None, None)
    del entry["summary"]["ours-all-at-once"]
    assert report.ordered_comparison(entry) is None


def test_detection_of_a_hop_of_several_steps_is_its_last_steps_ready_result():
    windows = analyse.hop_windows(ORDERED, ORDERED_EVENTS, 5.0, hops=2)
    # one ready result per step: hop 1, hop 2, hop 2's last step
    assert analyse.detection(windows, [15.5, 31.0, 44.25], [0, 0]) == [0.5, 0.25]
    assert analyse.detection(windows, [15.5, 31.0], [0, 0]) == [0.5, None]


def _measured(wall, cpu, size, floor=None, detections=(), rerun=None):
    run = {"wall_seconds": wall, "ok": True, "cpu": {"controller_cpu_seconds": cpu * size, "cpus": 2},
           "floor_seconds": floor, "detection": {"values": list(detections)}}
    if rerun:
        run["rerun"] = {"wall_seconds": rerun[0], "ok": True, "cpu": {"controller_cpu_seconds": rerun[1] * size},
                        "helm": {"per_cluster_calls": 4}, "module_starts": {"per_cluster": 0},
                        "tasks_per_cluster": {"ran": 5, "skipped": 1}}
    return run


def _entry(size, delay, ours, peer):
    return report.derive({"size": size, "delay": delay, "runs": {"ours": ours, "peer": peer}})


def _by_target(found):
    return dict((t["target"], t) for t in found)


def test_the_targets_compare_ours_with_the_peer_per_size_and_delay():
    one = _entry(1, 5.0, [_measured(40.0, 4.0, 1, floor=36.0, detections=[0.2, 0.3], rerun=(3.0, 1.0))],
                 [_measured(50.0, 6.0, 1, rerun=(9.0, 3.0))])
    four = _entry(4, 5.0, [_measured(60.0, 5.0, 4, floor=40.0, detections=[0.6, 0.7], rerun=(8.0, 4.0))],
                  [_measured(50.0, 6.0, 4, rerun=(6.0, 3.0))])
    found = _by_target(report.targets([one, four], settle=0))
    assert found["upgrade CPU-s/cluster <= 0.8x the peer's (1 cl, 5 s)"]["measured"] == 0.67
    assert found["upgrade CPU-s/cluster <= 0.8x the peer's (1 cl, 5 s)"]["met"] is True
    assert found["upgrade CPU-s/cluster <= 0.8x the peer's (4 cl, 5 s)"]["met"] is False   # 5/6 = 0.83
    assert found["upgrade wall <= the peer's (1 cl, 5 s)"]["measured"] == 0.8
    assert found["upgrade wall <= the peer's (4 cl, 5 s)"]["met"] is False
    assert found["re-run CPU-s/cluster <= the peer's (1 cl, 5 s)"]["met"] is True
    assert found["re-run CPU-s/cluster <= the peer's (4 cl, 5 s)"]["measured"] == 1.33
    assert found["re-run wall <= the peer's (4 cl, 5 s)"]["met"] is False
    assert found["detection latency median < 0.5 s"]["measured"] == pytest.approx(0.45)  # of 0.2 0.3 0.6 0.7
    assert found["single cluster at 5 s delay < 1.25x the floor (settle 0)"]["measured"] == 1.11
    assert found["16 clusters within 1.15x of max(floor, CPU bound)"]["met"] is None       # not measured


def test_the_16_cluster_target_takes_the_larger_of_the_floor_and_the_cpu_bound():
    cpu_bound = _entry(16, 0.0, [_measured(44.0, 5.0, 16, floor=30.0)], [])   # 5 CPU-s x 16 / 2 cores = 40 s
    floor_bound = _entry(16, 5.0, [_measured(60.0, 1.0, 16, floor=50.0)], [])  # 8 s of CPU, 50 s floor
    found = _by_target(report.targets([cpu_bound, floor_bound], settle=0))
    assert found["16 clusters within 1.15x of max(floor, CPU bound) (0 s delay)"]["measured"] == 1.1
    assert found["16 clusters within 1.15x of max(floor, CPU bound) (5 s delay)"]["measured"] == 1.2
    assert found["16 clusters within 1.15x of max(floor, CPU bound) (5 s delay)"]["met"] is False


def test_the_floor_target_needs_settle_zero():
    one = _entry(1, 5.0, [_measured(40.0, 4.0, 1, floor=36.0)], [])
    found = _by_target(report.targets([one], settle=30))
    assert found["single cluster at 5 s delay < 1.25x the floor (settle 0)"]["met"] is None


def test_the_16_cluster_note_gives_the_bound_with_the_simulators_cpu():
    run = _measured(60.0, 5.0, 16, floor=30.0)                      # 80 controller CPU-s
    run["cpu"]["kubesim_cpu_seconds"] = 20.0                        # + 20 of kubesim = 50 s on 2 cores
    found = _by_target(report.targets([_entry(16, 0.0, [run], [])], settle=0))
    assert "with kubesim's own 20.0 CPU-s on the same cores: 50.0 s (x1.20)" in \
        found["16 clusters within 1.15x of max(floor, CPU bound) (0 s delay)"]["note"]


def test_each_play_is_reported_with_the_strategy_it_ran():
    timing = [
        {"event": "playbook_start"},
        {"event": "play_start", "play": "Upgrade the canary clusters first", "strategy": "linear"},
        {"event": "task_start", "task": "Preflight"},
        {"event": "play_start", "play": "Upgrade the rest of the fleet", "strategy": "ansible.builtin.free"},
        {"event": "ok", "host": "a", "task": "Preflight"},
        {"event": "play_start", "play": "Write the fleet report", "strategy": "linear"},
    ]
    assert list(analyse.play_strategies(timing).items()) == [
        ("Upgrade the canary clusters first", "linear"),
        ("Upgrade the rest of the fleet", "ansible.builtin.free"),
        ("Write the fleet report", "linear"),
    ]
    assert analyse.play_strategies([{"event": "playbook_start"}]) == {}

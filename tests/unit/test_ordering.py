# -*- coding: utf-8 -*-
"""The ordered hop 2: what is paused before helm, what is resumed next, what the wait and the report say."""
from __future__ import absolute_import, division, print_function

import itertools

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils import ordering
from ansible_collections.milvusops.cluster.plugins.module_utils.hop import rollout_lines
from ansible_collections.milvusops.cluster.plugins.module_utils.plan import describe, plan
from ansible_collections.milvusops.cluster.plugins.module_utils.readiness import assess, new_image_running

ORDER = list(ordering.ROLLOUT_ORDER)
NODES = ["mixcoord", "streamingnode", "querynode", "datanode", "proxy"]


def drive(order, paused, extra_components=()):
    """Resume step by step as the wait does, each resumed component turning ready before the next look.

    Returns the components in the order they were resumed, and the states seen when each was resumed."""
    states = dict((c, {"state": "rolling" if c in paused else "ready"}) for c in list(NODES) + list(extra_components))
    paused = set(paused)
    resumed = []
    for _ in range(20):
        batch = ordering.to_resume(order, states, paused)
        if not batch:
            # nothing may be resumed while something is rolling only because an earlier one is not ready yet
            break
        for component in batch:
            before = [c for c in order if c in states and order.index(c) < order.index(component)] \
                if component in order else [c for c in order if c in states]
            assert all(states[c]["state"] == "ready" for c in before), (component, states)
            paused.discard(component)
            resumed.append(component)
        for component in batch:      # the rollout of what was resumed completes
            states[component] = {"state": "ready"}
    return resumed, paused


@pytest.mark.parametrize("paused", [set(combo) for size in range(len(NODES) + 1)
                                    for combo in itertools.combinations(sorted(set(NODES) - {"streamingnode"}), size)],
                         ids=lambda p: "+".join(sorted(p)) or "none")
def test_every_set_of_paused_components_is_resumed_one_at_a_time_in_the_documented_order(paused):
    resumed, left = drive(ORDER, paused)
    assert resumed == [c for c in ORDER if c in paused]
    assert left == set()


def test_nothing_is_resumed_while_the_component_before_it_is_still_rolling():
    states = {"mixcoord": {"state": "ready"}, "streamingnode": {"state": "rolling"}, "querynode": {"state": "rolling"},
              "datanode": {"state": "rolling"}, "proxy": {"state": "rolling"}}
    # the streaming node (never paused: helm creates it) must be ready before querynode is resumed
    assert ordering.to_resume(ORDER, states, {"querynode", "datanode", "proxy"}) == []
    states["streamingnode"] = {"state": "ready"}
    assert ordering.to_resume(ORDER, states, {"querynode", "datanode", "proxy"}) == ["querynode"]
    # a failed component stops the order too (the wait fails fast on it)
    states["querynode"] = {"state": "failed"}
    assert ordering.to_resume(ORDER, states, {"datanode", "proxy"}) == []


def test_components_the_release_lacks_are_skipped_and_unknown_paused_ones_go_last_together():
    states = {"mixcoord": {"state": "ready"}, "proxy": {"state": "rolling"}, "attu": {"state": "rolling"},
              "custom": {"state": "rolling"}}
    assert ordering.to_resume(ORDER, states, {"proxy", "attu", "custom"}) == ["proxy"]
    states["proxy"] = {"state": "ready"}
    assert ordering.to_resume(ORDER, states, {"attu", "custom"}) == ["attu", "custom"]
    # an empty order (all at once) resumes every paused one at once
    assert ordering.to_resume([], states, {"proxy", "custom", "indexnode"}) == ["custom", "indexnode", "proxy"]


def test_only_the_release_s_paused_milvus_deployments_are_found_and_ours_are_told_apart():
    deployments, _, _ = f.rollout(["proxy", "querynode", "datanode"])
    deployments[0]["spec"]["paused"] = True
    deployments[0]["metadata"]["annotations"][ordering.PAUSED_ANNOTATION] = "hop streaming"
    deployments[1]["spec"]["paused"] = True
    other = f.deployment("proxy", release="other")
    other["spec"]["paused"] = True
    pulsar = f.deployment("proxy", name="rel-pulsar-proxy")
    pulsar["metadata"]["labels"]["app.kubernetes.io/name"] = "pulsar"
    pulsar["spec"]["paused"] = True
    found = ordering.paused_deployments(deployments + [other, pulsar], "rel")
    assert found == [
        {"component": "proxy", "deployment": "rel-milvus-proxy", "by_us": True, "hop": "hop streaming"},
        {"component": "querynode", "deployment": "rel-milvus-querynode", "by_us": False, "hop": None}]


def test_only_milvus_deployments_the_hop_changes_are_paused_in_rollout_order():
    rendered, _, _ = f.rollout(["proxy", "querynode", "mixcoord", "streamingnode", "datanode"])
    rendered.append(dict(f.deployment("proxy", name="rel-pulsar-proxy"), kind="Deployment"))
    rendered[-1]["metadata"]["labels"]["app.kubernetes.io/name"] = "pulsar"
    changed = [{"kind": "Deployment", "name": name} for name in (
        "rel-milvus-proxy", "rel-milvus-querynode", "rel-milvus-mixcoord", "rel-pulsar-proxy")] + [
        {"kind": "ConfigMap", "name": "rel-milvus-datanode"}]   # same name, another kind: not a Deployment change
    targets = ordering.deployments_to_pause(changed, rendered, "rel")
    # mixcoord, first in the order, waits for nothing: it rolls out with helm's write
    assert [t["component"] for t in targets] == ["querynode", "proxy"]
    # the streaming node is added by the hop (not in changed): helm creates it running
    assert ordering.deployments_to_pause(changed, rendered, "other") == []


@pytest.mark.parametrize("present", [list(combo) for size in range(1, len(NODES) + 2)
                                     for combo in itertools.combinations(NODES + ["attu"], size)],
                         ids=lambda p: "+".join(p))
def test_a_changed_deployment_is_paused_exactly_when_the_wait_would_not_let_it_roll_at_once(present):
    """Every release shape (any components of the order, and one outside it): what the hop leaves unpaused is what
    the wait's to_resume() would resume at once with everything changed and rolling, so pausing it would only
    delay it; everything else is paused."""
    rendered, _, _ = f.rollout(present)
    changed = [{"kind": "Deployment", "name": obj["metadata"]["name"]} for obj in rendered]
    paused = [t["component"] for t in ordering.deployments_to_pause(changed, rendered, "rel")]
    assert paused == sorted(paused, key=ordering.rollout_position)
    rolling = dict((component, {"state": "rolling"}) for component in present)
    assert sorted(set(present) - set(paused)) == sorted(ordering.to_resume(ORDER, rolling, present))
    # with the order given by the caller: the first of that order is the one left to helm
    reversed_order = tuple(reversed(ORDER))
    paused = [t["component"] for t in ordering.deployments_to_pause(changed, rendered, "rel", order=reversed_order)]
    assert sorted(set(present) - set(paused)) == sorted(ordering.to_resume(reversed_order, rolling, present))


def test_pause_and_resume_patches_set_and_remove_the_field_and_our_note():
    assert ordering.pause_patch("streaming") == {
        "metadata": {"annotations": {ordering.PAUSED_ANNOTATION: "hop streaming"}}, "spec": {"paused": True}}
    assert ordering.resume_patch() == {"metadata": {"annotations": {ordering.PAUSED_ANNOTATION: None}},
                                       "spec": {"paused": None}}


def test_waiting_lines_say_what_each_paused_component_waits_for():
    lines = ordering.paused_waiting(ORDER, ["proxy", "querynode"])
    assert lines == [
        "querynode: paused until mixcoord, streamingnode are rolled out",
        "proxy: paused until mixcoord, streamingnode, querynode, datanode are rolled out"]
    assert ordering.paused_waiting(ORDER, ["mixcoord"]) == ["mixcoord: paused until the components before it are rolled out"]
    assert ordering.paused_waiting(ORDER, ["proxy"], check_mode=True) == ["proxy: paused (check mode resumes nothing)"]
    kept = [{"component": "indexnode", "deployment": "rel-milvus-indexnode"}]
    assert ordering.kept_waiting(kept) == [
        "indexnode: Deployment rel-milvus-indexnode kept on its old version (deleted once every other component is "
        "rolled out)"]
    assert ordering.kept_waiting(kept, check_mode=True)[0].endswith("(check mode deletes nothing)")


def test_the_failure_sentence_names_every_paused_deployment_and_how_to_go_on():
    assert ordering.still_paused_message([]) == ""
    text = ordering.still_paused_message([{"component": "proxy", "deployment": "rel-milvus-proxy"},
                                          {"component": "datanode", "deployment": "rel-milvus-datanode"}])
    assert "rel-milvus-datanode (datanode), rel-milvus-proxy (proxy)" in text
    assert "next run resumes them in order" in text and "kubectl rollout resume" in text
    # in rollout order, whatever order they come in; the kept ones said after them
    text = ordering.still_paused_message([{"component": "proxy", "deployment": "rel-milvus-proxy"},
                                          {"component": "mixcoord", "deployment": "rel-milvus-mixcoord"}],
                                         [{"component": "indexnode", "deployment": "rel-milvus-indexnode"}])
    assert text.startswith("Still paused: rel-milvus-mixcoord (mixcoord), rel-milvus-proxy (proxy). ")
    assert text.endswith("; rel-milvus-indexnode (indexnode) is kept on the old version (annotation %s); the next "
                         "run deletes it once every component runs the new one" % ordering.KEPT_ANNOTATION)
    assert ordering.still_paused_message([], [{"component": "indexnode", "deployment": "i"},
                                              {"component": "indexnode", "deployment": "j"}]).startswith(
        "i (indexnode), j (indexnode) are kept on the old version")


def test_timeline_counts_from_the_hop_start_and_the_outage_from_the_first_new_pod_to_the_last_ready():
    result = ordering.timeline(100.0, {"mixcoord": 102.0, "querynode": 120.0},
                               {"mixcoord": 110.0, "streamingnode": 112.5, "querynode": 130.0}, 104.0)
    assert list(result["components"]) == ["mixcoord", "streamingnode", "querynode"]
    assert result["components"]["mixcoord"] == {"resumed": 2.0, "ready": 10.0}
    assert result["components"]["streamingnode"] == {"resumed": None, "ready": 12.5}
    assert result["new_version_started"] == 4.0
    assert result["write_outage_seconds"] == 26.0
    assert ordering.timeline(100.0, {}, {}, None)["write_outage_seconds"] is None


def test_a_kept_index_node_is_a_removed_component_still_present_until_deleted():
    old_deps, old_rs, old_pods = f.rollout(["indexnode"], image="milvusdb/milvus:v2.5.16")
    new_deps, new_rs, new_pods = f.rollout(["proxy", "mixcoord"], image="milvusdb/milvus:v2.6.4")
    deps, rss, pods = old_deps + new_deps, old_rs + new_rs, old_pods + new_pods
    kept = assess(deps, rss, pods, "milvusdb/milvus:v2.6.4", ["proxy", "mixcoord"], ["indexnode"], "rel")
    assert kept["state"] == "rolling" and kept["components"]["indexnode"]["state"] == "removing"
    # the rest is rolled out: the kept one may go now
    assert ordering.to_delete(kept["components"], [], [{"component": "indexnode"}], ["indexnode"]) == [
        {"component": "indexnode"}]
    gone = assess(new_deps, new_rs, new_pods, "milvusdb/milvus:v2.6.4", ["proxy", "mixcoord"], ["indexnode"], "rel")
    assert gone["state"] == "ready"


STATES = ("ready", "rolling", "failed", "removing")


@pytest.mark.parametrize("states", list(itertools.product(STATES, repeat=3)), ids="-".join)
@pytest.mark.parametrize("paused", [[], [{"component": "proxy", "deployment": "p"}]], ids=["none-paused", "paused"])
def test_kept_deployments_are_deleted_only_once_nothing_is_paused_and_every_other_component_is_ready(states, paused):
    components = {"mixcoord": {"state": states[0]}, "proxy": {"state": states[1]}, "indexnode": {"state": states[2]}}
    kept = [{"component": "indexnode", "deployment": "i", "uid": "1"},
            {"component": "querynode", "deployment": "q", "uid": "2"}]    # kept, but this hop does not remove it
    removed = ["indexnode", "rootcoord"]
    deleted = ordering.to_delete(components, paused, kept, removed)
    others_ready = states[0] == "ready" and states[1] == "ready"     # indexnode's own state does not matter
    assert deleted == ([kept[0]] if others_ready and not paused else [])


def test_only_the_release_s_milvus_deployments_the_hop_removes_are_kept():
    live, _, _ = f.rollout(["proxy", "indexnode", "datanode"])
    other = dict(f.deployment("indexnode", release="other"), kind="Deployment")
    removed = [{"kind": "Deployment", "name": "rel-milvus-indexnode"}, {"kind": "Deployment", "name": "rel-milvus-datanode"},
               {"kind": "ConfigMap", "name": "rel-milvus-proxy"}, {"kind": "Deployment", "name": other["metadata"]["name"]}]
    assert ordering.deployments_to_keep(removed, live + [other], "rel", ["indexnode"]) == [
        {"component": "indexnode", "deployment": "rel-milvus-indexnode"}]
    # a kept component the hop does not remove is left to helm; no kept components: nothing kept
    assert ordering.deployments_to_keep(removed[1:], live, "rel", ["indexnode"]) == []
    assert ordering.deployments_to_keep(removed, live, "rel", []) == []


def test_kept_deployments_are_found_by_our_annotation_on_the_release_s_milvus_deployments_only():
    deployments, _, _ = f.rollout(["proxy", "indexnode"])
    for deployment in deployments:
        deployment["metadata"]["uid"] = "uid-" + deployment["metadata"]["name"]
    deployments[1]["metadata"]["annotations"].update(ordering.keep_patch("streaming")["metadata"]["annotations"])
    plain_keep = f.deployment("querynode")
    plain_keep["metadata"]["annotations"][ordering.HELM_RESOURCE_POLICY] = "keep"   # the user's: not ours to delete
    other = f.deployment("indexnode", release="other")
    other["metadata"]["annotations"][ordering.KEPT_ANNOTATION] = "hop streaming"
    going = f.deployment("datanode")
    going["metadata"]["annotations"][ordering.KEPT_ANNOTATION] = "hop streaming"
    going["metadata"]["deletionTimestamp"] = "2026-12-03T10:00:00Z"
    assert ordering.kept_deployments(deployments + [plain_keep, other, going], "rel") == [
        {"component": "indexnode", "deployment": "rel-milvus-indexnode", "uid": "uid-rel-milvus-indexnode",
         "hop": "hop streaming"}]
    assert ordering.keep_patch("streaming") == {"metadata": {"annotations": {
        "helm.sh/resource-policy": "keep", ordering.KEPT_ANNOTATION: "hop streaming"}}}


def test_the_new_version_counts_as_started_once_one_of_its_pods_runs():
    _, _, old = f.rollout(["proxy"], image="milvusdb/milvus:v2.5.16")
    assert not new_image_running(old, "milvusdb/milvus:v2.6.4", "rel")
    waiting = f.pod("streamingnode", image="milvusdb/milvus:v2.6.4", waiting="ContainerCreating")
    assert not new_image_running(old + [waiting], "milvusdb/milvus:v2.6.4", "rel")
    running = f.pod("streamingnode", image="milvusdb/milvus:v2.6.4", ready=False)
    assert new_image_running(old + [running], "milvusdb/milvus:v2.6.4", "rel")
    assert not new_image_running(old + [running], "milvusdb/milvus:v2.6.4", "another-release")


def test_rollout_lines_show_the_pauses_the_order_and_what_is_kept():
    lines = rollout_lines(ORDER, [{"component": "mixcoord", "deployment": "rel-milvus-mixcoord"}],
                          [{"component": "indexnode", "deployment": "rel-milvus-indexnode"}])
    assert lines[0] == "pause before helm upgrade: rel-milvus-mixcoord (mixcoord)"
    assert "mixcoord -> streamingnode -> querynode -> datanode -> proxy" in lines[1]
    assert lines[2] == ("keep (helm.sh/resource-policy=keep) on the old version, deleted once the rest is rolled out: "
                        "rel-milvus-indexnode (indexnode)")
    assert len(rollout_lines(ORDER, [], [])) == 2
    assert rollout_lines([], [], []) == []


def test_preflight_warns_about_our_paused_deployments_and_blocks_on_anyone_else_s():
    observed = f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="5.0.0")
    for deployment in observed["deployments"]:
        if deployment["metadata"]["labels"]["component"] in ("proxy", "datanode"):
            deployment["spec"]["paused"] = True
            deployment["metadata"]["annotations"][ordering.PAUSED_ANNOTATION] = "hop streaming"
    result = plan(observed)
    assert result["blockers"] == []
    assert [e["component"] for e in result["paused_deployments"]] == ["datanode", "proxy"]
    assert any("rel-milvus-datanode (datanode), rel-milvus-proxy (proxy)" in w and "resumes them in order" in w
               for w in result["warnings"])
    for deployment in observed["deployments"]:
        if deployment["metadata"]["labels"]["component"] == "querynode":
            deployment["spec"]["paused"] = True
    blocked = plan(observed)
    assert any("rel-milvus-querynode are paused, and not by milvusops.cluster" in b and "kubectl rollout resume" in b
               for b in blocked["blockers"]), blocked["blockers"]
    assert blocked["hops"] == []


def test_a_release_without_an_index_node_keeps_nothing_and_the_plan_shows_the_order():
    result = plan(f.observed("v2.6.2", "streaming", "pulsar-v3", chart="5.0.0"))
    assert [h["name"] for h in result["hops"]] == ["streaming"]
    assert result["hops"][0]["kept_components"] == [] and result["hops"][0]["values"]["indexNode"] == {"enabled": False}
    ordered = plan(f.observed("v2.5.16", "mixcoord", "pulsar-v3", chart="4.2.58"))
    assert [h["name"] for h in ordered["hops"]] == ["streaming"]
    text = "\n".join(describe(ordered))
    assert "resumed one at a time: mixcoord -> streamingnode -> querynode -> datanode -> proxy" in text
    assert "indexnode kept on the old version until they are rolled out, then deleted" in text
    assert "hop 1 (streaming): chart 5.0.0, image v2.6.4; adds streamingnode; removes indexnode" in text


def test_an_index_node_kept_by_a_run_that_stopped_is_planned_through_hop_2_and_said():
    observed = f.observed("v2.6.4", "streaming", "pulsar-v3", chart="5.0.0")
    left = f.deployment("indexnode", image="milvusdb/milvus:v2.5.16")
    left["metadata"]["annotations"].update(ordering.keep_patch("streaming")["metadata"]["annotations"])
    observed["deployments"].append(left)
    result = plan(observed)
    assert result["blockers"] == [] and [h["name"] for h in result["hops"]] == ["streaming"]
    assert result["hops"][0]["kept_components"] == ["indexnode"]
    assert any("rel-milvus-indexnode (indexnode) were kept on the old version by an ordered hop that stopped (hop "
               "streaming): this run deletes them" in w for w in result["warnings"]), result["warnings"]


def test_a_failure_ends_with_what_is_still_paused_and_is_left_alone_when_nothing_is():
    assert ordering.ending_with_still_paused("hop streaming failed", []) == "hop streaming failed"
    text = ordering.ending_with_still_paused("hop streaming failed", [{"component": "proxy", "deployment": "p"}])
    assert text.startswith("hop streaming failed. Still paused: p (proxy). ")


@pytest.mark.parametrize("component, blocked", [("rootcoord", True), ("indexnode", True), ("proxy", False)])
def test_a_keep_policy_of_someone_else_on_a_deployment_a_hop_removes_blocks_before_anything_changes(component, blocked):
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20")
    for deployment in observed["deployments"]:
        if deployment["metadata"]["labels"]["component"] == component:
            deployment["metadata"]["annotations"][ordering.HELM_RESOURCE_POLICY] = "keep"
    result = plan(observed)
    refusals = [b for b in result["blockers"] if "helm.sh/resource-policy=keep" in b]
    if not blocked:      # the proxy stays in both hops: helm upgrades it, the keep policy changes nothing
        assert refusals == [] and [h["name"] for h in result["hops"]] == ["mixcoord", "streaming"]
        return
    assert len(refusals) == 1 and result["hops"] == []
    assert refusals[0].startswith("cluster ")
    assert "rel-milvus-%s (%s)" % (component, component) in refusals[0]
    assert "kubectl annotate deployment rel-milvus-%s -n milvus helm.sh/resource-policy-" % component in refusals[0]
    # ours (an ordered hop that stopped) is no refusal: the wait deletes it
    for deployment in observed["deployments"]:
        deployment["metadata"]["annotations"][ordering.KEPT_ANNOTATION] = "hop streaming"
    assert not [b for b in plan(observed)["blockers"] if "resource-policy" in b]

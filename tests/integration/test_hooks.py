"""Your tasks around each hop (milvus_pre_hop_tasks, milvus_post_hop_tasks), and the lock they cannot outlast.

One run for three clusters on the real control plane, the default ordered hop 2:
- `hooked`: the task files run before and after every planned hop, in order, and see the hop (`milvus_hop`)
  and, after it, its result;
- `robbed`: while its pre-hop tasks run before hop 2 (a backup that outlasted the lock, say), another run takes
  the upgrade lock. The hop renews the lock right before helm upgrade, so it stops there: hop 2 is not applied,
  the error names the other holder, and the other run's lock is left as it is;
- `unacked`: milvus_hop2_require_ack without milvus_hop2_ack stops before hop 2 and before the tasks that
  would have run before it (no backup for a hop that will not run).
"""

import pytest
import yaml

CLUSTERS = [("hooked", "v2516-mixcoord"), ("robbed", "v2516-mixcoord"), ("unacked", "v2516-mixcoord")]
THIEF = "other-controller/pid:1:1/another-upgrade"

# the hook log of a cluster: one line per hook, in the order they ran
PRE_HOP = [{
    "name": "Note the hop about to run",
    "ansible.builtin.lineinfile": {"path": "{{ hook_log_dir }}/{{ inventory_hostname }}.log", "create": True,
                                   "line": "{{ milvus_hop.name }} before"},
}, {
    # releasing our lock and taking it as someone else is what a milvus_lock_break_stale run elsewhere does
    # once a long backup has let the lock expire
    "name": "Another run takes the lock of this cluster",
    "when": "inventory_hostname == 'robbed' and milvus_hop.name == 'streaming'",
    "block": [
        {"milvusops.cluster.milvus_lock": {"holder": "{{ milvus_lock_holder }}", "state": "released"}},
        {"milvusops.cluster.milvus_lock": {"holder": THIEF, "purpose": "another upgrade", "duration": 600}},
    ],
}]
POST_HOP = [{
    "name": "Note the hop that ran",
    "ansible.builtin.lineinfile": {"path": "{{ hook_log_dir }}/{{ inventory_hostname }}.log",
                                   "line": "{{ milvus_hop.name }} after, revision {{ milvus_hop_result.revision_after }}"},
}]


@pytest.fixture(scope="module")
def run(make_harness):
    harness = make_harness(CLUSTERS)
    logs = harness.workdir / "hook-logs"
    logs.mkdir()
    for name, tasks in (("pre_hop.yml", PRE_HOP), ("post_hop.yml", POST_HOP)):
        (harness.workdir / name).write_text(yaml.safe_dump(tasks, sort_keys=False))
    hooks = {"milvus_pre_hop_tasks": str(harness.workdir / "pre_hop.yml"),
             "milvus_post_hop_tasks": str(harness.workdir / "post_hop.yml"), "hook_log_dir": str(logs)}
    host_vars = dict((name, dict(hooks)) for name, _ in CLUSTERS)
    host_vars["unacked"]["milvus_hop2_require_ack"] = True
    inventory = harness.inventory(extra_host_vars=host_vars, ordered_rollout=True)
    before = dict((name, harness.history(name)[-1]["revision"]) for name, _ in CLUSTERS)
    result = harness.playbook("upgrade", inventory=inventory, extra_vars={"milvus_upgrade_confirm": True})
    return harness, result, before, logs


def test_the_hook_files_run_around_every_hop_in_order_and_see_the_hop(run):
    harness, result, before, logs = run
    report = result.cluster_report("hooked")
    assert report["status"] == "upgraded", report
    planned = report["planned_hops"]
    assert planned[0] == "streaming" and len(planned) >= 1, planned
    expected = []
    for step, hop in enumerate(planned, start=1):
        expected += ["%s before" % hop, "%s after, revision %d" % (hop, before["hooked"] + step)]
    assert (logs / "hooked.log").read_text().splitlines() == expected
    assert [row["revision"] for row in harness.history("hooked")][-1] == before["hooked"] + len(planned)
    assert harness.milvus_images("hooked") == ["milvusdb/milvus:v2.6.4"]


def test_a_lock_taken_by_another_run_during_the_pre_hop_tasks_stops_the_hop_before_helm(run):
    harness, result, before, logs = run
    assert result.rc != 0
    report = result.cluster_report("robbed")
    assert report["status"] == "failed", report
    assert "lost the upgrade lock before helm upgrade" in report["error"], report["error"]
    assert THIEF in report["error"] and "nothing was changed" in report["error"]
    # hop 2 never reached helm: the release and its pods are as they were, and the post-hop tasks never ran
    assert [row["revision"] for row in harness.history("robbed")][-1] == before["robbed"]
    assert harness.milvus_images("robbed") == ["milvusdb/milvus:v2.5.16"]
    assert (logs / "robbed.log").read_text().splitlines() == ["streaming before"]
    member = harness.fleet["robbed"]
    lease = member.cluster.store.get("Lease", "milvusops-upgrade-%s" % member.release, member.namespace)
    assert lease["spec"]["holderIdentity"] == THIEF     # the other run's lock is not ours to release


def test_a_required_acknowledgement_stops_before_hop_2_and_its_pre_hop_tasks(run):
    harness, result, before, logs = run
    report = result.cluster_report("unacked")
    assert report["status"] == "failed", report
    assert "milvus_hop2_require_ack is set" in report["error"] and "milvus_hop2_ack=true" in report["error"]
    assert [row["revision"] for row in harness.history("unacked")][-1] == before["unacked"]
    assert harness.milvus_images("unacked") == ["milvusdb/milvus:v2.5.16"]
    assert not (logs / "unacked.log").exists()       # no pre-hop task ran for the hop that did not

"""The two-hop upgrade end to end: real ansible-playbook and real helm against a kubesim fleet.

One fleet, in the order an operator works: look (--check --diff), upgrade, run again.
"""

import pytest

CLUSTERS = [
    ("old-separate", "v2510-separate-pulsar2"),
    ("mixcoord-v3", "v2514-mixcoord-pulsar3"),
    ("at-2516", "v2516-mixcoord"),
    ("kafka", "v2516-kafka"),
    ("done", "v264-done"),
    ("gpu-private", "v2514-gpu-private"),
]
SEPARATE = {"rootcoord", "querycoord", "datacoord", "indexcoord"}


@pytest.fixture(scope="module")
def harness(make_harness):
    return make_harness(CLUSTERS)


@pytest.fixture(scope="module")
def before(harness):
    """Cluster state before anything ran: revisions and MQ StatefulSet uids."""
    state = {}
    for name, _ in CLUSTERS:
        state[name] = {
            "revision": harness.history(name)[-1]["revision"],
            "statefulsets": dict((n, o["metadata"]["uid"]) for n, o in harness.objects(name, "StatefulSet").items()),
        }
    return state


def milvus_deployments(harness, name):
    return dict((obj["metadata"]["labels"]["component"], obj)
                for obj in harness.objects(name, "Deployment").values()
                if obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "milvus")


def images(deployment):
    return [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]


def test_check_diff_shows_both_hops_and_changes_nothing(harness, before):
    run = harness.playbook("upgrade", "--check", "--diff")
    assert run.rc == 0, run.output
    for name, _ in CLUSTERS:
        assert harness.history(name)[-1]["revision"] == before[name]["revision"], name
    # both hops of the oldest cluster, with their values and object diffs
    assert "hop mixcoord -> chart 4.2.58" in run.output or "(mixcoord): chart 4.2.58" in run.output
    assert "(streaming): chart 5.0.0" in run.output
    assert "pulsar.enabled=true" in run.output and "pulsarv3.enabled=false" in run.output   # JSON, not Python
    assert "+ Deployment/rel-milvus-mixcoord" in run.output
    assert "- Deployment/rel-milvus-rootcoord" in run.output
    report = run.cluster_report("old-separate")
    assert report["status"] == "planned"
    assert report["planned_hops"] == ["mixcoord", "streaming"]


def test_upgrade_reaches_the_target_without_touching_the_message_queue(harness, before):
    requested_before = len(harness.fleet.repo.requests)
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True})
    assert run.rc == 0, run.output
    # each chart version is downloaded once for the whole run, however many clusters and helm calls use it
    downloads = [path.rsplit("/", 1)[-1] for path in harness.fleet.repo.requests[requested_before:]
                 if path.endswith(".tgz")]
    assert sorted(downloads) == ["milvus-4.2.58.tgz", "milvus-5.0.0.tgz"], downloads
    for name, _ in CLUSTERS:
        deployments = milvus_deployments(harness, name)
        assert not SEPARATE & set(deployments), (name, sorted(deployments))
        assert "indexnode" not in deployments, name
        assert {"mixcoord", "streamingnode", "proxy"} <= set(deployments), (name, sorted(deployments))
        for component, deployment in deployments.items():
            assert all(image.split(":")[-1].startswith("v2.6.4") for image in images(deployment)), (name, component)
        # every MQ StatefulSet is the same object as before, and none appeared
        after = dict((n, o["metadata"]["uid"]) for n, o in harness.objects(name, "StatefulSet").items())
        assert after == before[name]["statefulsets"], name

    hops = dict((name, [h["name"] for h in run.cluster_report(name)["hops_applied"]]) for name, _ in CLUSTERS)
    assert hops["old-separate"] == ["mixcoord", "streaming"]
    assert hops["mixcoord-v3"] == ["mixcoord", "streaming"]
    assert hops["at-2516"] == ["streaming"]
    assert hops["kafka"] == ["streaming"]
    assert hops["done"] == []
    assert harness.history("done")[-1]["revision"] == before["done"]["revision"]
    assert harness.history("old-separate")[-1]["revision"] == before["old-separate"]["revision"] + 2

    old = harness.objects("old-separate", "StatefulSet")
    assert any(n.startswith("rel-pulsar-") for n in old) and not any("pulsarv3" in n for n in old)
    kafka = harness.objects("kafka", "StatefulSet")
    assert not any("pulsar" in n for n in kafka), sorted(kafka)

    gpu = milvus_deployments(harness, "gpu-private")
    for deployment in gpu.values():
        for image in images(deployment):
            assert image == "registry.example.internal/ai/milvus:v2.6.4-gpu", image

    fleet = run.fleet_report()
    statuses = dict((r["cluster"], r["status"]) for r in fleet["clusters"])
    assert statuses == {"old-separate": "upgraded", "mixcoord-v3": "upgraded", "at-2516": "upgraded",
                        "kafka": "upgraded", "done": "up_to_date", "gpu-private": "upgraded"}


def test_second_run_changes_nothing(harness):
    revisions = dict((name, harness.history(name)[-1]["revision"]) for name, _ in CLUSTERS)
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True})
    assert run.rc == 0, run.output
    recap = run.recap()
    for name, _ in CLUSTERS:
        assert recap[name]["changed"] == 0, (name, recap[name])
        assert harness.history(name)[-1]["revision"] == revisions[name], name

"""One fleet upgrade with whatever tools this pytest runs with: the helm of MILVUSOPS_TEST_HELM and the
ansible-core and kubernetes client of this Python. `make test-matrix` runs it once per helm of
tests/controlplane/versions.env and once on the lowest ansible-core and client the collection
declares; the default suite leaves it out (marker `matrix`), test_upgrade_fleet covers its own tools.

Per version it proves what the collection relies on helm for: the version check, history and values
parsing (preflight's plan), the server-side render (check mode's diff), `--reset-then-reuse-values`
(the values a hop leaves behind) and an idempotent second run.
"""

import subprocess
import sys

import pytest

from tests.harness import HELM

pytestmark = pytest.mark.matrix

CLUSTERS = [
    ("gpu", "v2514-gpu-private"),   # both hops; a GPU image from a private registry (a user value)
    ("kafka", "v2516-kafka"),       # hop 2 only; Kafka chosen by user values, pinned through the hop
]
TARGET_IMAGES = {"gpu": ["registry.example.internal/ai/milvus:v2.6.4-gpu"], "kafka": ["milvusdb/milvus:v2.6.4"]}

# the values the two hops set (image, the coordinators, the streaming node); the rest is the user's
HOP_OWNED = {"image", "mixCoordinator", "rootCoordinator", "queryCoordinator", "dataCoordinator",
             "indexCoordinator", "streaming", "streamingNode", "indexNode"}


def tool_versions():
    helm = subprocess.run([HELM, "version", "--template", "{{.Version}}"], capture_output=True, text=True,
                          check=True).stdout.strip().lstrip("v")
    import ansible.release
    import kubernetes
    return {"helm": helm, "ansible-core": ansible.release.__version__, "kubernetes": kubernetes.__version__,
            "python": sys.version.split()[0]}


@pytest.fixture(scope="module")
def harness(make_harness):
    print("tools:", tool_versions())
    return make_harness(CLUSTERS)


def test_check_mode_renders_on_the_server_and_changes_nothing(harness):
    revisions = dict((name, harness.history(name)[-1]["revision"]) for name, _ in CLUSTERS)
    run = harness.playbook("upgrade", "--check", "--diff")
    assert run.rc == 0, run.output
    assert "+ Deployment/vectors-milvus-streamingnode" in run.output   # from helm's --dry-run=server manifest
    assert "- Deployment/vectors-milvus-indexnode" in run.output
    for name, _ in CLUSTERS:
        assert harness.history(name)[-1]["revision"] == revisions[name], name
    report = run.cluster_report("gpu")
    assert report["planned_hops"] == ["mixcoord", "streaming"]
    assert report["helm_version"] == tool_versions()["helm"]      # the helm under test drove it


def test_the_fleet_is_upgraded_and_a_second_run_changes_nothing(harness):
    user_values = dict((name, harness.helm_json(name, "get", "values", harness.fleet[name].release)) for name, _ in CLUSTERS)
    run = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True})
    assert run.rc == 0, run.output
    for name, _ in CLUSTERS:
        assert harness.milvus_images(name) == TARGET_IMAGES[name], name
        assert harness.history(name)[-1]["chart"] == "milvus-5.0.0", name
        values = harness.helm_json(name, "get", "values", harness.fleet[name].release)
        # --reset-then-reuse-values: every value the user had set is still set, beside what the hops set
        for key in set(user_values[name]) - HOP_OWNED:
            assert values.get(key) == user_values[name][key], (name, key)
        assert values["streaming"]["enabled"] is True and values["indexNode"]["enabled"] is False, name
    assert [h["name"] for h in run.cluster_report("gpu")["hops_applied"]] == ["mixcoord", "streaming"]
    assert {"pulsar", "kafka"} <= set(user_values["kafka"]) - HOP_OWNED   # the user values that must survive

    again = harness.playbook("upgrade", extra_vars={"milvus_upgrade_confirm": True})
    assert again.rc == 0, again.output
    for name, _ in CLUSTERS:
        assert again.recap()[name]["changed"] == 0, (name, again.recap()[name])
        assert again.cluster_report(name)["status"] == "up_to_date", name

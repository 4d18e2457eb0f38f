"""playbooks/kind_smoke.yml: valid syntax, and its upgrade + assertions pass against a kubesim cluster."""


from tests.harness import BIN


def test_kind_smoke_syntax_and_assertions(make_harness):
    harness = make_harness([("smoke", "v2514-mixcoord-pulsar3")])
    member = harness.fleet["smoke"]
    env_vars = {
        "kind_smoke_install": False,  # the release is already there (seeded like the real chart would)
        "kind_smoke_release": member.release,
        "kind_smoke_namespace": member.namespace,
        "kind_smoke_context": member.context,
        "milvus_kubeconfig": str(harness.fleet.kubeconfig),
        "milvus_chart_repo_url": harness.fleet.chart_repo_url,
        "milvus_helm_binary": str(BIN / "helm"),
        # the play runs on localhost, outside the harness inventory's hosts: its settle times are not set there
        "milvus_settle_after_mixcoord": 1,
        "milvus_settle_after_streaming": 1,
    }
    syntax = harness.playbook("kind_smoke", "--syntax-check", extra_vars=env_vars)
    assert syntax.rc == 0, syntax.output
    run = harness.playbook("kind_smoke", extra_vars=env_vars)
    assert run.rc == 0, run.output
    assert "Assert the end state" in run.output and "failed=0" in run.output
    deployments = [name for name in harness.objects("smoke", "Deployment") if name.endswith("streamingnode")]
    assert deployments, "no streaming node after the smoke upgrade"

"""The rights an upgrade needs (module_utils/access.py) and the manifest users apply (docs/rbac.yml)."""

import os

import yaml

from ansible_collections.milvusops.cluster.plugins.module_utils.access import (
    CLUSTER_RIGHTS, NAMESPACED_RIGHTS, READ_ONLY_VERBS, access_reviews, describe_right, missing_rights_message,
    rule_grants, unsettled_by_rules)

MANIFEST = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "rbac.yml")


def granted(role):
    """{(group, resource): set(verbs)} of a ClusterRole."""
    out = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def needed(rights):
    out = {}
    for group, resource, verbs in rights:
        out.setdefault((group, resource), set()).update(verbs)
    return out


def test_the_shipped_manifest_grants_exactly_what_the_collection_checks():
    with open(MANIFEST) as handle:
        roles = dict((doc["metadata"]["name"], doc) for doc in yaml.safe_load(handle)["items"])
    assert granted(roles["milvusops-upgrader"]) == needed(NAMESPACED_RIGHTS)
    assert granted(roles["milvusops-upgrader-cluster"]) == needed(CLUSTER_RIGHTS)


def test_an_upgrade_asks_about_every_verb_of_every_right_in_its_namespace():
    reviews = access_reviews("milvus")
    expected = sum(len(verbs) for _, _, verbs in NAMESPACED_RIGHTS + CLUSTER_RIGHTS)
    assert len(reviews) == expected
    assert {"group": "coordination.k8s.io", "resource": "leases", "verb": "create", "namespace": "milvus"} in reviews
    assert {"group": "", "resource": "services", "subresource": "proxy", "verb": "get", "namespace": "milvus"} in reviews
    assert {"group": "", "resource": "namespaces", "verb": "get"} in reviews        # cluster-wide: no namespace


def test_a_read_only_run_asks_only_about_reads():
    reviews = access_reviews("milvus", read_only=True)
    assert reviews and all(review["verb"] in READ_ONLY_VERBS for review in reviews)
    assert not [r for r in reviews if r["resource"] == "leases"]    # the lock is not taken read-only
    assert {"group": "apps", "resource": "statefulsets", "verb": "list", "namespace": "milvus"} in reviews


def test_the_message_names_every_refused_verb_and_resource_and_the_fix():
    denied = [{"group": "coordination.k8s.io", "resource": "leases", "verb": "create", "namespace": "ai"},
              {"group": "", "resource": "services", "subresource": "proxy", "verb": "get", "namespace": "ai"},
              {"group": "", "resource": "namespaces", "verb": "get"}]
    message = missing_rights_message("cluster prod-1", "ai", denied, "milvus_kubeconfig")
    assert message.startswith("cluster prod-1: the Kubernetes identity used (milvus_kubeconfig) may not ")
    assert "create leases.coordination.k8s.io; get services/proxy; get namespaces (cluster-wide)" in message
    assert "RoleBinding in namespace ai" in message and "docs/rbac.yml" in message
    assert message.endswith("nothing was changed")


def test_describe_right_of_a_core_resource_has_no_group_suffix():
    assert describe_right({"group": "", "resource": "pods", "verb": "watch", "namespace": "x"}) == "watch pods"


def shipped_rules():
    """The rules a SelfSubjectRulesReview lists for an identity bound as docs/rbac.yml says."""
    with open(MANIFEST) as handle:
        return [rule for doc in yaml.safe_load(handle)["items"] for rule in doc["rules"]]


def test_the_shipped_roles_settle_every_namespaced_right_in_one_rules_review():
    reviews = access_reviews("milvus")
    assert unsettled_by_rules(reviews, "milvus", shipped_rules()) == [{"group": "", "resource": "namespaces",
                                                                        "verb": "get"}]


def test_a_rules_review_of_another_namespace_settles_nothing():
    reviews = access_reviews("milvus")
    assert unsettled_by_rules(reviews, "other", shipped_rules()) == reviews


def test_each_right_left_out_of_the_rules_stays_unsettled():
    """Every right, removed from the rules one verb at a time, is the one left for an access review."""
    reviews = [review for review in access_reviews("milvus") if review.get("namespace")]
    for review in reviews:
        resource = review["resource"] + ("/" + review["subresource"] if review.get("subresource") else "")
        rules = [{"apiGroups": [review["group"]], "resources": [resource],
                  "verbs": [verb for verb in ("get", "list", "watch", "create", "update", "patch", "delete")
                            if verb != review["verb"]]}] + [
            {"apiGroups": [other["group"]], "resources": [other["resource"] + (
                "/" + other["subresource"] if other.get("subresource") else "")], "verbs": [other["verb"]]}
            for other in reviews if other is not review and (other["group"], other["resource"],
                                                             other.get("subresource")) != (
                review["group"], review["resource"], review.get("subresource"))]
        assert unsettled_by_rules(reviews, "milvus", rules) == [review], review


def test_wildcards_grant_as_rbac_matches_them():
    proxy = {"group": "", "resource": "pods", "subresource": "proxy", "verb": "get", "namespace": "ns"}
    lease = {"group": "coordination.k8s.io", "resource": "leases", "verb": "update", "namespace": "ns"}
    assert rule_grants({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, proxy)
    assert rule_grants({"apiGroups": [""], "resources": ["*/proxy"], "verbs": ["get"]}, proxy)
    assert not rule_grants({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, proxy)   # not the subresource
    assert not rule_grants({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}, proxy)
    assert rule_grants({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}, lease)
    assert not rule_grants({"apiGroups": [""], "resources": ["leases"], "verbs": ["*"]}, lease)       # other group
    # a rule for named objects only does not grant the right on the release's objects in general
    assert not rule_grants({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"], "resourceNames": ["x"]}, lease)

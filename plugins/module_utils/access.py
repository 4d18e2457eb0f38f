# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes rights an upgrade needs, and what to say when some are missing (pure, no I/O).

docs/rbac.yml grants exactly these (a unit test holds the two together). Preflight checks each before
anything changes, so a missing right is found before the first hop instead of half-way through it:
one SelfSubjectRulesReview of the namespace settles every right its rules grant, and only the rest
(cluster-wide rights, rules an authorizer could not list) get a SelfSubjectAccessReview each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

WRITE = ("get", "list", "watch", "create", "update", "patch", "delete")
READ = ("get", "list", "watch")

# (API group, resource, verbs) in the release namespace. helm's upgrade and server-side render of every
# kind the Milvus chart and its subcharts template; helm's release Secrets; the readiness watch; the
# proxies to Milvus's /healthz and /metrics; the upgrade lock.
NAMESPACED_RIGHTS = (
    ("", "configmaps", WRITE), ("", "secrets", WRITE), ("", "services", WRITE),
    ("", "serviceaccounts", WRITE), ("", "persistentvolumeclaims", WRITE),
    ("apps", "deployments", WRITE), ("apps", "statefulsets", WRITE),
    ("batch", "jobs", WRITE),
    ("rbac.authorization.k8s.io", "roles", WRITE), ("rbac.authorization.k8s.io", "rolebindings", WRITE),
    ("policy", "poddisruptionbudgets", WRITE),
    ("networking.k8s.io", "ingresses", WRITE),
    ("autoscaling", "horizontalpodautoscalers", WRITE),
    ("apps", "replicasets", READ), ("", "pods", READ),
    ("", "services/proxy", ("get",)), ("", "pods/proxy", ("get",)),
    ("coordination.k8s.io", "leases", ("get", "create", "update", "delete")),
)
# Cluster-wide: only to tell a missing namespace from a missing release.
CLUSTER_RIGHTS = (("", "namespaces", ("get",)),)

# What a read-only run (preflight, check mode) needs of the above: the reads, but not of the lock,
# which only a run that changes the cluster takes.
READ_ONLY_VERBS = ("get", "list", "watch")
NOT_READ_BY_READ_ONLY_RUNS = ("leases",)


def access_reviews(namespace, read_only=False):
    """The SelfSubjectAccessReview resourceAttributes to ask, one per (verb, resource)."""
    reviews = []
    for rights, scope in ((NAMESPACED_RIGHTS, namespace), (CLUSTER_RIGHTS, None)):
        for group, resource, verbs in rights:
            name, subresource = (resource.split("/", 1) + [""])[:2]
            for verb in verbs:
                if read_only and (verb not in READ_ONLY_VERBS or name in NOT_READ_BY_READ_ONLY_RUNS):
                    continue
                attributes = {"group": group, "resource": name, "verb": verb}
                if subresource:
                    attributes["subresource"] = subresource
                if scope:
                    attributes["namespace"] = scope
                reviews.append(attributes)
    return reviews


def describe_right(attributes):
    """'create leases.coordination.k8s.io', 'get services/proxy', 'get namespaces (cluster-wide)'."""
    resource = attributes["resource"]
    if attributes.get("subresource"):
        resource += "/" + attributes["subresource"]
    if attributes.get("group"):
        resource += "." + attributes["group"]
    return "%s %s%s" % (attributes["verb"], resource, "" if attributes.get("namespace") else " (cluster-wide)")


def missing_rights_message(target, namespace, denied, variables):
    """The error for rights the API server denied: every one of them, and how to grant them."""
    return ("%s: the Kubernetes identity used (%s) may not %s. Bind the ClusterRole milvusops-upgrader "
            "with a RoleBinding in namespace %s and milvusops-upgrader-cluster with a ClusterRoleBinding "
            "(docs/rbac.yml in the collection), or use an identity that has them; nothing was changed"
            % (target, variables, "; ".join(describe_right(attributes) for attributes in denied), namespace))


def rule_grants(rule, attributes):
    """True when one SelfSubjectRulesReview resourceRule grants the reviewed right (RBAC's matching).

    A rule limited to resourceNames grants only those objects, so it never settles a right here.
    """
    if rule.get("resourceNames"):
        return False
    resource = attributes["resource"]
    if attributes.get("subresource"):
        resource += "/" + attributes["subresource"]
    wanted_resources = ("*", resource, "*/" + attributes["subresource"]) if attributes.get("subresource") \
        else ("*", resource)
    return (any(verb in ("*", attributes["verb"]) for verb in rule.get("verbs") or ())
            and any(group in ("*", attributes["group"]) for group in rule.get("apiGroups") or ())
            and any(name in wanted_resources for name in rule.get("resources") or ()))


def unsettled_by_rules(reviews, namespace, resource_rules):
    """The reviews the namespace's rules do not grant: those still need a SelfSubjectAccessReview each.

    The rules of a namespace say nothing of cluster-wide rights (a ClusterRole bound there by a RoleBinding
    is listed too, yet grants only inside it), so a review without a namespace is always left unsettled.
    """
    return [attributes for attributes in reviews
            if attributes.get("namespace") != namespace
            or not any(rule_grants(rule, attributes) for rule in resource_rules)]

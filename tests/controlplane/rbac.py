"""The collection's identity on the test control plane: a ServiceAccount with the ClusterRoles of
docs/rbac.yml, bound in each namespace it upgrades, exactly as the README tells users to do."""

import json
from pathlib import Path

import yaml

RBAC_MANIFEST = Path(__file__).resolve().parents[2] / "docs" / "rbac.yml"
COLLECTION_NAMESPACE = "milvusops"


class Identity:
    """A ServiceAccount of the collection with the documented ClusterRoles, bound per namespace."""

    def __init__(self, plane, name, role="milvusops-upgrader", cluster_role="milvusops-upgrader-cluster"):
        self.plane = plane
        self.name = name
        self.role = role
        api = plane.api
        api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": COLLECTION_NAMESPACE}})
        api.ensure("/api/v1/namespaces/%s/serviceaccounts" % COLLECTION_NAMESPACE,
                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        api.ensure("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", self._binding(
            "ClusterRoleBinding", "%s-%s" % (cluster_role, name), cluster_role))
        status, answer = api.request(
            "POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (COLLECTION_NAMESPACE, name),
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": 24 * 3600}})
        if status != 201:
            raise RuntimeError("TokenRequest for %s: %s %s" % (name, status, json.dumps(answer)))
        self.token = answer["status"]["token"]

    def _binding(self, kind, name, role, namespace=None):
        metadata = {"name": name}
        if namespace:
            metadata["namespace"] = namespace
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": COLLECTION_NAMESPACE}]}

    def grant(self, namespace):
        self.plane.api.ensure("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings" % namespace,
                              self._binding("RoleBinding", "%s-%s" % (self.role, self.name), self.role, namespace))


def apply_rbac_manifest(plane, manifest=RBAC_MANIFEST, transform=None):
    """Create the ClusterRoles of the manifest, each changed (or dropped: None) by transform first."""
    for role in yaml.safe_load(Path(manifest).read_text())["items"]:
        if transform:
            role = transform(role)
            if role is None:
                continue
        plane.api.ensure("/apis/rbac.authorization.k8s.io/v1/clusterroles", role)

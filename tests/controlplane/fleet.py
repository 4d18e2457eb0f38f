"""A fleet on the real control plane, with the simulator fleet's API (tests/kubesim/fleet.py).

Every member is one context of the fleet's kubeconfig, in a namespace of its own on the session's
control plane, with the same seeded release the simulator would hold. The collection reaches it as
a ServiceAccount bound to exactly the rights docs/rbac.yml documents; seeding and the tests'
own reads use the admin identity.
"""

import base64
import itertools
from pathlib import Path

import yaml

from tests.kubesim.fleet import Fleet, _write_private
from .api import Store
from .faults import Faults

_fleet_numbers = itertools.count(1)


class RealCluster:
    """What a test reaches of one member: its objects (store), its pod faults, its API address, and of
    the simulator's per-cluster settings the one a kwok stage plays (pod_start_delay)."""

    def __init__(self, plane, namespace):
        self.plane = plane
        self.store = Store(plane.api)
        self.faults = Faults(plane, namespace)
        self.url = plane.server
        self.ca_cert_path = plane.ca_file

    def set_config(self, **values):
        """The simulator's Cluster.set_config for what the real fleet plays: pod_start_delay (seconds
        from binding to Running and Ready, for pods bound from now on, in this member's namespace)."""
        unknown = set(values) - {"pod_start_delay"}
        if unknown:
            raise ValueError("%s: the simulator's settings only (the real control plane plays pod_start_delay)"
                             % ", ".join(sorted(unknown)))
        if "pod_start_delay" in values:
            self.faults.set_start_delay(values["pod_start_delay"])
        return {"pod_start_delay": self.faults.start_delay}

    def stop(self):
        self.faults.clear()
        self.faults.set_start_delay(0)


class RealFleet(Fleet):
    backend = "real"

    def __init__(self, state_dir, clusters, *, plane, identity=None, **options):
        super().__init__(state_dir, clusters, **options)
        if self.pod_start_delay != plane.pod_start_delay:
            raise ValueError("pod_start_delay is the control plane's (kwok stage) on this backend: "
                             "ControlPlane(pod_start_delay=%s)" % self.pod_start_delay)
        if self.kube_versions:
            raise ValueError("kube_versions: every member of a real fleet runs the control plane's own Kubernetes "
                             "(KUBERNETES_VERSION in tests/controlplane/versions.env)")
        self.plane = plane
        self.identity = identity or plane.collection_identity()
        number = next(_fleet_numbers)
        # One control plane serves every fleet of the session: a namespace per member and fleet.
        for member in self.members:
            namespace = ("%s-%s-%d" % (member.state.namespace, member.name, number))[:63].rstrip("-")
            member.state = member.state.with_target(namespace=namespace)

    @property
    def admin_kubeconfig(self):
        return self.state_dir / "admin.kubeconfig"

    def helm_env(self):
        """The simulator fleet's environment, with kubectl of the control plane's own version first."""
        env = super().helm_env()
        env["PATH"] = "%s:%s" % (self.plane.bin, env.get("PATH", ""))
        return env

    def helm(self, *args, cluster=None, check=True, timeout=300):
        """helm as the cluster admin (seeding and the tests' own checks), never as the collection."""
        return super().helm(*args, "--kubeconfig", str(self.admin_kubeconfig), cluster=cluster,
                            check=check, timeout=timeout)

    def _start_clusters(self):
        for member in self.members:
            self.plane.api.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": member.namespace}})
            self.identity.grant(member.namespace)
            member.cluster = RealCluster(self.plane, member.namespace)

    def _write_kubeconfig(self):
        for path, user in ((self.kubeconfig, {"token": self.identity.token}),
                           (self.admin_kubeconfig, self.plane.admin_user())):
            config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                      "clusters": [{"name": "test", "cluster": {
                          "server": self.plane.server,
                          "certificate-authority-data": base64.b64encode(
                              Path(self.plane.ca_file).read_bytes()).decode()}}],
                      "users": [{"name": "user", "user": user}],
                      "contexts": [{"name": m.name, "context": {"cluster": "test", "user": "user",
                                                                 "namespace": m.namespace}}
                                   for m in self.members],
                      "current-context": self.members[0].name}
            _write_private(path, yaml.safe_dump(config, sort_keys=False))

    def _stop_all(self):
        for member in self.members:
            if member.cluster is not None:
                member.cluster.stop()
                self.plane.api.request("DELETE", "/api/v1/namespaces/" + member.namespace)
        if self.repo is not None:
            self.repo.stop()

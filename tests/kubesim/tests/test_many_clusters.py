"""Sixteen clusters in one process, each on its own port, each rolling a Deployment."""

from kubernetes import client

from tests.kubesim.server import Cluster
from .test_client import api_client
from .test_controllers import deployment, rollout_done
from .util import wait_for


def test_sixteen_clusters():
    clusters = [Cluster(name=f"c{i}", pod_start_delay=0.05).start() for i in range(16)]
    try:
        assert len({c.port for c in clusters}) == 16
        for c in clusters:
            client.AppsV1Api(api_client(c)).create_namespaced_deployment("default", deployment("app", "a:1", 3))
        wait_for(lambda: all(rollout_done(c, "app") for c in clusters), timeout=30, what="16 rollouts")
        for c in clusters:
            c.store.mutate("deployments", "default", "app", lambda d: d["spec"]["template"]["spec"][
                "containers"][0].__setitem__("image", "a:2"))
        wait_for(lambda: all(rollout_done(c, "app") and c.store.get("deployments", "app", "default")["status"]
                             ["observedGeneration"] == 2 for c in clusters), timeout=30, what="16 upgrades")
        # Each cluster only saw its own objects.
        assert all(len(c.store.list("replicasets", "default")) == 2 for c in clusters)
        assert not any(c.manager.errors for c in clusters)
    finally:
        for c in clusters:
            c.stop()

"""Fixtures: a started kubesim cluster and a client environment (HOME, helm dirs, KUBECONFIG)."""

import pytest

from tests.kubesim.server import Cluster
from .util import client_env


@pytest.fixture
def kubesim():
    cluster = Cluster(name="test", pod_start_delay=0.0, terminate_delay=0.1)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def kube_env(kubesim, tmp_path):
    return client_env(kubesim, tmp_path)


def pytest_configure(config):
    # marker of the fleet tests (test_fleet.py): large simulated fleets
    config.addinivalue_line("markers", "slow: long-running test (large simulated fleets)")

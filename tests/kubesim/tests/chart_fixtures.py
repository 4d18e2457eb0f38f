"""Fixtures for the fixture-chart and fleet tests (imported explicitly by those test modules)."""

import os
import shutil
import sys
from pathlib import Path

import pytest


def _helm_binary() -> str:
    cand = Path(sys.executable).parent / "helm"
    if cand.is_file():
        return str(cand)
    found = shutil.which("helm")
    if not found:
        pytest.skip("helm binary not available")
    return found


@pytest.fixture(scope="session")
def helm_binary():
    return _helm_binary()


@pytest.fixture(scope="session")
def helm_home(tmp_path_factory):
    """A private HOME + HELM_* directories; returns the environment dict for helm."""
    base = tmp_path_factory.mktemp("helm-home")
    env = dict(os.environ)
    env.update({"HOME": str(base / "home"), "HELM_CACHE_HOME": str(base / "cache"),
                "HELM_CONFIG_HOME": str(base / "config"), "HELM_DATA_HOME": str(base / "data")})
    for var in ("KUBECONFIG", "HELM_KUBECONTEXT", "HELM_NAMESPACE"):
        env.pop(var, None)
    for sub in ("home", "cache", "config", "data"):
        (base / sub).mkdir()
    return env


@pytest.fixture(scope="session")
def fixture_charts(tmp_path_factory, helm_binary):
    """Directory with milvus-<v>.tgz for every fixture version plus index.yaml."""
    from tests.kubesim.chartrepo import build_fixture_charts

    out = tmp_path_factory.mktemp("fixture-charts")
    build_fixture_charts(out, helm=helm_binary)
    return out

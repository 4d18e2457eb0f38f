"""The session's real control plane, for every test folder that asks for it (started on first use)."""

import pytest


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    from tests.controlplane.cluster import ControlPlane
    plane = ControlPlane(tmp_path_factory.mktemp("controlplane")).start()
    yield plane
    plane.stop()

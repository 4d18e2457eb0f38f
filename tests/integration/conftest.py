"""Integration fixtures: kubesim fleets driven by the real ansible-playbook (see tests/harness.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.harness import Harness  # noqa: E402
from tests.kubesim.fleet import Fleet  # noqa: E402


@pytest.fixture(scope="module")
def make_harness(tmp_path_factory):
    fleets = []

    def make(clusters, pod_start_delay=0.0, **fleet_options):   # fleet_options: tls=True, token="..."
        workdir = tmp_path_factory.mktemp("fleet")
        fleet = Fleet(workdir / "state", clusters, pod_start_delay=pod_start_delay, **fleet_options).up()
        fleets.append(fleet)
        return Harness(fleet, workdir)

    yield make
    for fleet in fleets:
        fleet.down()

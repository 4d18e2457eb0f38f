"""Integration fixtures: fleets driven by the real ansible-playbook (see tests/harness.py), on one of
two backends:

- real (the default): the session's real control plane (tests/controlplane), a namespace per member;
- kubesim: the simulator, for what a real server cannot be made to do on demand (API error bursts,
  latency, outages, a failed write inside helm). Mark such a module or test `@pytest.mark.kubesim`.

MILVUSOPS_TEST_BACKEND=kubesim runs everything on the simulator (a quick local loop; CI runs both).
The summary at the end says how many tests ran on each backend.
"""

import collections
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.harness import Harness  # noqa: E402
from tests.kubesim.fleet import Fleet  # noqa: E402

FORCED = os.environ.get("MILVUSOPS_TEST_BACKEND")
_outcomes = collections.defaultdict(collections.Counter)


def pytest_configure(config):
    config.addinivalue_line("markers", "kubesim: the test needs the simulator (injected API faults and the like)")
    config.addinivalue_line("markers", "matrix: run by `make test-matrix` once per helm, ansible-core and client")


def backend_of(node):
    """The backend of a test or a module (fleets are module fixtures: mark whole modules)."""
    return FORCED or ("kubesim" if node.get_closest_marker("kubesim") else "real")


def pytest_collection_modifyitems(items):
    for item in items:
        item.user_properties.append(("backend", backend_of(item)))


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        backend = dict(report.user_properties).get("backend", "?")
        _outcomes[backend][report.outcome] += 1


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("integration tests per backend")
    for backend in sorted(_outcomes):
        counts = _outcomes[backend]
        terminalreporter.write_line("%-8s %s" % (backend, ", ".join(
            "%d %s" % (counts[key], key) for key in ("passed", "failed", "skipped") if counts[key])))


@pytest.fixture(scope="module")
def make_harness(request, tmp_path_factory):
    fleets = []

    def make(clusters, pod_start_delay=0.0, **fleet_options):   # kubesim only: tls, token, kube_versions
        workdir = tmp_path_factory.mktemp("fleet")
        if backend_of(request.node) == "real":
            from tests.controlplane.fleet import RealFleet
            plane = request.getfixturevalue("control_plane")
            fleet = RealFleet(workdir / "state", clusters, plane=plane, pod_start_delay=pod_start_delay,
                              **fleet_options)
        else:
            fleet = Fleet(workdir / "state", clusters, pod_start_delay=pod_start_delay, **fleet_options)
        fleets.append(fleet.up())
        return Harness(fleet, workdir)

    yield make
    for fleet in fleets:
        fleet.down()

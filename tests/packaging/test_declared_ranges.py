"""What the collection declares it runs on equals what `make test-matrix` and `make test` test.

meta/runtime.yml's requires_ansible must be bounded, and every ansible-core minor it admits must be
tested: the older ones by the matrix (MATRIX_CORES in the Makefile), the newest by the main venv. The
lowest kubernetes client and packaging the runtime requirements admit are the ones the matrix pins.
"""

import os
import re

import ansible.release
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(path):
    with open(os.path.join(ROOT, path)) as handle:
        return handle.read()


def make_variable(name):
    match = re.search(r"^%s := (.*)$" % name, read("Makefile"), re.M)
    assert match, "the Makefile sets no %s" % name
    return match.group(1).split()


def requirements(path):
    lines = (line.split("#")[0].strip() for line in read(path).splitlines())
    return dict((r.name, r) for r in (Requirement(line) for line in lines if line and not line.startswith("-")))


def lower_bound(specifier_set):
    floors = [s.version for s in specifier_set if s.operator in (">=", "==")]
    assert len(floors) == 1, "expected one lower bound in %s" % specifier_set
    return floors[0]


def admitted_minors(specifier_set):
    """The ansible-core minors (2.x) a specifier set admits; it must have an upper bound."""
    assert any(s.operator in ("<", "<=") for s in specifier_set), "%s has no upper bound" % specifier_set
    return ["2.%d" % minor for minor in range(0, 100) if Version("2.%d.0" % minor) in specifier_set]


@pytest.fixture(scope="module")
def requires_ansible():
    return SpecifierSet(yaml.safe_load(read("meta/runtime.yml"))["requires_ansible"])


def test_every_admitted_ansible_core_minor_is_tested(requires_ansible):
    newest = ".".join(ansible.release.__version__.split(".")[:2])   # the main venv's, tested by make test
    tested = make_variable("MATRIX_CORES") + [newest]
    assert admitted_minors(requires_ansible) == tested


def test_the_tests_install_the_ansible_core_range_the_collection_declares(requires_ansible):
    assert requirements("tests/requirements-run.txt")["ansible-core"].specifier == requires_ansible


def test_the_matrix_tests_the_lowest_client_and_packaging_the_collection_admits():
    lowest = dict((r.name, r) for r in (Requirement(item) for item in make_variable("MATRIX_LOWEST")))
    runtime = requirements("requirements.txt")
    assert sorted(lowest) == sorted(name for name in runtime if name != "helm-binary")
    for name, requirement in runtime.items():
        assert lower_bound(lowest[name].specifier) == lower_bound(requirement.specifier), name


def test_the_helm_matrix_holds_the_lowest_supported_helm_and_a_4_x():
    helms = re.search(r'^HELM_VERSIONS="(.*)"$', read("tests/controlplane/versions.env"), re.M).group(1).split()
    majors_minors = [tuple(int(p) for p in v.lstrip("v").split(".")[:2]) for v in helms]
    assert (3, 14) in majors_minors                 # the documented minimum (--reset-then-reuse-values)
    assert any(major == 4 for major, _ in majors_minors)
    assert '"min_helm_version": "3.14.0"' in read("plugins/module_utils/plan.py")

# -*- coding: utf-8 -*-
"""The collection is releasable: the changelog that `antsibull-changelog release` makes for the version in
galaxy.yml (in a temporary copy), the artifact `ansible-galaxy collection build` makes, and the LICENSE."""

from __future__ import absolute_import, division, print_function

import glob
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
GALAXY = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles", "*")) if os.path.isdir(p))
PLAYBOOKS = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))
SKIPPED = (".git", ".venv", ".tmp", ".pytest_cache", "__pycache__", "output", "CHANGELOG.rst")


def _run(*command, cwd):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(list(command), cwd=cwd, env=env, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A copy of the collection after `antsibull-changelog release` of galaxy.yml's version."""
    copy = str(tmp_path_factory.mktemp("release") / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"])
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(*SKIPPED))
    _run("antsibull-changelog", "lint", cwd=copy)
    _run("antsibull-changelog", "release", "--version", GALAXY["version"], "--date", "2026-12-01", cwd=copy)
    with open(os.path.join(copy, "changelogs", "changelog.yaml")) as handle:
        changelog = yaml.safe_load(handle)
    return copy, changelog


def _short_description(module):
    import ast
    source = open(os.path.join(ROOT, "plugins", "modules", module + ".py")).read()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)["short_description"]


def test_the_release_lists_every_module_with_its_short_description(released):
    _, changelog = released
    release = changelog["releases"][GALAXY["version"]]
    # antsibull-changelog stores the description RST-escaped (\\- for -)
    listed = dict((m["name"], m["description"].replace("\\", "")) for m in release.get("modules", []))
    assert listed == dict((name, _short_description(name)) for name in MODULES)


def test_the_release_lists_every_role_and_playbook(released):
    _, changelog = released
    objects = changelog["releases"][GALAXY["version"]].get("objects", {})
    assert sorted(r["name"] for r in objects.get("role", [])) == ROLES
    assert sorted(p["name"] for p in objects.get("playbook", [])) == PLAYBOOKS
    assert all(entry["description"] for kind in ("role", "playbook") for entry in objects.get(kind, []))


def test_the_release_has_a_summary_and_a_first_release_fixes_no_bugs(released):
    _, changelog = released
    changes = changelog["releases"][GALAXY["version"]]["changes"]
    assert changes["release_summary"]
    if len(changelog["releases"]) == 1:
        # nobody had the bug: a fix to code never released is part of the feature, not a bugfix
        assert "bugfixes" not in changes, changes["bugfixes"]


def test_the_release_consumes_every_fragment_and_writes_the_changelog(released):
    copy, _ = released
    assert os.listdir(os.path.join(copy, "changelogs", "fragments")) == []
    with open(os.path.join(copy, "CHANGELOG.rst")) as handle:
        text = handle.read()
    assert "v%s\n" % GALAXY["version"] in text
    for name in MODULES:
        assert "%s.%s.%s - " % (GALAXY["namespace"], GALAXY["name"], name) in text


# --- the artifact ---------------------------------------------------------------------------------

SHIPPED_FILES = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CONTRIBUTING.md", "CHANGELOG.rst",
                 "requirements.txt", "bindep.txt", "tests/config.yml", "docs/rbac.yml",
                 "changelogs/changelog.yaml", "changelogs/config.yaml"}
SHIPPED_FOLDERS = ("plugins/", "roles/", "playbooks/", "meta/", "extensions/", "changelogs/fragments/")
REQUIRED = {"LICENSE", "README.md", "requirements.txt", "bindep.txt", "meta/runtime.yml",
            "meta/execution-environment.yml", "extensions/ee/execution-environment.yml",
            "extensions/ee/install_helm.py", "extensions/awx/fleet_kubeconfig_credential_type.yml",
            "extensions/awx/merge_fleet_reports.py", "docs/rbac.yml"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("build"))
    _run("ansible-galaxy", "collection", "build", "--output-path", out, ROOT, cwd=out)
    path = os.path.join(out, "%s-%s-%s.tar.gz" % (GALAXY["namespace"], GALAXY["name"], GALAXY["version"]))
    with tarfile.open(path) as archive:
        return sorted(member.name for member in archive.getmembers() if member.isfile())


def test_the_artifact_holds_only_what_a_user_runs(artifact):
    unexpected = [name for name in artifact
                  if name not in SHIPPED_FILES and not name.startswith(SHIPPED_FOLDERS)]
    assert unexpected == []
    assert not [name for name in artifact if "__pycache__" in name or name.endswith(".pyc")]


def test_the_artifact_holds_the_collection(artifact):
    assert REQUIRED <= set(artifact)
    assert set("plugins/modules/%s.py" % name for name in MODULES) <= set(artifact)
    assert set("playbooks/%s.yml" % name for name in PLAYBOOKS) <= set(artifact)


def test_the_license_file_is_the_one_galaxy_yml_names():
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    with open(os.path.join(ROOT, "LICENSE")) as handle:
        text = handle.read()
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007")
    assert "(at your option) any later version" in " ".join(text.split())
    headers = [p for p in glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")) + glob.glob(
        os.path.join(ROOT, "extensions", "*", "*.py"))
        if "GNU General Public License v3.0+" not in open(p).read(2000)]
    assert headers == []

# -*- coding: utf-8 -*-
"""The modules' documentation agrees with the code and the collection: versions, samples, action
group, requirements and doc fragments follow from what each module imports, and a missing Python
library fails with Ansible's standard message."""

from __future__ import absolute_import, division, print_function

import ast
import glob
import os
import re

import pytest
import yaml
from packaging.version import Version

from test_modules import run_module
from ansible_collections.milvusops.cluster.plugins.modules import (
    milvus_helm_hop, milvus_lock, milvus_preflight, milvus_wait_ready)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
UTIL_IMPORT = re.compile(r"^from ansible_collections\.milvusops\.cluster\.plugins\.module_utils\.(\w+) import", re.M)


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return handle.read()


def docs(name):
    """{DOCUMENTATION, EXAMPLES, RETURN: parsed YAML} of a module, without importing it."""
    found = {}
    for node in ast.parse(_read("plugins", "modules", name + ".py")).body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            found[node.targets[0].id] = yaml.safe_load(node.value.value)
    return found


def module_utils_used(name):
    """Every module_utils file a module imports, directly or through another."""
    seen, todo = set(), UTIL_IMPORT.findall(_read("plugins", "modules", name + ".py"))
    while todo:
        util = todo.pop()
        if util not in seen:
            seen.add(util)
            todo.extend(UTIL_IMPORT.findall(_read("plugins", "module_utils", util + ".py")))
    return seen


GALAXY = yaml.safe_load(_read("galaxy.yml"))
RELEASED = set((yaml.safe_load(_read("changelogs", "changelog.yaml")).get("releases") or {}).keys())
ACTION_GROUPS = yaml.safe_load(_read("meta", "runtime.yml")).get("action_groups") or {}


@pytest.mark.parametrize("name", MODULES)
def test_version_added_is_a_released_version_or_the_coming_one(name):
    added = str(docs(name)["DOCUMENTATION"]["version_added"])
    assert added in RELEASED | {GALAXY["version"]}, (added, GALAXY["version"], RELEASED)
    assert Version(added) <= Version(GALAXY["version"])


def _entries_without_sample(entries, path=""):
    missing = []
    for key, entry in entries.items():
        if "sample" not in entry:
            missing.append(path + key)
        missing += _entries_without_sample(entry.get("contains") or {}, path + key + ".")
    return missing


@pytest.mark.parametrize("name", MODULES)
def test_every_return_value_has_a_sample(name):
    assert _entries_without_sample(docs(name)["RETURN"]) == []


@pytest.mark.parametrize("name", MODULES)
def test_the_action_group_attribute_matches_meta_runtime(name):
    groups = ["milvusops.cluster.%s" % group for group, members in ACTION_GROUPS.items() if name in members]
    attribute = docs(name)["DOCUMENTATION"].get("attributes", {}).get("action_group")
    if groups:
        assert attribute["support"] == "full"
        assert sorted(attribute["membership"]) == sorted(groups)
    else:
        assert attribute is None or attribute["support"] == "none"


@pytest.mark.parametrize("name", MODULES)
def test_helm_is_documented_exactly_where_the_module_runs_helm(name):
    documentation = docs(name)["DOCUMENTATION"]
    fragments = documentation.get("extends_documentation_fragment") or []
    runs_helm = "helm" in module_utils_used(name)
    assert ("milvusops.cluster.connection.helm" in fragments) == runs_helm
    if "connection" in module_utils_used(name):
        assert "milvusops.cluster.connection" in fragments


@pytest.mark.parametrize("name", MODULES)
def test_python_requirements_follow_the_imports_and_are_guarded(name):
    used = module_utils_used(name)
    source = _read("plugins", "modules", name + ".py")
    requirements = " ".join(docs(name)["DOCUMENTATION"].get("requirements") or [])
    for library, util, flag in (("kubernetes", "kube", "HAS_KUBERNETES"), ("packaging", "versions", "HAS_PACKAGING")):
        needed = util in used and name != "milvus_report"
        assert (library in requirements) == needed, (library, requirements)
        assert ('("%s", %s,' % (library, flag) in source) == needed, library


def test_no_example_applies_a_hop_without_waiting_for_it():
    for name in MODULES:
        pending = None
        for task in docs(name)["EXAMPLES"]:
            modules = [key for key in task if key.startswith("milvusops.cluster.")]
            if "milvusops.cluster.milvus_helm_hop" in modules:
                assert not any(key == "loop" or key.startswith("with_") for key in task), (name, task["name"])
                assert pending is None, (name, "%s runs before %s was waited for" % (task["name"], pending))
                pending = task["name"]
            elif "milvusops.cluster.milvus_wait_ready" in modules:
                pending = None
        assert pending is None, (name, "%s is never waited for" % pending)


ARGS = {
    milvus_preflight: dict(release="rel", namespace="milvus"),
    milvus_helm_hop: dict(release="rel", namespace="milvus", hop_name="mixcoord", chart_version="4.2.58", values={}),
    milvus_wait_ready: dict(release="rel", namespace="milvus", image_repository="milvusdb/milvus", image_tag="v2.5.16"),
    milvus_lock: dict(release="rel", namespace="milvus", holder="me"),
}
GUARDS = [(module, library, flag) for module in ARGS
          for library, flag in (("kubernetes", "HAS_KUBERNETES"), ("packaging", "HAS_PACKAGING"))
          if hasattr(module, flag)]


@pytest.mark.parametrize("module, library, flag", GUARDS, ids=["%s-%s" % (m.__name__.split(".")[-1], lib)
                                                                for m, lib, _ in GUARDS])
def test_a_missing_library_fails_with_the_standard_message(monkeypatch, capsys, module, library, flag):
    monkeypatch.setattr(module, flag, False)
    monkeypatch.setattr(module, flag.replace("HAS_", "") + "_IMPORT_ERROR", ImportError("No module named %r" % library))
    args = dict(ARGS[module])
    if module is milvus_helm_hop and library == "kubernetes":
        args["rollout_order"] = ["mixcoord"]   # the hop pauses Deployments (the Python client) only when ordered
    result, _ = run_module(module, args, capsys)
    assert result["failed"] is True
    assert "Failed to import the required Python library (%s)" % library in result["msg"]

# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.milvusops.cluster.plugins.module_utils.messages import (
    INVENTORY_VARIABLES, namer, setting_name)

ROLE = Path(__file__).resolve().parents[2] / "roles" / "upgrade"


@pytest.mark.parametrize("option,variable", sorted(INVENTORY_VARIABLES.items()))
def test_each_option_maps_to_its_variable_in_a_role_run_and_stays_an_option_called_directly(option, variable):
    assert setting_name(option, "inventory") == variable
    assert setting_name(option, "option") == option
    assert setting_name(option) == option


def test_an_option_without_a_variable_keeps_its_own_name():
    assert setting_name("settle_seconds", "inventory") == "settle_seconds"


def test_namer_follows_message_names_and_defaults_to_options():
    assert namer({"message_names": "inventory"})("kubeconfig") == "milvus_kubeconfig"
    assert namer({"message_names": "option"})("kubeconfig") == "kubeconfig"
    assert namer({})("kubeconfig") == "kubeconfig"
    assert namer(None)("kubeconfig") == "kubeconfig"


def test_every_mapped_variable_is_one_the_role_really_passes_to_that_option():
    """The mapping is only true while the role sets option: "{{ variable ... }}" somewhere in its tasks."""
    text = "\n".join(path.read_text() for path in sorted((ROLE / "tasks").glob("*.yml")))
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    documented = set(specs["argument_specs"]["main"]["options"]) | {"milvus_lock_holder"}
    for option, variable in INVENTORY_VARIABLES.items():
        assert re.search(r"\b%s: .*\b%s\b" % (re.escape(option), re.escape(variable)), text), (option, variable)
        assert variable in documented, variable

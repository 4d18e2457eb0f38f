# -*- coding: utf-8 -*-
"""The upgrade playbook's choice of strategy, rendered by Ansible's own templating."""

from __future__ import absolute_import, division, print_function

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates any string
    def trust_as_template(value):
        return value

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fleet_play_strategy(**variables):
    with open(os.path.join(ROOT, "playbooks", "upgrade.yml")) as stream:
        plays = yaml.safe_load(stream)
    fleet_play = next(play for play in plays if play["name"] == "Upgrade the rest of the fleet")
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(fleet_play["strategy"])).strip()


@pytest.mark.parametrize("hosts, extra, expected", [
    # several clusters with the default failure policy: each at its own pace, each to its end
    (["a", "b"], {}, "ansible.builtin.host_pinned"),
    (["a", "b", "c"], {"milvus_max_fail_percentage": 100}, "ansible.builtin.host_pinned"),
    (["a", "b"], {"milvus_max_fail_percentage": "100"}, "ansible.builtin.host_pinned"),
    # a lowered policy: only the linear strategy applies it inside a batch
    (["a", "b"], {"milvus_max_fail_percentage": 50}, "ansible.builtin.linear"),
    (["a", "b"], {"milvus_max_fail_percentage": 0}, "ansible.builtin.linear"),
    # one cluster: nothing to pace, the cheaper poll
    (["a"], {}, "ansible.builtin.linear"),
    (["a"], {"milvus_max_fail_percentage": 50}, "ansible.builtin.linear"),
])
def test_the_fleet_play_runs_host_pinned_only_for_several_clusters_with_the_default_failure_policy(hosts, extra, expected):
    assert fleet_play_strategy(ansible_play_batch=hosts, **extra) == expected

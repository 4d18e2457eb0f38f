# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: milvus_controller
author: milvusops maintainers (@milvusops)
version_added: 1.0.0
short_description: This controller's host name and ansible-playbook process, for the upgrade lock's holder
description:
  - Returns C(<host>/pid:<pid>:<start>), the controller's host name (from Python's C(socket) module, no
    C(hostname) binary needed), the process id of the running C(ansible-playbook) and that process's start time
    (clock ticks since boot from C(/proc), C(0) where there is no C(/proc)).
  - The upgrade role writes it into the lock's holder, so a later run on the same host can tell that the run
    holding the lock is gone (no process with that id and start time) and take the lock over.
options: {}
"""

EXAMPLES = r"""
- name: A lock holder naming this controller and run
  ansible.builtin.set_fact:
    holder: "{{ lookup('milvusops.cluster.milvus_controller') }}/{{ now(utc=true).strftime('%Y%m%dT%H%M%S') }}"
"""

RETURN = r"""
_raw:
  description: One string, C(<host>/pid:<pid>:<start>).
  type: list
  elements: str
  sample: ["ctl-1.example.com/pid:41235:8812345"]
"""

import socket

from ansible.plugins.lookup import LookupBase

from ansible_collections.milvusops.cluster.plugins.module_utils.processes import run_process


def controller_identity():
    return "%s/pid:%d:%d" % ((socket.gethostname() or "unknown-host",) + run_process())


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        return [controller_identity()]

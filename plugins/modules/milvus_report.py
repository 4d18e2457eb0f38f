#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation only: the work is done on the controller by plugins/action/milvus_report.py.

DOCUMENTATION = r"""
module: milvus_report
short_description: Write a run report file on the Ansible controller
version_added: 1.0.0
description:
  - Writes O(content) to O(dest) on the controller, whatever host the task runs for, creating missing folders.
  - The file is written to a temporary name next to O(dest) and renamed over it, so a reader (or a run that is
    interrupted) never sees half a report.
  - Runs inside the controller's worker process, without starting a module on a host. The role writes one report per
    cluster and two per run; with M(ansible.builtin.file) and M(ansible.builtin.copy) these took three module starts
    per cluster, which on a large fleet showed up in the run time (see C(make bench)).
  - Existing folders keep their permissions; only folders this task creates get O(directory_mode).
author:
  - milvusops maintainers (@milvusops)
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change and writes nothing.
  diff_mode:
    support: full
    description: The previous and the new content of the file.
options:
  dest:
    description: Path of the report file on the controller.
    type: path
    required: true
  content:
    description: The whole content of the file.
    type: str
    required: true
  mode:
    description: Permissions of the file, as an octal string.
    type: str
    default: "0640"
  directory_mode:
    description: Permissions of folders created on the way to O(dest), as an octal string.
    type: str
    default: "0750"
"""

EXAMPLES = r"""
- name: Write this cluster's result
  milvusops.cluster.milvus_report:
    dest: "{{ milvus_report_dir }}/clusters/{{ inventory_hostname }}.json"
    content: "{{ milvus_upgrade_result | to_nice_json }}\n"
"""

RETURN = r"""
dest:
  description: The file written.
  returned: always
  type: str
  sample: /var/log/milvusops/clusters/prod-eu-1.json
size:
  description: Bytes written.
  returned: always
  type: int
  sample: 1832
"""

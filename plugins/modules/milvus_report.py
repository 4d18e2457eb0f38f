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
  - A relative O(dest) is taken from the controller's working directory (not the E(PWD) environment variable).
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
    description: The whole content of the file. Required unless O(probe=true).
    type: str
  probe:
    description:
      - Treat O(dest) as a folder. Create it if missing (also in check mode) and write and remove a probe file in it,
        writing nothing else. Fails, saying nothing was changed, when the folder cannot be written.
      - The role runs this before the upgrade lock and the first hop, so a report folder that cannot be written is
        found before the cluster changes, not after.
    type: bool
    default: false
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

- name: Check before any change that the report folder can be written
  milvusops.cluster.milvus_report:
    dest: "{{ milvus_report_dir }}"
    probe: true
"""

RETURN = r"""
dest:
  description: The file written (the folder checked with O(probe)), as an absolute path.
  returned: always
  type: str
  sample: /var/log/milvusops/clusters/prod-eu-1.json
size:
  description: Bytes written.
  returned: unless O(probe=true)
  type: int
  sample: 1832
"""

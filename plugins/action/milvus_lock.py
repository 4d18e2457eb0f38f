# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""milvus_lock in the task's worker process (plugin_utils/in_process.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.milvusops.cluster.plugins.module_utils.kube import HAS_KUBERNETES
from ansible_collections.milvusops.cluster.plugins.plugin_utils.in_process import in_process_action

ActionModule = in_process_action("milvus_lock", HAS_KUBERNETES)

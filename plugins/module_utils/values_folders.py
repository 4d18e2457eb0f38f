# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The private values folders of milvus_helm_hop, and the sweep of those a killed hop left behind."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.milvusops.cluster.plugins.module_utils.processes import process_alive, sweep_temp_folders

FOLDER_PREFIX = "milvusops-hop-"
LEGACY_MAX_AGE = 24 * 3600


def stale_values_folders(entries, uid, now, alive):
    """Names of values folders left by hops that were killed: ours (uid), whose module process is gone.

    entries: (name, owner uid, mtime) of the temp folder's entries. A folder is named
    milvusops-hop-<pid>-<random> by the module process <pid>; one without a pid (older releases of this
    collection) counts as left behind after LEGACY_MAX_AGE seconds.
    """
    stale = []
    for name, owner, mtime in entries:
        if not name.startswith(FOLDER_PREFIX) or owner != uid:
            continue
        pid = name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and "-" in name[len(FOLDER_PREFIX):]:
            if not alive(int(pid)):
                stale.append(name)
        elif now - mtime > LEGACY_MAX_AGE:
            stale.append(name)
    return stale


def sweep_values_folders(folder=None):
    """Remove the values folders of killed hops (a SIGKILL skips any cleanup); returns the names removed."""
    return sweep_temp_folders(
        FOLDER_PREFIX, lambda entries: stale_values_folders(entries, os.getuid(), time.time(), process_alive), folder)

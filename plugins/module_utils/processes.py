# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Processes on this controller: which one started when, and whether it still runs (the lock's holder,
the values folders of killed hops)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import shutil
import tempfile


def process_start(pid):
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or 0 when unknown."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
    except (OSError, ValueError):
        return 0
    fields = text[text.rfind(")") + 2:].split()   # after "pid (comm) ": state is field 3
    return int(fields[19]) if len(fields) > 19 else 0


def process_alive(pid, start=0):
    """Whether process pid runs on this host and, when start is known, is the one started then (pid reuse)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:     # exists, owned by someone else
        pass
    if not start:
        return True
    now_start = process_start(pid)
    return not now_start or now_start == start


def run_process():
    """(pid, start) of this run's ansible-playbook process: a task's worker is its forked child; anything else
    (templating in it, a module process) counts as its own."""
    pid = os.getppid() if multiprocessing.parent_process() is not None else os.getpid()
    return pid, process_start(pid)


def sweep_temp_folders(prefix, stale, root=None):
    """Remove the folders named prefix... in root (the temp folder) that stale(entries) names, entries being
    (name, owner uid, mtime) of each; returns the names removed. The folders of processes that ended without
    their own cleanup (a SIGKILL, a run that is over)."""
    root = root or tempfile.gettempdir()
    entries = []
    try:
        for entry in os.scandir(root):
            if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                entries.append((entry.name, info.st_uid, info.st_mtime))
    except OSError:
        return []
    removed = stale(entries)
    for name in removed:
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    return removed

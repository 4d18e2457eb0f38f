# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark callback: one JSON line per task start and per host result, with wall-clock timestamps.

Enabled only by the benchmark (tests/bench), through ANSIBLE_CALLBACK_PLUGINS and
ANSIBLE_CALLBACKS_ENABLED=bench_timing; writes to the file named by BENCH_TIMING_FILE.
Timestamps are time.time() in the controller's main process at the moment the strategy hands the event
to callbacks, i.e. when Ansible itself knows a task started or a result arrived.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import resource
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: per task and host timestamps for the milvusops benchmark
description: Writes JSON lines (task start, host start, host result) to $BENCH_TIMING_FILE.
requirements: [enable in configuration]
"""

# Result keys worth keeping (small); everything else is dropped.
KEEP = ("changed", "ready", "slices", "state", "elapsed", "ready_after", "revision_before", "revision_after", "msg")


def _get(result, name):
    value = getattr(result, name, None)  # ansible-core >= 2.19: host, task, result
    if value is None:
        value = getattr(result, "_" + name, None)
    return value


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        path = os.environ.get("BENCH_TIMING_FILE")
        self._out = open(path, "a") if path else None

    def _write(self, record):
        if self._out is None:
            return
        record["ts"] = time.time()
        # CPU seconds so far of this (main) process and of its reaped children (the forks with their modules
        # and helm): deltas between events attribute the controller's CPU to tasks
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        record["cpu_main"] = round(own.ru_utime + own.ru_stime, 3)
        record["cpu_children"] = round(children.ru_utime + children.ru_stime, 3)
        self._out.write(json.dumps(record, default=str) + "\n")
        self._out.flush()

    @staticmethod
    def _task(task):
        return {"task": task.get_name(), "action": task.action, "uuid": task._uuid}

    def v2_playbook_on_start(self, playbook):
        self._write({"event": "playbook_start"})

    def v2_playbook_on_play_start(self, play):
        # the strategy as Ansible chose it (the upgrade playbook picks one by fleet size and failure policy)
        self._write({"event": "play_start", "play": play.get_name(), "strategy": play.strategy})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write(dict(self._task(task), event="task_start"))

    def v2_runner_on_start(self, host, task):
        self._write(dict(self._task(task), event="host_start", host=host.get_name()))

    def _result(self, event, result):
        task, host, data = _get(result, "task"), _get(result, "host"), _get(result, "result") or {}
        record = dict(self._task(task), event=event, host=host.get_name())
        record.update((key, data[key]) for key in KEEP if key in data)
        if isinstance(record.get("msg"), str):
            record["msg"] = record["msg"][:300]
        self._write(record)

    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        self._write({"event": "playbook_end"})
        if self._out is not None:
            self._out.close()
            self._out = None

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait for a hop's rollout in one task, however long it takes.

One watch of the release for the whole wait, run in the worker process: every ``return_after`` seconds it
prints what is still rolling and renews the upgrade lock when half of its life has passed. The cost of a
progress slice is one line of output (and, now and then, one Lease write), whatever the slice's number.
Without the kubernetes library in the controller's Python the module runs once per slice instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import describe_target
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import (
    HAS_KUBERNETES, Kube, KubeError, remove_client_temp_files)
from ansible_collections.milvusops.cluster.plugins.module_utils.lease import LockLost, lock_params, renew
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import HAS_PACKAGING
from ansible_collections.milvusops.cluster.plugins.plugin_utils.in_process import (
    Failed, InProcessModule, apply_task_environment)

display = Display()

WAIT_MODULE = "milvusops.cluster.milvus_wait_ready"
LOCK_MODULE = "milvusops.cluster.milvus_lock"


def progress_line(cluster, hop_name, started, now, waiting_for):
    """The line shown after each slice that ended before the hop's end state."""
    return "%s: hop %s rolling for %d s, waiting for: %s" % (
        cluster, hop_name or "(unnamed)", max(int(now - started), 0), "; ".join(waiting_for or []) or "nothing listed")


def renewal_due(last_renewal, duration, now):
    """True when the lock needs renewing: never renewed by this wait, or half its duration has passed."""
    return last_renewal is None or now - last_renewal >= duration / 2.0


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        # imported here: the module files import AnsibleModule, which an action plugin's import must not need
        from ansible_collections.milvusops.cluster.plugins.modules.milvus_wait_ready import argument_spec

        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        apply_task_environment(self)
        unused, params = self.validate_argument_spec(argument_spec=argument_spec())
        params["started"] = params.get("started") or time.time()
        self.slices = 0
        self.renewals = 0
        if HAS_KUBERNETES and HAS_PACKAGING:
            outcome = self.run_in_process(params)
        else:
            outcome = self.run_module_per_slice(params, task_vars)
        result.update(outcome)
        # changed only when the wait resumed Deployments an ordered hop paused
        result.update(slices=self.slices, lock_renewals=self.renewals, changed=bool(outcome.get("changed")))
        return result

    def show_progress(self, params, waiting_for):
        self.slices += 1
        display.display(progress_line(params.get("cluster_name") or describe_target(params), params.get("hop_name"), params["started"],
                                      time.time(), waiting_for))

    def run_in_process(self, params):
        try:
            return self.wait_in_process(params)
        finally:
            remove_client_temp_files()   # this worker ends without the client's own exit-time cleanup

    def wait_in_process(self, params):
        from ansible_collections.milvusops.cluster.plugins.modules.milvus_wait_ready import Waiter

        module = InProcessModule(params, self._task.check_mode)
        lock = params.get("renew_lock")
        state = {"renewed": None}
        try:
            kube = Kube(params)
        except KubeError as exc:
            return dict(failed=True, msg="%s: %s" % (describe_target(params), exc))

        def on_slice(verdict):
            self.show_progress(params, verdict["waiting_for"])
            now = time.time()
            if lock and not self._task.check_mode and renewal_due(state["renewed"], lock["duration"], now):
                try:
                    renew(params, lock, kube)
                except LockLost as exc:
                    raise Failed(dict(failed=True, msg="%s: lost the upgrade lock while waiting: %s" % (
                        describe_target(params), exc)))
                state["renewed"] = now
                self.renewals += 1

        waiter = Waiter(module, kube, on_slice=on_slice)
        try:
            return waiter.run()
        except Failed as exc:
            return exc.result
        finally:
            waiter.view.stop()

    def run_module_per_slice(self, params, task_vars):
        """The wait as a module per slice, on hosts where the controller's Python lacks the libraries."""
        args = dict((key, value) for key, value in self._task.args.items() if key != "renew_lock")
        args.update(started=params["started"], deadline=params.get("deadline") or params["started"] + params["timeout"])
        lock = params.get("renew_lock")
        renewed = None
        while True:
            outcome = self._execute_module(module_name=WAIT_MODULE, module_args=args, task_vars=task_vars)
            if outcome.get("failed") or outcome.get("ready") or not params["return_after"]:
                return outcome
            self.show_progress(params, outcome.get("waiting_for"))
            now = time.time()
            if lock and not self._task.check_mode and renewal_due(renewed, lock["duration"], now):
                renewal = self._execute_module(module_name=LOCK_MODULE, module_args=lock_params(params, lock),
                                               task_vars=task_vars)
                if renewal.get("failed"):
                    raise AnsibleActionFail("lost the upgrade lock while waiting: %s" % renewal.get("msg"))
                renewed = now
                self.renewals += 1

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the collection's modules inside the task's worker process instead of as a module process.

The modules talk to the Kubernetes API and run helm from the controller. As a module process each would
start a Python interpreter and import the kubernetes client (about a CPU-second a task); Ansible's strategy
loads action plugin classes in its main process, so the client imported there is already in every forked
worker. The module's own run(module) gets an InProcessModule with the AnsibleModule members it uses.
Where the controller's Python lacks the libraries, the plugin runs the module process as usual.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import subprocess

from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.process import get_bin_path
from ansible.plugins.action import ActionBase

from ansible_collections.milvusops.cluster.plugins.module_utils.kube import remove_client_temp_files


class Failed(Exception):
    """fail_json of a module run in process: the result it would have printed."""

    def __init__(self, result):
        Exception.__init__(self, result.get("msg"))
        self.result = result


class Exited(Exception):
    """exit_json of a module run in process."""

    def __init__(self, result):
        Exception.__init__(self, "exit_json")
        self.result = result


class InProcessModule(object):
    """The AnsibleModule members the collection's modules use: params, modes, warnings, results, commands."""

    def __init__(self, params, check_mode, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []
        self.cleanup_files = []

    def warn(self, warning):
        self.warnings.append(warning)

    def fail_json(self, msg, **kwargs):
        kwargs.update(msg=msg, failed=True)
        raise Failed(kwargs)

    def exit_json(self, **kwargs):
        raise Exited(kwargs)

    def get_bin_path(self, name):
        try:
            return get_bin_path(name)
        except ValueError:
            return None

    def run_command(self, args, environ_update=None):
        """(rc, stdout, stderr) of a command run without a shell, as AnsibleModule.run_command returns them."""
        environment = dict(os.environ, **(environ_update or {}))
        try:
            done = subprocess.run(args, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, check=False)
        except OSError as exc:
            return 2, "", str(exc)
        return (done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))

    def add_cleanup_file(self, path):
        self.cleanup_files.append(path)

    def run(self, function):
        """The module result of function(self): what exit_json or fail_json was given, with the warnings."""
        try:
            function(self)
            result = {}
        except (Exited, Failed) as ended:
            result = ended.result
        finally:
            for path in self.cleanup_files:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        if self.warnings:
            result["warnings"] = result.get("warnings", []) + self.warnings
        return result


def apply_task_environment(action):
    """The task's `environment:` (K8S_AUTH_*, HELM_*...) as a module process would get it: in this worker's own.

    The worker runs this one task and ends, so its environment is the task's to set.
    """
    environment = {}
    action._compute_environment_string(environment)
    os.environ.update(environment)


class InProcessAction(ActionBase):
    """The action plugin of a module with run(module) that can run in process (see the module docstring).

    in_process_action() makes one per module: MODULE, libraries_present() and module_functions().
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    MODULE = None

    def libraries_present(self):
        raise NotImplementedError

    def module_functions(self):
        """(argument_spec, run) of the module."""
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessAction, self).run(tmp, task_vars)
        del tmp
        if not self.libraries_present():
            result.update(self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                               task_vars=task_vars))
            return result
        apply_task_environment(self)
        argument_spec, run_module = self.module_functions()
        validation, params = self.validate_argument_spec(argument_spec=argument_spec)
        module = InProcessModule(params, bool(self._task.check_mode), bool(self._task.diff))
        try:
            outcome = module.run(run_module)
        finally:
            remove_client_temp_files()   # this worker ends without the client's own exit-time cleanup
        outcome.setdefault("invocation", {"module_args": params})   # as AnsibleModule reports it
        # what a module process does to its output: no value of a no_log option is shown
        result.update(remove_values(outcome, validation._no_log_values))
        result.setdefault("changed", False)
        return result


def in_process_action(module_name, libraries_present):
    """The ActionModule class of the collection's module module_name (which has argument_spec() and run(module)).

    libraries_present: whether this Python has what the module imports; without them it runs as a module.
    """

    class ActionModule(InProcessAction):

        MODULE = "milvusops.cluster." + module_name

        def libraries_present(self):
            return libraries_present

        def module_functions(self):
            # imported here: the module file imports AnsibleModule, which loading an action plugin must not need
            module = importlib.import_module("ansible_collections.milvusops.cluster.plugins.modules." + module_name)
            return module.argument_spec(), module.run

    return ActionModule

# -*- coding: utf-8 -*-
"""plugins/plugin_utils/in_process.py: a module's run(module) inside the worker gives what the module would print."""
from __future__ import absolute_import, division, print_function

import os
import sys

from ansible_collections.milvusops.cluster.plugins.plugin_utils.in_process import InProcessModule


def test_exit_json_is_the_result_with_the_warnings_added():
    def run(module):
        module.warn("a warning")
        module.exit_json(changed=True, revision_after=3)
        raise AssertionError("exit_json must end the module")

    assert InProcessModule({}, False).run(run) == {"changed": True, "revision_after": 3, "warnings": ["a warning"]}


def test_fail_json_is_a_failed_result_with_its_message():
    def run(module):
        module.fail_json(msg="cluster a: boom", denied=[1])
        raise AssertionError("fail_json must end the module")

    assert InProcessModule({}, False).run(run) == {"msg": "cluster a: boom", "denied": [1], "failed": True}


def test_files_registered_for_cleanup_are_removed_however_the_module_ends(tmp_path):
    kept = tmp_path / "generated-kubeconfig"

    def run(module):
        kept.write_text("secret")
        module.add_cleanup_file(str(kept))
        module.fail_json(msg="failed after writing it")

    assert InProcessModule({}, False).run(run)["failed"]
    assert not kept.exists()


def test_run_command_gives_rc_stdout_stderr_and_lays_the_environment_over_the_process_own():
    module = InProcessModule({}, False)
    script = "import os, sys; print(os.environ['HOP'], os.environ['PATH'] != ''); sys.stderr.write('err'); sys.exit(3)"
    rc, out, err = module.run_command([sys.executable, "-c", script], environ_update={"HOP": "streaming"})
    assert (rc, out, err) == (3, "streaming True\n", "err")
    assert "HOP" not in os.environ


def test_a_missing_binary_is_none_as_for_a_module_and_a_command_that_cannot_start_is_an_error():
    module = InProcessModule({}, False)
    assert module.get_bin_path("no-such-helm-binary-here") is None
    found = module.get_bin_path("sh")
    assert found and os.path.isabs(found) and os.access(found, os.X_OK)
    rc, out, err = module.run_command(["/nonexistent/helm", "version"])
    assert rc != 0 and out == "" and "nonexistent" in err

# -*- coding: utf-8 -*-
"""plugins/action/milvus_report.py: report files written on the controller, run through the real ActionModule."""
from __future__ import absolute_import, division, print_function

import os
import stat
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.milvusops.cluster.plugins.action import milvus_report
from ansible_collections.milvusops.cluster.plugins.action.milvus_report import (
    ActionModule, make_folders, octal_mode, write_atomically)


def run(args, check_mode=False, diff=False):
    task = Task()
    task.args = dict(args)
    task.check_mode = check_mode
    task.diff = diff
    no_connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="unused"))   # the action never touches it
    action = ActionModule(task, connection=no_connection, play_context=None, loader=None, templar=None,
                          shared_loader_obj=None)
    return action.run(task_vars={})


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_writes_the_file_and_creates_missing_folders_with_their_mode(tmp_path):
    dest = tmp_path / "report" / "clusters" / "c1.json"
    old_umask = os.umask(0o077)     # the exact modes hold whatever the umask
    try:
        result = run({"dest": str(dest), "content": '{"status": "upgraded"}\n'})
    finally:
        os.umask(old_umask)
    assert dest.read_text() == '{"status": "upgraded"}\n'
    assert result["changed"] and result["size"] == 23 and result["dest"] == str(dest)
    assert mode_of(dest) == 0o640
    assert mode_of(dest.parent) == 0o750 and mode_of(dest.parent.parent) == 0o750
    assert os.listdir(str(dest.parent)) == ["c1.json"]      # no temporary file left behind


def test_existing_folders_keep_their_permissions(tmp_path):
    tmp_path.chmod(0o755)
    run({"dest": str(tmp_path / "fleet-report.txt"), "content": "x", "mode": "0600"})
    assert mode_of(tmp_path) == 0o755 and mode_of(tmp_path / "fleet-report.txt") == 0o600


def test_same_content_is_no_change_and_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "r.json"
    run({"dest": str(dest), "content": "one"})
    assert run({"dest": str(dest), "content": "one"})["changed"] is False
    result = run({"dest": str(dest), "content": "two"}, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == "one" and result["diff"]["after"] == "two"
    assert dest.read_text() == "one"
    assert not (tmp_path / "new" / "r.json").exists() and run(
        {"dest": str(tmp_path / "new" / "r.json"), "content": "x"}, check_mode=True)["changed"]
    assert not (tmp_path / "new").exists()


def test_a_failed_write_keeps_the_old_report_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    dest = tmp_path / "r.json"
    dest.write_text("old")

    def broken_replace(source, target):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(milvus_report.os, "replace", broken_replace)
    with pytest.raises(AnsibleActionFail) as failed:
        run({"dest": str(dest), "content": "new"})
    assert "cannot write the report %s" % dest in str(failed.value) and "No space left" in str(failed.value)
    assert dest.read_text() == "old" and os.listdir(str(tmp_path)) == ["r.json"]


def test_unwritable_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"     # root writes anywhere: make the folder impossible instead
        blocker.write_text("")
        dest = blocker / "r.json"
    else:
        tmp_path.chmod(0o500)
        dest = tmp_path / "sub" / "r.json"
    with pytest.raises(AnsibleActionFail) as failed:
        run({"dest": str(dest), "content": "x"})
    assert "milvus_report_dir" in str(failed.value)


@pytest.mark.parametrize("value", ["rw", "0999", "77777", ""])
def test_modes_must_be_octal(value):
    with pytest.raises(AnsibleActionFail) as failed:
        octal_mode(value, "mode")
    assert "mode must be an octal permission string" in str(failed.value)


def test_helpers_directly(tmp_path):
    assert octal_mode("0640", "mode") == 0o640 and octal_mode(750, "directory_mode") == 0o750
    make_folders(str(tmp_path / "a" / "b"), 0o700)
    make_folders(str(tmp_path / "a" / "b"), 0o755)          # already there: untouched
    assert mode_of(tmp_path / "a" / "b") == 0o700
    write_atomically(str(tmp_path / "a" / "b" / "f"), b"data", 0o604)
    assert (tmp_path / "a" / "b" / "f").read_bytes() == b"data" and mode_of(tmp_path / "a" / "b" / "f") == 0o604


# -- probe: the report folder is checked before anything changes -------------------------------

@pytest.mark.parametrize("check_mode", [False, True])
def test_probe_creates_a_missing_folder_and_leaves_nothing_in_it(tmp_path, check_mode):
    folder = tmp_path / "reports" / "milvus"
    result = run({"dest": str(folder), "probe": True}, check_mode=check_mode)
    assert folder.is_dir() and list(folder.iterdir()) == []
    assert result["dest"] == str(folder) and result["changed"] is False


def test_probe_of_a_folder_that_cannot_be_written_says_nothing_was_changed(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(str(folder), os.W_OK):
            pytest.skip("running as root: permission bits do not stop writes")  # root ignores the mode bits
        with pytest.raises(AnsibleActionFail) as info:
            run({"dest": str(folder), "probe": True})
    finally:
        folder.chmod(0o700)
    assert "report folder %s cannot be written" % folder in str(info.value)
    assert "milvus_report_dir" in str(info.value) and "nothing was changed" in str(info.value)


def test_probe_of_a_file_where_the_folder_should_be_fails(tmp_path):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    with pytest.raises(AnsibleActionFail) as info:
        run({"dest": str(target), "probe": True})
    assert "is not a directory" in str(info.value) and "nothing was changed" in str(info.value)


def test_a_relative_dest_is_the_working_directory_not_the_pwd_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PWD", "/nonexistent-stale-pwd")
    result = run({"dest": "milvus-upgrade-report/clusters/c1.json", "content": "{}\n"})
    assert result["dest"] == str(tmp_path / "milvus-upgrade-report" / "clusters" / "c1.json")
    assert (tmp_path / "milvus-upgrade-report" / "clusters" / "c1.json").read_text() == "{}\n"


def test_content_is_required_unless_probing(tmp_path):
    with pytest.raises(AnsibleActionFail) as info:
        run({"dest": str(tmp_path / "x.json")})
    assert "content is required" in str(info.value)


def test_probe_reports_the_write_error_itself(tmp_path, monkeypatch):
    """A read-only mount or a full disk only shows on a real write (root passes any permission check)."""
    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(milvus_report.tempfile, "mkstemp", read_only)
    with pytest.raises(AnsibleActionFail) as info:
        run({"dest": str(tmp_path), "probe": True})
    assert "Read-only file system" in str(info.value) and "nothing was changed" in str(info.value)

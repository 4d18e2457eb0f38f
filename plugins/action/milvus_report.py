# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a report file on the controller, in the worker process (no module start on a host)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "content": {"type": "str"},
    "probe": {"type": "bool", "default": False},
    "mode": {"type": "str", "default": "0640"},
    "directory_mode": {"type": "str", "default": "0750"},
}


def octal_mode(value, name):
    """'0640' -> 0o640; anything else is an error naming the option."""
    try:
        mode = int(str(value), 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise AnsibleActionFail("%s must be an octal permission string such as '0640', got %r" % (name, value))
    return mode


def read_previous(dest):
    """The current content of dest, or None when there is no such file."""
    try:
        with open(dest, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def make_folders(folder, directory_mode):
    """Create folder and its missing parents with directory_mode; existing ones are left as they are."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:     # a parallel fork made it first
            continue
        os.chmod(path, directory_mode)  # exact mode, whatever the umask


def write_atomically(dest, data, mode):
    """Write data to a temporary file next to dest and rename it over dest."""
    folder = os.path.dirname(dest) or "."
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(dest) + ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, dest)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def probe_folder(folder, directory_mode):
    """Create folder if missing and prove a file can be written and removed in it (check mode too).

    Permission bits alone do not tell: a read-only mount, a full disk, ACLs or another owner only show on a real
    write. Raises OSError (or NotADirectoryError) with the reason.
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError("%s exists and is not a directory" % folder)
    make_folders(folder, directory_mode)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".milvusops-probe.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(b"probe\n")
            out.flush()
            os.fsync(out.fileno())
    finally:
        os.unlink(temporary)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        dest = os.path.abspath(args["dest"])  # relative: the controller's working directory, not $PWD
        if args["probe"]:
            try:
                probe_folder(dest, octal_mode(args["directory_mode"], "directory_mode"))
            except OSError as exc:
                raise AnsibleActionFail("the report folder %s cannot be written: %s. Choose a folder this user can "
                                        "write on the controller (the role's milvus_report_dir); nothing was changed"
                                        % (dest, exc.strerror or exc))
            result.update(dest=dest, changed=False)
            return result
        if args["content"] is None:
            raise AnsibleActionFail("content is required unless probe=true")
        mode = octal_mode(args["mode"], "mode")
        directory_mode = octal_mode(args["directory_mode"], "directory_mode")
        data = to_bytes(args["content"], errors="surrogate_or_strict")
        try:
            previous = read_previous(dest)
            result.update(dest=dest, size=len(data), changed=previous != data)
            if self._task.diff:
                result["diff"] = {"before_header": dest, "after_header": dest,
                                  "before": to_text(previous or b""), "after": args["content"]}
            if not self._task.check_mode:
                make_folders(os.path.dirname(dest), directory_mode)
                write_atomically(dest, data, mode)
        except OSError as exc:
            raise AnsibleActionFail("cannot write the report %s: %s. Choose a folder this user can write on the "
                                    "controller (the role's milvus_report_dir)" % (dest, exc))
        return result

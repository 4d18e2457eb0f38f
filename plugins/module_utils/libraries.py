# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python libraries a module needs: fail with Ansible's standard message when one did not import."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib


def import_error_text(error):
    """The traceback of a failed import, for fail_json(exception=...)."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def missing_libraries(libraries):
    """[(name, import error)] of the libraries that did not import; libraries: [(name, has, error)]."""
    return [(name, error) for name, has, error in libraries if not has]


def require_libraries(module, *libraries):
    """Fail the module, naming the first library (name, has, error) that did not import."""
    for name, error in missing_libraries(libraries):
        module.fail_json(msg=missing_required_lib(name), exception=import_error_text(error))

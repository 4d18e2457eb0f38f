# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hide secret values before anything is returned, logged or written to a report (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

REDACTED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# Key names that hold credentials in the Milvus chart and its subcharts (minio secretKey, externalS3
# accessKey, pulsar auth tokens, kafka sasl password, ...).
SECRET_KEY_PATTERN = re.compile(r"(password|passwd|secret|token|accesskey|apikey|credential|privatekey|"
                                r"sasl|tls\.key|auth\.?key)", re.IGNORECASE)


def redact_values(values, secret_paths=()):
    """A copy of a values tree with secret leaves replaced.

    A leaf is secret when its key name looks like a credential or its dotted path is listed in
    secret_paths (the operator's own list, e.g. ``extraConfigFiles.user\\.yaml``).
    """
    explicit = set(secret_paths or ())
    result = copy.deepcopy(values)
    _walk(result, "", explicit)
    return result


def _walk(node, prefix, explicit):
    if isinstance(node, dict):
        for key in list(node):
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            if path in explicit or (SECRET_KEY_PATTERN.search(str(key)) and not isinstance(node[key], (dict, list, bool))):
                node[key] = REDACTED
            else:
                _walk(node[key], path, explicit)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, "%s[%d]" % (prefix, index), explicit)


def redact_text(text, secrets):
    """Replace every given secret string in a text (command lines, helm's stderr)."""
    for secret in secrets or ():
        if secret:
            text = text.replace(secret, REDACTED)
    return text

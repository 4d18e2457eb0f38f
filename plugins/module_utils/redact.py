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


def _walk(node, prefix, explicit, plain_prefix=None):
    # paths escape dots inside keys (``extraConfigFiles.user\.yaml``, as flatten_values spells them);
    # the unescaped spelling is accepted too
    plain_prefix = prefix if plain_prefix is None else plain_prefix
    if isinstance(node, dict):
        for key in list(node):
            part = str(key).replace(".", "\\.")
            path = "%s.%s" % (prefix, part) if prefix else part
            plain = "%s.%s" % (plain_prefix, key) if plain_prefix else str(key)
            secret_key = SECRET_KEY_PATTERN.search(str(key))
            if path in explicit or plain in explicit or (
                    secret_key and not isinstance(node[key], (dict, list, bool))):
                node[key] = REDACTED
            elif secret_key and isinstance(node[key], list):  # e.g. kafka auth.jaas.clientPasswords
                node[key] = [item if isinstance(item, (dict, list, bool)) else REDACTED for item in node[key]]
                _walk(node[key], path, explicit, plain)
            else:
                _walk(node[key], path, explicit, plain)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, "%s[%d]" % (prefix, index), explicit, "%s[%d]" % (plain_prefix, index))


def redact_text(text, secrets):
    """Replace every given secret string in a text (command lines, helm's stderr)."""
    for secret in secrets or ():
        if secret:
            text = text.replace(secret, REDACTED)
    return text

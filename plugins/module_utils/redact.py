# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hide secret values before anything is returned, logged or written to a report (pure).

Three rules, applied to everything shown (results, --diff, messages, reports):

1. A value whose key looks like a credential (password, secret, token, accessKey, ...) is hidden.
2. The user-info of a URL (``pulsar+ssl://user:password@host``) is hidden, in any string.
3. Configuration text embedded in a value (``extraConfigFiles`` ``user.yaml``, JSON auth parameters) is
   parsed as YAML and rules 1 and 2 are applied inside it; the text keeps its own lines and comments. When
   the hidden text cannot be shown faithfully (a credential in flow style, an odd quoting), the whole text
   is hidden rather than risk showing part of a secret.

The operator's explicit list of dotted paths hides whole values on top of that.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.common.yaml import HAS_YAML, yaml_load

REDACTED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# Key names that hold credentials in the Milvus chart and its subcharts (minio secretKey, externalS3
# accessKey, pulsar auth tokens and authParams, kafka sasl password and JAAS config, ...).
SECRET_KEY_PATTERN = re.compile(r"(password|passwd|pwd|secret|token|accesskey|apikey|credential|privatekey|"
                                r"sasl|jaas|authparams|tls\.key|auth\.?key)", re.IGNORECASE)

# scheme://user-info@ : everything between the scheme and the last @ before the path is the user-info
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s\"'<>@]+(?:@[^/\s\"'<>@]+)*)@"
                           r"(?=[^/\s\"'<>@])")
# one `key: value` (or `key=value` in text that is not YAML) line of block-style configuration text
_YAML_LINE = re.compile(r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<quote>[\"']?)(?P<key>[^\"'#:\s{}\[\],][^\"'#:{}\[\],]*?)"
                        r"(?P=quote)(?P<sep>[ \t]*:[ \t]+)(?P<value>[^\s#].*?)(?P<comment>[ \t]+#.*)?[ \t]*$")
_PROPERTY_LINE = re.compile(r"^(?P<lead>[ \t]*)(?P<key>[A-Za-z0-9_.\-]+)(?P<sep>[ \t]*=[ \t]*)(?P<value>\S.*?)[ \t]*$")
_YAML_BOOL = re.compile(r"^(true|false|yes|no|on|off)$", re.IGNORECASE)


def redact_url_userinfo(text):
    """Hide the user-info of every URL in a text: ``scheme://user:pw@host`` -> ``scheme://<hidden>@host``."""
    if not isinstance(text, str) or "://" not in text:
        return text
    return _URL_USERINFO.sub(lambda match: match.group("scheme") + REDACTED + "@", text)


def redact_strings(node):
    """A copy of any structure with URL user-info hidden in every string (messages, evidence)."""
    if isinstance(node, dict):
        return dict((key, redact_strings(value)) for key, value in node.items())
    if isinstance(node, (list, tuple)):
        return [redact_strings(item) for item in node]
    return redact_url_userinfo(node)


def redact_values(values, secret_paths=()):
    """A copy of a values tree with secret leaves replaced.

    A leaf is secret when its key name looks like a credential or its dotted path is listed in
    secret_paths (the operator's own list, e.g. ``extraConfigFiles.user\\.yaml``). Other strings keep
    their text with URL user-info and the credentials of embedded configuration text hidden.
    """
    explicit = set(secret_paths or ())
    result = copy.deepcopy(values)
    if isinstance(result, str):
        return redact_embedded_text(result)
    _walk(result, "", explicit)
    return result


def _secret_key(key):
    return bool(SECRET_KEY_PATTERN.search(str(key)))


def _walk(node, prefix, explicit, plain_prefix=None):
    # paths escape dots inside keys (``extraConfigFiles.user\.yaml``, as flatten_values spells them);
    # the unescaped spelling is accepted too
    plain_prefix = prefix if plain_prefix is None else plain_prefix
    if isinstance(node, dict):
        for key in list(node):
            part = str(key).replace(".", "\\.")
            path = "%s.%s" % (prefix, part) if prefix else part
            plain = "%s.%s" % (plain_prefix, key) if plain_prefix else str(key)
            secret_key = _secret_key(key)
            if path in explicit or plain in explicit or (
                    secret_key and not isinstance(node[key], (dict, list, bool))):
                node[key] = REDACTED
            elif secret_key and isinstance(node[key], list):  # e.g. kafka auth.jaas.clientPasswords
                node[key] = [item if isinstance(item, (dict, list, bool)) else REDACTED for item in node[key]]
                _walk(node[key], path, explicit, plain)
            elif isinstance(node[key], str):
                node[key] = redact_embedded_text(node[key])
            else:
                _walk(node[key], path, explicit, plain)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, str):
                node[index] = redact_embedded_text(item)
            else:
                _walk(item, "%s[%d]" % (prefix, index), explicit, "%s[%d]" % (plain_prefix, index))


# -- configuration text inside a value -------------------------------------------------------------

def _parse_config_text(text):
    """The mapping or list a configuration text holds, else None (plain strings are not configuration)."""
    stripped = text.strip()
    if not HAS_YAML or not ("\n" in stripped or stripped.startswith("{") or stripped.startswith("[")):
        return None
    try:
        parsed = yaml_load(text)
    except Exception:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _secret_property(key):
    """A dotted property name (``sasl.jaas.config``, ``ssl.key.password``) is judged by its last part, and a
    JAAS configuration always holds credentials."""
    return _secret_key(key.rsplit(".", 1)[-1]) or "jaas" in key.lower()


def _hide_line(match):
    value = match.group("value")
    if not _secret_key(match.group("key")) or _YAML_BOOL.match(value) or value[:1] in ("|", ">", "{", "[", "&", "*"):
        return match.group(0)
    return "%s%s%s%s%s%s" % (match.group("lead"), match.group("quote"), match.group("key"), match.group("quote"),
                             match.group("sep"), REDACTED)


def _hide_block_scalars(lines):
    """`password: |` followed by more-indented lines: the lines are the secret."""
    result, hiding, indent = [], False, 0
    for line in lines:
        body = line.lstrip(" ")
        if hiding:
            if not body.strip() or len(line) - len(body) > indent:
                continue
            hiding = False
        match = _YAML_LINE.match(line)
        if match and _secret_key(match.group("key")) and match.group("value")[:1] in ("|", ">"):
            result.append("%s%s%s%s%s%s" % (match.group("lead"), match.group("quote"), match.group("key"),
                                            match.group("quote"), match.group("sep"), REDACTED))
            hiding, indent = True, len(line) - len(line.lstrip(" "))
            continue
        result.append(line)
    return result


def redact_embedded_text(text):
    """A string with URL user-info hidden and, when it is configuration text, its credentials hidden.

    YAML text keeps its lines; if the hidden text does not parse back to exactly the structurally
    hidden document, the whole text is hidden. Text that is not YAML gets its `key: value` and
    `key=value` lines with credential-like keys hidden.
    """
    if not isinstance(text, str):
        return text
    shown = redact_url_userinfo(text)
    parsed = _parse_config_text(text)
    if parsed is None:
        if "\n" not in text.strip():
            return shown
        lines = _hide_block_scalars(shown.splitlines())
        lines = [_YAML_LINE.sub(_hide_line, line) for line in lines]
        lines = [_PROPERTY_LINE.sub(lambda m: m.group(0) if not _secret_property(m.group("key")) else
                                    "%s%s%s%s" % (m.group("lead"), m.group("key"), m.group("sep"), REDACTED), line)
                 for line in lines]
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")
    expected = copy.deepcopy(parsed)
    holder = {"text": expected}
    _walk(holder, "", set())
    expected = holder["text"]
    lines = _hide_block_scalars(shown.splitlines())
    candidate = "\n".join(_YAML_LINE.sub(_hide_line, line) for line in lines) + ("\n" if text.endswith("\n") else "")
    try:
        faithful = yaml_load(candidate) == expected
    except Exception:
        faithful = False
    return candidate if faithful else REDACTED


def redact_text(text, secrets):
    """Replace every given secret string in a text (command lines, helm's stderr), and URL user-info."""
    for secret in secrets or ():
        if secret:
            text = text.replace(secret, REDACTED)
    return redact_url_userinfo(text)

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message queue of a live Milvus release: detect it, pin it, verify it did not change (pure).

Three independent witnesses are read:

1. ``helm get values --all`` with the chart's own precedence. First chain (one wins):
   externalPulsar -> pulsar (v2 subchart) -> woodpecker -> pulsarv3. Second, independent chain:
   externalKafka -> kafka. Both chains emitting means two MQs are configured.
2. The Milvus ConfigMap: ``default.yaml`` ``mq.type`` (or the old ``messageQueue``), with
   ``pulsar.address`` telling the v2 subchart (``<rel>-pulsar-proxy``) from v3 (``<rel>-pulsarv3-proxy``)
   from an external Pulsar, and ``kafka.brokerList`` in-release Kafka from external. ``user.yaml``
   overrides. Two top-level ``mq:`` blocks in the text = two MQs (YAML parsers keep only the last one, so
   the text is split into its top-level blocks first).
3. The MQ StatefulSets of the release (existence alone does not prove use, absence disproves it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.common.yaml import HAS_YAML, yaml_load

PULSAR_V2 = "pulsar-v2"
PULSAR_V3 = "pulsar-v3"
KAFKA = "kafka"
WOODPECKER = "woodpecker"
EXTERNAL_PULSAR = "external-pulsar"
EXTERNAL_KAFKA = "external-kafka"
KINDS = (PULSAR_V2, PULSAR_V3, KAFKA, WOODPECKER, EXTERNAL_PULSAR, EXTERNAL_KAFKA)

# kind -> the values flag that enables it
KIND_FLAGS = {
    PULSAR_V2: "pulsar",
    PULSAR_V3: "pulsarv3",
    KAFKA: "kafka",
    WOODPECKER: "woodpecker",
    EXTERNAL_PULSAR: "externalPulsar",
    EXTERNAL_KAFKA: "externalKafka",
}
# The WAL family a kind shows as in milvus_wal_info{wal_name=...} and in mq.type.
KIND_FAMILY = {
    PULSAR_V2: "pulsar", PULSAR_V3: "pulsar", EXTERNAL_PULSAR: "pulsar",
    KAFKA: "kafka", EXTERNAL_KAFKA: "kafka",
    WOODPECKER: "woodpecker",
}
# kind -> key of observed["mq_statefulsets"] holding its in-release StatefulSets
KIND_STATEFULSETS = {PULSAR_V2: "pulsar", PULSAR_V3: "pulsarv3", KAFKA: "kafka"}
STATEFULSET_KIND = dict((family, kind) for kind, family in KIND_STATEFULSETS.items())

_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*|\"[^\"]+\"|'[^']+')[ \t]*:(?:[ \t]|$)")


def _go_truthy(value):
    """Truthiness as the chart's `{{ if .Values.x.enabled }}` sees it (a string "false" is true)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def _enabled(values, key):
    section = (values or {}).get(key)
    return isinstance(section, dict) and _go_truthy(section.get("enabled"))


# -- witness 1: the values ------------------------------------------------------------------

def from_values(all_values):
    """The kinds the chart would configure from the merged values (0, 1 or 2 kinds, chain order)."""
    kinds = []
    if _enabled(all_values, "externalPulsar"):
        kinds.append(EXTERNAL_PULSAR)
    elif _enabled(all_values, "pulsar"):
        kinds.append(PULSAR_V2)
    elif _enabled(all_values, "woodpecker"):
        kinds.append(WOODPECKER)
    elif _enabled(all_values, "pulsarv3"):
        kinds.append(PULSAR_V3)
    if _enabled(all_values, "externalKafka"):
        kinds.append(EXTERNAL_KAFKA)
    elif _enabled(all_values, "kafka"):
        kinds.append(KAFKA)
    return kinds


# -- witness 2: the ConfigMap ---------------------------------------------------------------

def top_level_blocks(text):
    """[(key, parsed value)] of every top-level key of a YAML mapping text, duplicates included.

    Only block-style top-level mappings are split (what the chart renders); each block is parsed on
    its own, so a second ``mq:`` does not hide the first.
    """
    if not HAS_YAML:
        raise ImportError("PyYAML (an ansible-core dependency) is required to read the Milvus ConfigMap")
    blocks = []
    current_key, current_lines = None, []

    def flush():
        if current_key is not None:
            parsed = yaml_load("\n".join(current_lines)) or {}
            blocks.append((current_key, parsed.get(current_key) if isinstance(parsed, dict) else None))

    for line in (text or "").splitlines():
        if line.startswith("---") or line.startswith("..."):
            continue
        match = _TOP_LEVEL_KEY.match(line)
        if match:
            flush()
            current_key = match.group(1).strip("\"'")
            current_lines = [line]
        elif current_key is not None:
            current_lines.append(line)
    flush()
    return blocks


def _host_of(address):
    """'pulsar://u:p@rel-pulsar-proxy.ns.svc:6650' -> 'rel-pulsar-proxy' (first DNS label, lower case)."""
    text = str(address or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split(",")[0].split("/")[0]
    text = text.rsplit("@", 1)[-1]   # user-info (pulsar://user:password@host) is not the host
    if text.startswith("["):
        return text
    return text.split(":")[0].split(".")[0].lower()


def _pulsar_kind(address, release):
    host = _host_of(address)
    if host == ("%s-pulsar-proxy" % release).lower():
        return PULSAR_V2
    if host == ("%s-pulsarv3-proxy" % release).lower():
        return PULSAR_V3
    return EXTERNAL_PULSAR


def _kafka_kind(broker_list, release):
    host = _host_of(broker_list)
    if host == ("%s-kafka" % release).lower():
        return KAFKA
    return EXTERNAL_KAFKA


def _config_sections(text):
    """{key: [values of each top-level occurrence]} of a config file text."""
    sections = {}
    for key, value in top_level_blocks(text):
        sections.setdefault(key, []).append(value)
    return sections


def from_configmap(configmap, release):
    """(kinds, evidence) from the Milvus ConfigMap; kinds is None when it cannot tell.

    ``user.yaml`` overrides ``default.yaml`` key by key (Milvus merges it over the defaults).
    """
    if not configmap:
        return None, ["Milvus ConfigMap not found (customConfigMap, or a different fullname)"]
    data = configmap.get("data") or {}
    name = (configmap.get("metadata") or {}).get("name", "?")
    default_text = data.get("default.yaml") or data.get("milvus.yaml") or ""
    evidence = []
    try:
        default = _config_sections(default_text)
        user = _config_sections(data.get("user.yaml") or "")
    except Exception as exc:  # a YAML error: report it, do not guess
        return None, ["ConfigMap %s: cannot parse default.yaml/user.yaml: %s" % (name, exc)]

    def last(sections, key):
        values = sections.get(key) or []
        return values[-1] if values else None

    def setting(key, sub):
        for sections in (user, default):
            block = last(sections, key)
            if isinstance(block, dict) and block.get(sub) not in (None, ""):
                return block.get(sub)
        return None

    pulsar_address = setting("pulsar", "address")
    broker_list = setting("kafka", "brokerList")

    def kind_for(mq_type):
        mq_type = str(mq_type or "").strip().lower()
        if mq_type == "pulsar":
            if not pulsar_address:
                return None
            return _pulsar_kind(pulsar_address, release)
        if mq_type == "kafka":
            if not broker_list:
                return None
            return _kafka_kind(broker_list, release)
        if mq_type == "woodpecker":
            return WOODPECKER
        return None

    # mq.type candidates: user.yaml wins as a whole; default.yaml may carry two mq blocks
    user_mq = [b for b in user.get("mq", []) if isinstance(b, dict) and b.get("type")]
    default_mq = [b for b in default.get("mq", []) if isinstance(b, dict)]
    types = []
    if user_mq:
        types = [user_mq[-1].get("type")]
        evidence.append("ConfigMap %s user.yaml sets mq.type=%s" % (name, types[0]))
        if len(default_mq) > 1:
            evidence.append("ConfigMap %s default.yaml has %d top-level mq blocks (overridden by user.yaml)"
                            % (name, len(default_mq)))
    elif default_mq:
        types = [b.get("type") for b in default_mq]
        if len(types) > 1:
            evidence.append("ConfigMap %s default.yaml has %d top-level mq blocks: mq.type=%s"
                            % (name, len(types), ", ".join(str(t) for t in types)))
        else:
            evidence.append("ConfigMap %s default.yaml mq.type=%s" % (name, types[0]))
    else:
        message_queue = last(user, "messageQueue") or last(default, "messageQueue")
        if message_queue:
            types = [message_queue]
            evidence.append("ConfigMap %s messageQueue=%s" % (name, message_queue))
    if pulsar_address:
        evidence.append("ConfigMap %s pulsar.address=%s" % (name, pulsar_address))
    if broker_list:
        evidence.append("ConfigMap %s kafka.brokerList=%s" % (name, broker_list))

    if not types or all(str(t or "").strip().lower() in ("", "default") for t in types):
        # mq.type default: Milvus picks pulsar when configured, else kafka
        if pulsar_address:
            evidence.append("ConfigMap %s mq.type is default: pulsar is configured" % name)
            return [_pulsar_kind(pulsar_address, release)], evidence
        if broker_list:
            evidence.append("ConfigMap %s mq.type is default: kafka is configured" % name)
            return [_kafka_kind(broker_list, release)], evidence
        evidence.append("ConfigMap %s names no message queue" % name)
        return None, evidence
    kinds = []
    for mq_type in types:
        kind = kind_for(mq_type)
        if kind is None:
            evidence.append("ConfigMap %s mq.type=%s is not a supported cluster message queue or lacks its "
                            "address" % (name, mq_type))
            return None, evidence
        kinds.append(kind)
    return kinds, evidence


# -- the verdict ----------------------------------------------------------------------------

def pins(kind):
    """The values that pin a kind: all six enable flags set, only the kind's own true."""
    if kind not in KINDS:
        raise ValueError("unknown message queue kind %r (known: %s)" % (kind, ", ".join(KINDS)))
    return dict((flag, {"enabled": k == kind}) for k, flag in KIND_FLAGS.items())


def detect(all_values, configmap, mq_statefulsets, release, override=None, statefulset_uids=None):
    """Decide the message queue of a release.

    Returns {"kind": kind or None, "configured": [kinds from values], "configmap": [kinds] or None,
    "statefulsets": {name: uid}, "evidence": [...], "conflicts": [...], "notes": [...]}.
    ``kind`` is None whenever there is a conflict or nothing identifies the MQ.
    ``override`` (the operator's ``message_queue``) settles two-MQ / disagreeing evidence, but only when
    the ConfigMap (what Milvus actually reads) agrees with it.
    """
    mq_statefulsets = mq_statefulsets or {}
    statefulset_uids = statefulset_uids or {}
    evidence, conflicts, notes = [], [], []

    configured = from_values(all_values)
    evidence.append("helm values (--all): %s" % (
        ", ".join("%s.enabled=true" % KIND_FLAGS[k] for k in configured) if configured
        else "no message queue enabled"))
    cm_kinds, cm_evidence = from_configmap(configmap, release)
    evidence.extend(cm_evidence)
    present = dict((family, sorted(names)) for family, names in mq_statefulsets.items() if names)
    for family in sorted(present):
        evidence.append("StatefulSets app=%s: %s" % (family, ", ".join(present[family])))
    if not present:
        evidence.append("no message queue StatefulSets of the release")

    if len(configured) > 1:
        conflicts.append("two message queues are enabled in the helm values: %s"
                         % " and ".join(configured))
    if cm_kinds and len(cm_kinds) > 1:
        conflicts.append("the Milvus ConfigMap configures two message queues: %s" % " and ".join(cm_kinds))
    if cm_kinds is not None and configured and sorted(set(cm_kinds)) != sorted(set(configured)):
        conflicts.append("the helm values say %s but the Milvus ConfigMap says %s"
                         % ("+".join(configured), "+".join(cm_kinds)))
    candidates = cm_kinds if cm_kinds is not None else configured
    for kind in candidates or []:
        family = KIND_STATEFULSETS.get(kind)
        if family and not present.get(family):
            conflicts.append("%s is configured but no %s StatefulSet of the release exists" % (kind, family))
    for family in sorted(present):
        owner = STATEFULSET_KIND.get(family)
        if owner not in (candidates or []):
            notes.append("%s StatefulSets exist (%s) but %s is not the configured message queue"
                         % (family, ", ".join(present[family]), owner))

    kind = None
    if override:
        if override not in KINDS:
            conflicts.append("message_queue=%s is not a known kind (%s)" % (override, ", ".join(KINDS)))
        elif cm_kinds is not None and override in cm_kinds:
            if conflicts:
                evidence.append("operator message_queue=%s agrees with the ConfigMap; it settles: %s"
                                % (override, "; ".join(conflicts)))
            else:
                evidence.append("operator message_queue=%s agrees with the detection" % override)
            conflicts = []
            kind = override
        elif cm_kinds is not None:
            conflicts.append("message_queue=%s was given but the Milvus ConfigMap configures %s"
                             % (override, "+".join(cm_kinds)))
        else:
            conflicts.append("message_queue=%s cannot be checked: the Milvus ConfigMap does not say which "
                             "message queue Milvus uses" % override)
    elif not conflicts:
        if candidates and len(candidates) == 1:
            kind = candidates[0]
    if kind is None and not conflicts:
        conflicts.append("the message queue cannot be identified (values: %s; ConfigMap: %s)" % (
            "+".join(configured) or "none", "+".join(cm_kinds) if cm_kinds else "unknown"))

    own = {}
    for family, names in present.items():
        for name in names:
            own[name] = statefulset_uids.get(name)
    return {
        "kind": kind,
        "configured": configured,
        "configmap": cm_kinds,
        "statefulsets": own,
        "evidence": evidence,
        "conflicts": conflicts,
        "notes": notes,
    }


# -- after a hop ----------------------------------------------------------------------------

_WAL_INFO = re.compile(r'^milvus_wal_info\{([^}]*)\}', re.MULTILINE)
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_wal_names(metrics_text):
    """Distinct wal_name label values of milvus_wal_info in a Prometheus text exposition."""
    names = []
    for match in _WAL_INFO.finditer(metrics_text or ""):
        labels = dict(_LABEL.findall(match.group(1)))
        name = labels.get("wal_name")
        if name and name not in names:
            names.append(name)
    return names


def verify(before, after, wal_names=None):
    """Problems (list of strings, empty when fine) comparing MQ detections before and after a hop.

    before/after are detect() results. The kind must be the same, every MQ StatefulSet that existed
    must still exist with the same uid, and no StatefulSet of another MQ family may have appeared.
    wal_names: the wal_name values the streaming nodes report (None = not checked; [] = checked and
    none reported).
    """
    problems = []
    kind_before = (before or {}).get("kind")
    kind_after = (after or {}).get("kind")
    if kind_after != kind_before:
        problems.append("message queue changed: %s before the hop, %s after" % (kind_before, kind_after or "unknown"))
    for conflict in (after or {}).get("conflicts") or []:
        problems.append("after the hop: %s" % conflict)
    sts_before = (before or {}).get("statefulsets") or {}
    sts_after = (after or {}).get("statefulsets") or {}
    for name in sorted(sts_before):
        if name not in sts_after:
            problems.append("StatefulSet %s existed before the hop and is gone" % name)
        elif sts_before[name] and sts_after[name] and sts_before[name] != sts_after[name]:
            problems.append("StatefulSet %s was recreated (uid %s -> %s)" % (name, sts_before[name], sts_after[name]))
    for name in sorted(set(sts_after) - set(sts_before)):
        problems.append("StatefulSet %s appeared during the hop (a message queue was added)" % name)
    if wal_names is not None:
        family = KIND_FAMILY.get(kind_before)
        if not wal_names:
            problems.append("no streaming node reports milvus_wal_info: the WAL in use is unknown")
        for name in wal_names:
            if family and name.lower() != family:
                problems.append("a streaming node opened a %s WAL but the message queue is %s" % (name, kind_before))
    return problems

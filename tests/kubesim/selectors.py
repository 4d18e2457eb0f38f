"""Label and field selectors as the API server parses them from query strings."""

import re


class SelectorError(ValueError):
    pass


_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(text):
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text):
    """Parse `a=b,c!=d,e in (f,g),h notin (i),j,!k` into (key, op, values) terms."""
    reqs = []
    for term in _split_terms(text or ""):
        m = _SET_RE.match(term)
        if m:
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), values))
        elif "!=" in term:
            k, v = term.split("!=", 1)
            reqs.append((k.strip(), "!=", {v.strip()}))
        elif "==" in term:
            k, v = term.split("==", 1)
            reqs.append((k.strip(), "=", {v.strip()}))
        elif "=" in term:
            k, v = term.split("=", 1)
            reqs.append((k.strip(), "=", {v.strip()}))
        elif term.startswith("!"):
            reqs.append((term[1:].strip(), "!exists", set()))
        elif re.match(r"^[A-Za-z0-9_./-]+$", term):
            reqs.append((term, "exists", set()))
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        val = labels.get(key)
        if op in ("=", "in"):
            if not present or val not in values:
                return False
        elif op in ("!=", "notin"):
            if present and val in values:
                return False
        elif op == "exists":
            if not present:
                return False
        elif op == "!exists":
            if present:
                return False
    return True


def selector_from_label_selector(sel):
    """Requirements from a LabelSelector object (matchLabels/matchExpressions)."""
    reqs = [(k, "=", {v}) for k, v in (sel or {}).get("matchLabels", {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in (sel or {}).get("matchExpressions", []) or []:
        reqs.append((expr["key"], ops[expr["operator"]], set(expr.get("values") or [])))
    return reqs


FIELD_GETTERS = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace", ""),
    "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
    "type": lambda o: o.get("type", ""),
    "involvedObject.name": lambda o: (o.get("involvedObject") or {}).get("name", ""),
    "involvedObject.kind": lambda o: (o.get("involvedObject") or {}).get("kind", ""),
    "involvedObject.namespace": lambda o: (o.get("involvedObject") or {}).get("namespace", ""),
}


def parse_field_selector(text):
    reqs = []
    for term in _split_terms(text or ""):
        if "!=" in term:
            k, v = term.split("!=", 1)
            op = "!="
        elif "==" in term:
            k, v = term.split("==", 1)
            op = "="
        elif "=" in term:
            k, v = term.split("=", 1)
            op = "="
        else:
            raise SelectorError(f"invalid field selector term {term!r}")
        k = k.strip()
        if k not in FIELD_GETTERS:
            raise SelectorError(f"field label not supported: {k}")
        reqs.append((k, op, v.strip()))
    return reqs


def match_fields(reqs, obj):
    for key, op, value in reqs:
        actual = FIELD_GETTERS[key](obj)
        if (actual == value) != (op == "="):
            return False
    return True

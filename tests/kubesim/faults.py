"""Fault rules: pod faults the kubelet applies and API faults the server applies.

Pod rule:  {"type": "crashloop|imagepull|oomkilled|configerror|neverready",
            "image": "<substring>", "component": "<label component>", "namespace": "<ns>"}
API rules: {"type": "error", "rate": 0.3, "code": 503, "verb": "patch", "path": "deployments",
            "count": N}, {"type": "latency", "ms": 200}, {"type": "outage", "mode": "503|refuse"}
Every rule may carry "delay" (seconds until it starts) and "duration" (seconds it lasts).
"""

import random
import threading
import time

POD_FAULTS = ("crashloop", "imagepull", "oomkilled", "configerror", "neverready")
API_FAULTS = ("error", "latency", "outage")


class FaultError(ValueError):
    pass


class Faults:
    def __init__(self, on_change=None):
        self._lock = threading.Lock()
        self._rules = []
        self._next_id = 1
        self._on_change = on_change
        self.injected = 0  # API faults applied to requests so far

    def _changed(self):
        if self._on_change:
            self._on_change()

    def add(self, rule):
        """Add a rule; returns it with its `id`, `start` and `until` (epoch seconds or None)."""
        rule = dict(rule)
        kind = rule.get("type") or rule.get("fault")
        if kind not in POD_FAULTS + API_FAULTS:
            raise FaultError(f"unknown fault type {kind!r}; use one of {', '.join(POD_FAULTS + API_FAULTS)}")
        rule["type"] = kind
        rule.pop("fault", None)
        if kind in POD_FAULTS and not (rule.get("image") or rule.get("component")):
            raise FaultError("a pod fault needs `image` (substring) and/or `component`")
        if kind == "error":
            rule.setdefault("rate", 1.0)
            rule.setdefault("code", 500)
            if not 0 <= float(rule["rate"]) <= 1:
                raise FaultError("rate must be between 0 and 1")
        if kind == "latency" and "ms" not in rule:
            raise FaultError("a latency fault needs `ms`")
        if kind == "outage":
            rule.setdefault("mode", "503")
            if rule["mode"] not in ("503", "refuse"):
                raise FaultError("outage mode is 503 or refuse")
        now = time.time()
        rule["start"] = now + float(rule.get("delay") or 0)
        rule["until"] = rule["start"] + float(rule["duration"]) if rule.get("duration") else None
        with self._lock:
            rule["id"] = self._next_id
            self._next_id += 1
            rng = random.Random(rule.get("seed"))
            self._rules.append((rule, rng))
        self._changed()
        return dict(rule)

    def remove(self, rule_id):
        with self._lock:
            before = len(self._rules)
            self._rules = [(r, g) for r, g in self._rules if r["id"] != int(rule_id)]
            found = len(self._rules) != before
        self._changed()
        return found

    def clear(self):
        with self._lock:
            self._rules = []
        self._changed()

    def list(self):
        with self._lock:
            return [dict(r) for r, _ in self._rules]

    def _active(self, now):
        self._rules = [(r, g) for r, g in self._rules if r["until"] is None or r["until"] > now]
        return [(r, g) for r, g in self._rules if r["start"] <= now]

    # ---- pod faults ------------------------------------------------------------------
    def pod_fault(self, pod, container):
        """The fault type that applies to this container of this pod now, or None."""
        labels = pod.get("metadata", {}).get("labels") or {}
        with self._lock:
            for rule, _ in self._active(time.time()):
                if rule["type"] not in POD_FAULTS:
                    continue
                if rule.get("image") and rule["image"] not in container.get("image", ""):
                    continue
                if rule.get("component") and labels.get("component") != rule["component"]:
                    continue
                if rule.get("namespace") and pod["metadata"].get("namespace") != rule["namespace"]:
                    continue
                if rule.get("container") and container.get("name") != rule["container"]:
                    continue
                return rule["type"]
        return None

    def next_change(self):
        """Epoch time at which some pod rule starts or ends (kubelet re-checks then), or None."""
        with self._lock:
            times = [t for r, _ in self._rules if r["type"] in POD_FAULTS
                     for t in (r["start"], r["until"]) if t and t > time.time()]
        return min(times) if times else None

    # ---- API faults ------------------------------------------------------------------
    def api_decision(self, verb, path):
        """What to do with one request: (latency_seconds, outage_mode or None, error_code or None)."""
        latency, outage, code = 0.0, None, None
        with self._lock:
            for rule, rng in self._active(time.time()):
                if rule["type"] not in API_FAULTS:
                    continue
                if rule.get("verb") and rule["verb"] != verb:
                    continue
                if rule.get("path") and rule["path"] not in path:
                    continue
                if rule["type"] == "latency":
                    latency += float(rule["ms"]) / 1000.0
                elif rule["type"] == "outage":
                    outage = rule["mode"]
                    self.injected += 1
                elif code is None and rng.random() < float(rule["rate"]):
                    if rule.get("count") is not None:
                        if rule["count"] <= 0:
                            continue
                        rule["count"] -= 1
                    code = int(rule["code"])
                    self.injected += 1  # tests prove a fault really hit (expired rules are pruned)
        return latency, outage, code

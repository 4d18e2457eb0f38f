"""Pod faults on the real control plane, with the simulator's rule format (tests/kubesim/faults.py):

    {"type": "crashloop|imagepull|oomkilled|configerror|neverready", "image": "<substring>",
     "component": "<label component>"}
    {"type": "slowstart", "seconds": 3, "image": ..., "component": ...}   (the normal start, that much later)

Each rule becomes a kwok Stage that outweighs the normal lifecycle for the matching pods of one
namespace and plays what a kubelet would report. "unschedulable" cordons every node instead, so the
real scheduler leaves new pods Pending with its own Unschedulable condition. Faults that are API
errors, latency or outages need the simulator: asking for one here fails the test.

A start delay (the simulator's per-cluster `pod_start_delay`) is the normal lifecycle stage again,
for one namespace, with kwok's delay: pods bound from then on turn Ready that many seconds later.
"""

import copy
import json
from pathlib import Path

import yaml

STAGES = "/apis/kwok.x-k8s.io/v1alpha1/stages"

# type -> (phase, container state, last terminated state or None)
POD_STATES = {
    "crashloop": ("Running", {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 40s restarting failed container"}},
                  {"exitCode": 1, "reason": "Error"}),
    "oomkilled": ("Running", {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 40s restarting failed container"}},
                  {"exitCode": 137, "reason": "OOMKilled"}),
    "imagepull": ("Pending", {"waiting": {"reason": "ImagePullBackOff",
                                          "message": "Back-off pulling image"}}, None),
    "configerror": ("Pending", {"waiting": {"reason": "CreateContainerConfigError",
                                            "message": "configmap not found"}}, None),
    "neverready": ("Running", {"running": {}}, None),
}


LIFECYCLE = Path(__file__).resolve().parent / "stages" / "lifecycle.yaml"
RUNNING_STAGE = "milvusops-pod-running"


class FaultError(ValueError):
    pass


def slow_start_stage(name, namespace, rule, lifecycle):
    """The normal start of the matching pods of one namespace, after rule["seconds"]: kwok's own delay."""
    stage = next(s for s in lifecycle if s["metadata"]["name"] == "milvusops-pod-running")
    expressions = list(stage["spec"]["selector"]["matchExpressions"]) + [
        {"key": ".metadata.namespace", "operator": "In", "values": [namespace]}]
    if rule.get("image"):
        expressions.append({"key": "[.spec.containers[].image | contains(%s)] | any" % json.dumps(rule["image"]),
                            "operator": "In", "values": ["true"]})
    if rule.get("component"):
        expressions.append({"key": ".metadata.labels.component", "operator": "In", "values": [rule["component"]]})
    spec = dict(stage["spec"], selector={"matchExpressions": expressions}, weight=100,
                delay={"durationMilliseconds": int(float(rule["seconds"]) * 1000)})
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": name, "labels": {"milvusops.test/fault-namespace": namespace}}, "spec": spec}


def marker(kind):
    """The Ready condition's message a faulted pod carries (the lifecycle stages leave it alone)."""
    return "milvusops fault %s" % kind


def fault_stage(name, namespace, rule):
    """The kwok Stage that plays one pod fault rule in one namespace."""
    kind = rule["type"]
    phase, state, last = POD_STATES[kind]
    expressions = [
        {"key": ".metadata.namespace", "operator": "In", "values": [namespace]},
        {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
        {"key": ".spec.nodeName", "operator": "Exists"},
        {"key": '.status.conditions[]? | select(.type == "Ready") | (.message // "")',
         "operator": "NotIn", "values": [marker(kind)]},
    ]
    if rule.get("image"):
        expressions.append({"key": "[.spec.containers[].image | contains(%s)] | any" % json.dumps(rule["image"]),
                            "operator": "In", "values": ["true"]})
    if rule.get("component"):
        expressions.append({"key": ".metadata.labels.component", "operator": "In", "values": [rule["component"]]})
    running = "running" in state
    restarts = 0 if last is None else 5
    status = {
        "phase": phase,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": marker(kind)},
        ],
    }
    # The template is Go text/template over the pod; JSON is valid YAML, and only the per-container
    # part needs the template's range.
    container = {"ready": False, "started": running, "restartCount": restarts, "state": state}
    if last is not None:
        container["lastState"] = {"terminated": last}
    template = (
        "{{ $now := Now }}\n" + json.dumps(status)[:-1] +
        ', "startTime": {{ $now | Quote }}, "hostIP": {{ NodeIPWith .spec.nodeName | Quote }}'
        ', "podIP": {{ PodIPWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace | Quote }}'
        ', "containerStatuses": [{{ range $i, $c := .spec.containers }}{{ if $i }},{{ end }}'
        '{"name": {{ $c.name | Quote }}, "image": {{ $c.image | Quote }}, '
        '"imageID": {{ printf "fake://%s" $c.image | Quote }}, ' + json.dumps(container)[1:-1] +
        "}{{ end }}]}\n")
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": name, "labels": {"milvusops.test/fault-namespace": namespace}},
            "spec": {"resourceRef": {"apiGroup": "v1", "kind": "Pod"},
                     "selector": {"matchExpressions": expressions},
                     "weight": 100,
                     "next": {"statusTemplate": template}}}


def start_delay_stage(name, namespace, seconds):
    """The normal pod lifecycle (stages/lifecycle.yaml) for one namespace only, `seconds` after binding.

    It outweighs the cluster-wide stage as a fault does; the pods it has already started stay as they are."""
    stages = dict((stage["metadata"]["name"], stage) for stage in yaml.safe_load_all(LIFECYCLE.read_text()))
    stage = copy.deepcopy(stages[RUNNING_STAGE])
    stage["metadata"] = {"name": name, "labels": {"milvusops.test/fault-namespace": namespace}}
    stage["spec"]["selector"]["matchExpressions"].insert(
        0, {"key": ".metadata.namespace", "operator": "In", "values": [namespace]})
    stage["spec"]["delay"] = {"durationMilliseconds": int(round(float(seconds) * 1000))}
    stage["spec"]["weight"] = 100
    return stage


class Faults:
    """The pod faults of one fleet member (one namespace) on the real control plane."""

    def __init__(self, plane, namespace):
        self.plane = plane
        self.namespace = namespace
        self.rules = []
        self.cordoned = False
        self.start_delay = 0.0

    def add(self, rule):
        kind = rule.get("type")
        if kind == "unschedulable":
            self._cordon(True)
            self.rules.append(dict(rule))
            return rule
        if kind not in POD_STATES and kind != "slowstart":
            raise FaultError("fault %r needs the simulator backend (the real control plane plays only pod "
                             "faults: %s, slowstart, unschedulable)" % (kind, ", ".join(POD_STATES)))
        if not (rule.get("image") or rule.get("component")):
            raise FaultError("a pod fault needs `image` (substring) and/or `component`")
        if self.start_delay:
            raise FaultError("a pod fault and a start delay in one namespace would be played at random "
                             "(two stages of the same weight): clear the start delay first")
        name = "fault-%s-%d" % (self.namespace, len(self.rules) + 1)
        if kind == "slowstart":
            stage = slow_start_stage(name, self.namespace, rule, self.plane.lifecycle_stages())
        else:
            stage = fault_stage(name, self.namespace, rule)
        self.plane.api.ensure(STAGES, stage)
        self.rules.append(dict(rule, stage=name))
        return rule

    @property
    def start_delay_name(self):
        return "start-delay-%s" % self.namespace

    def set_start_delay(self, seconds):
        """Pods of the namespace bound from now on turn Ready `seconds` later (0: at once again)."""
        seconds = float(seconds)
        if seconds < 0:
            raise FaultError("a start delay is 0 or more seconds, not %s" % seconds)
        if seconds and [rule for rule in self.rules if rule.get("stage")]:
            raise FaultError("a start delay and a pod fault in one namespace would be played at random "
                             "(two stages of the same weight): clear the faults first")
        path = "%s/%s" % (STAGES, self.start_delay_name)
        self.plane.api.request("DELETE", path)
        if seconds:
            self.plane.api.ensure(STAGES, start_delay_stage(self.start_delay_name, self.namespace, seconds))
        self.start_delay = seconds

    def clear(self):
        """Remove every fault; pods a fault held are restarted, as a fixed container would be."""
        for rule in self.rules:
            if rule.get("stage"):
                self.plane.api.request("DELETE", "%s/%s" % (STAGES, rule["stage"]))
        if self.cordoned:
            self._cordon(False)
        self.rules = []
        pods = self.plane.api.get("/api/v1/namespaces/%s/pods" % self.namespace) or {"items": []}
        for pod in pods["items"]:
            ready = [c for c in pod.get("status", {}).get("conditions", []) if c.get("type") == "Ready"]
            if ready and (ready[0].get("message") or "").startswith("milvusops fault"):
                self.plane.api.request("DELETE", "/api/v1/namespaces/%s/pods/%s"
                                       % (self.namespace, pod["metadata"]["name"]))

    def _cordon(self, unschedulable):
        nodes = self.plane.api.get("/api/v1/nodes")["items"]
        for node in nodes:
            self.plane.api.request("PATCH", "/api/v1/nodes/" + node["metadata"]["name"],
                                   {"spec": {"unschedulable": unschedulable}},
                                   content_type="application/merge-patch+json")
        self.cordoned = unschedulable

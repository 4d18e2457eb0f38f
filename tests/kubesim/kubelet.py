"""A kubelet for one node: starts pods after a delay, applies pod faults, finishes terminating pods."""

import hashlib
import time
import uuid

from .store import now_rfc3339

NODE = "kubesim-node"
HOST_IP = "10.0.0.10"
CRASH_MESSAGES = {"crashloop": (1, "Error"), "oomkilled": (137, "OOMKilled")}


def normalize_image(image):
    """What containerd reports: docker.io/ prefix, library/ for official images, :latest."""
    name = image
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def image_id(image):
    norm = normalize_image(image)
    repo = norm.split("@")[0].rsplit(":", 1)[0] if "@" not in norm else norm.split("@")[0]
    return f"{repo}@sha256:{hashlib.sha256(norm.encode()).hexdigest()}"


def _container_id():
    return "containerd://" + uuid.uuid4().hex + uuid.uuid4().hex


def _is_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


class Kubelet:
    def __init__(self, manager):
        self.m = manager
        self.store = manager.store
        self.cluster = manager.cluster
        self._state = {}      # pod uid -> per-pod runtime state
        self._ips = 1

    def sync(self, ns, name):
        pod = self.store.get("pods", name, ns)
        if pod is None:
            return
        uid = pod["metadata"]["uid"]
        cfg = self.cluster.config
        if pod["metadata"].get("deletionTimestamp"):
            st = self._state.setdefault(uid, {"containers": {}})
            if "kill_at" not in st:
                st["kill_at"] = time.time() + cfg["terminate_delay"]
                self.cluster.log_event("PodTerminating", pod)
            remaining = st["kill_at"] - time.time()
            if remaining > 0:
                self.m.schedule(remaining, ("pods", ns, name))
                return
            if self.store.remove("pods", ns, name):
                self.cluster.log_event("PodDeleted", pod)
            self._state.pop(uid, None)
            return
        if not pod["spec"].get("nodeName"):
            self._schedule_pod(pod)
            return
        st = self._state.get(uid)
        if st is None:
            st = self._state[uid] = {"start_at": time.time(), "containers": {}}
        remaining = st["start_at"] - time.time()
        if remaining > 0:
            self.m.schedule(remaining, ("pods", ns, name))
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return
        # Our own status writes come back as events: only advance a pod on its scheduled tick
        # (restarts, pull retries), otherwise a crash loop would spin.
        wait = st.get("next_at", 0) - time.time()
        if wait > 0:
            self.m.schedule(wait, ("pods", ns, name))
            return
        self._tick(pod, st)

    def _schedule_pod(self, pod):
        meta = pod["metadata"]
        self._ips += 1
        ip = f"10.244.{self._ips // 250}.{self._ips % 250 + 1}"
        delay = self.cluster.config["pod_start_delay"]
        self._state[meta["uid"]] = {"start_at": time.time() + delay, "containers": {}, "ip": ip}

        def bind(p):
            p["spec"]["nodeName"] = NODE
            status = p.setdefault("status", {})
            now = now_rfc3339()
            status.update({
                "phase": "Pending", "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}], "startTime": now,
                "qosClass": status.get("qosClass", "BestEffort"),
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": now},
                    {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
                    {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": now,
                     "reason": "ContainersNotReady",
                     "message": "containers with unready status: [%s]" % " ".join(
                         c["name"] for c in p["spec"]["containers"])},
                    {"type": "ContainersReady", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": now, "reason": "ContainersNotReady",
                     "message": "containers with unready status: [%s]" % " ".join(
                         c["name"] for c in p["spec"]["containers"])},
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": now},
                ],
                "containerStatuses": [self._waiting_status(c, "ContainerCreating", None, 0, None)
                                      for c in p["spec"]["containers"]],
            })
        self.store.mutate("pods", meta["namespace"], meta["name"], bind, subresource="*")
        self.m.schedule(delay, ("pods", meta["namespace"], meta["name"]))

    @staticmethod
    def _waiting_status(c, reason, message, restarts, last):
        state = {"waiting": {"reason": reason}}
        if message:
            state["waiting"]["message"] = message
        return {"name": c["name"], "state": state, "lastState": last or {}, "ready": False,
                "restartCount": restarts, "image": normalize_image(c.get("image", "")), "imageID": "",
                "started": False}

    def _tick(self, pod, st):
        """Advance every container one step and write the pod status."""
        cfg = self.cluster.config
        faults = self.cluster.faults
        now = time.time()
        restart_policy = pod["spec"].get("restartPolicy", "Always")
        statuses, next_tick = [], None
        pending = failed = False
        done = []
        pod_name = pod["metadata"]["name"]
        for c in pod["spec"]["containers"]:
            cs = st["containers"].setdefault(c["name"], {"restarts": 0, "running_since": None,
                                                           "last": None, "pulls": 0, "crashed": False,
                                                           "id": None, "started_ever": False})
            fault = faults.pod_fault(pod, c)
            if fault in CRASH_MESSAGES:
                code, reason = CRASH_MESSAGES[fault]
                started = now_rfc3339(cs["running_since"] or now - 0.1)
                if cs["crashed"]:
                    cs["restarts"] += 1
                cs["crashed"] = True
                cs["running_since"] = None
                cs["started_ever"] = True
                term = {"exitCode": code, "reason": reason, "startedAt": started,
                        "finishedAt": now_rfc3339(now), "containerID": _container_id()}
                if restart_policy == "Never":
                    statuses.append({"name": c["name"], "state": {"terminated": term}, "lastState": {},
                                     "ready": False, "restartCount": 0, "image": normalize_image(c["image"]),
                                     "imageID": image_id(c["image"]), "containerID": term["containerID"],
                                     "started": False})
                    failed = True
                    continue
                cs["last"] = {"terminated": term}
                msg = (f"back-off {min(10 * 2 ** cs['restarts'], 300)}s restarting failed "
                       f"container={c['name']} pod={pod_name}_{pod['metadata']['namespace']}"
                       f"({pod['metadata']['uid']})")
                s = self._waiting_status(c, "CrashLoopBackOff", msg, cs["restarts"], cs["last"])
                s["imageID"] = image_id(c["image"])
                s["containerID"] = term["containerID"]
                statuses.append(s)
                next_tick = cfg["restart_interval"]
                if cs["restarts"] == 0:
                    self.cluster.log_event("PodCrashLoop", pod, container=c["name"], fault=fault)
            elif fault in ("imagepull", "configerror"):
                if fault == "imagepull":
                    cs["pulls"] += 1
                    if cs["pulls"] % 2:
                        reason = "ErrImagePull"
                        msg = (f'rpc error: code = NotFound desc = failed to pull and unpack image '
                               f'"{normalize_image(c["image"])}": not found')
                    else:
                        reason, msg = "ImagePullBackOff", f'Back-off pulling image "{c["image"]}"'
                else:
                    reason, msg = "CreateContainerConfigError", \
                        f'configmap "{pod_name}-config" not found'
                cs["running_since"] = None
                statuses.append(self._waiting_status(c, reason, msg, cs["restarts"], cs["last"]))
                pending = pending or not cs["started_ever"]
                next_tick = cfg["restart_interval"]
            else:
                if cs["running_since"] is None:
                    if cs["crashed"]:
                        cs["restarts"] += 1     # the restart that finally succeeded
                        cs["crashed"] = False
                    cs["running_since"] = now
                    cs["id"] = _container_id()
                    cs["started_ever"] = True
                ready = fault != "neverready"
                if fault == "neverready":
                    next_tick = cfg["restart_interval"]
                s = {"name": c["name"], "state": {"running": {"startedAt": now_rfc3339(cs["running_since"])}},
                     "lastState": cs["last"] or {}, "ready": ready, "restartCount": cs["restarts"],
                     "image": normalize_image(c["image"]), "imageID": image_id(c["image"]),
                     "containerID": cs["id"], "started": True}
                if restart_policy != "Always":
                    finish = cs["running_since"] + cfg["job_duration"]
                    if now >= finish:
                        s["state"] = {"terminated": {"exitCode": 0, "reason": "Completed",
                                                     "startedAt": now_rfc3339(cs["running_since"]),
                                                     "finishedAt": now_rfc3339(now),
                                                     "containerID": cs["id"]}}
                        s["ready"] = False
                        s["started"] = False
                        done.append(c["name"])
                    else:
                        next_tick = min(next_tick or finish - now, finish - now)
                statuses.append(s)
        if failed:
            phase = "Failed"
        elif len(done) == len(pod["spec"]["containers"]):
            phase = "Succeeded"
        elif pending:
            phase = "Pending"
        else:
            phase = "Running"
        all_ready = phase == "Running" and all(s["ready"] for s in statuses)
        self._write(pod, st, phase, statuses, all_ready)
        st["next_at"] = now + next_tick if next_tick is not None else 0
        if next_tick is not None and phase not in ("Succeeded", "Failed"):
            self.m.schedule(next_tick, ("pods", pod["metadata"]["namespace"], pod_name))
        fault_next = faults.next_change()
        if fault_next:
            self.m.schedule(fault_next - time.time() + 0.001, ("pods", pod["metadata"]["namespace"], pod_name))

    def _write(self, pod, st, phase, statuses, ready):
        was_ready = _is_ready(pod)
        was_phase = (pod.get("status") or {}).get("phase")
        unready = [s["name"] for s in statuses if not s["ready"]]
        completed = phase in ("Succeeded", "Failed")

        def apply(p):
            status = p.setdefault("status", {})
            now = now_rfc3339()
            status["phase"] = phase
            if phase != "Pending" or any(s.get("started") for s in statuses):
                status["podIP"] = st.get("ip") or status.get("podIP") or "10.244.0.2"
                status["podIPs"] = [{"ip": status["podIP"]}]
            status["containerStatuses"] = statuses
            if p["spec"].get("initContainers"):
                status["initContainerStatuses"] = [
                    {"name": c["name"], "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                                 "startedAt": status.get("startTime", now),
                                                                 "finishedAt": status.get("startTime", now)}},
                     "lastState": {}, "ready": True, "restartCount": 0,
                     "image": normalize_image(c.get("image", "")), "imageID": image_id(c.get("image", "")),
                     "started": False} for c in p["spec"]["initContainers"]]
            want = {"PodReadyToStartContainers": "True" if not completed else "False",
                    "Initialized": "True", "Ready": "True" if ready else "False",
                    "ContainersReady": "True" if ready else "False", "PodScheduled": "True"}
            for cond in status.get("conditions", []):
                t = cond["type"]
                if t not in want:
                    continue
                if cond["status"] != want[t]:
                    cond["status"] = want[t]
                    cond["lastTransitionTime"] = now
                if t in ("Ready", "ContainersReady"):
                    if want[t] == "True":
                        cond.pop("reason", None)
                        cond.pop("message", None)
                    else:
                        cond["reason"] = "PodCompleted" if completed else "ContainersNotReady"
                        if completed:
                            cond.pop("message", None)
                        else:
                            cond["message"] = f"containers with unready status: [{' '.join(unready)}]"
        out = self.store.mutate("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], apply,
                                subresource="status")
        if out is None:
            return
        if phase == "Running" and was_phase != "Running":
            self.cluster.log_event("PodRunning", out)
        if ready and not was_ready:
            self.cluster.log_event("PodReady", out)
        if phase in ("Succeeded", "Failed") and was_phase != phase:
            self.cluster.log_event("Pod" + phase, out)

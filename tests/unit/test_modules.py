# -*- coding: utf-8 -*-
"""The three modules through their boundary: module args in, the JSON they print out.

helm.py's Helm and kube.py's Kube are replaced by fakes that answer with real-shaped data
(factories.py); everything between (observe, plan, hop, rollout, readiness, mq) is the real code.
"""
from __future__ import absolute_import, division, print_function

import copy
import datetime
import json
import os
import stat
import tempfile
import threading
import time

import pytest

from ansible.module_utils.basic import AnsibleModule

import factories as f
from factories import patch_module_args
from test_hop import HOP1_VALUES, LIVE, RENDERED_HOP1, RENDERED_SWITCH
from ansible_collections.milvusops.cluster.plugins.module_utils import endstate, lock, mq
from ansible_collections.milvusops.cluster.plugins.module_utils.helm import HelmError, NotHelm, ReleaseNotFound
from ansible_collections.milvusops.cluster.plugins.module_utils.names import (
    instance_component_selector, milvus_selector)
from ansible_collections.milvusops.cluster.plugins.module_utils.ordering import KEPT_ANNOTATION, PAUSED_ANNOTATION
from ansible_collections.milvusops.cluster.plugins.module_utils.plan import DESCRIPTION_PREFIX
from ansible_collections.milvusops.cluster.plugins.module_utils.redact import REDACTED
from ansible_collections.milvusops.cluster.plugins.modules import milvus_helm_hop, milvus_preflight, milvus_wait_ready

TOKEN = "s3cr3t-token"
HELM_PATH = "/fake/bin/helm"
V2_PINS = mq.pins("pulsar-v2")
OLD = "milvusdb/milvus:v2.5.10"
HOP1_IMAGE = "milvusdb/milvus:v2.5.16"
HOP2_IMAGE = "milvusdb/milvus:v2.6.4"
HOP1_EXPECTED = ["datanode", "indexnode", "mixcoord", "proxy", "querynode"]
HOP1_REMOVED = ["datacoord", "indexcoord", "querycoord", "rootcoord", "streamingnode"]
HOP2_EXPECTED = ["datanode", "mixcoord", "proxy", "querynode", "streamingnode"]
HOP2_REMOVED = ["datacoord", "indexcoord", "indexnode", "querycoord", "rootcoord"]


@pytest.fixture(autouse=True)
def private_temp_folder(monkeypatch, tmp_path):
    """The run's chart packages (and values folders) of each test in a folder of its own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture(autouse=True)
def fake_helm_binary(monkeypatch):
    monkeypatch.setattr(AnsibleModule, "get_bin_path",
                        lambda self, arg, required=False, opt_dirs=None: HELM_PATH if arg == "helm" else None)
    for variable in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY",
                     "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_VERIFY_SSL"):
        monkeypatch.delenv(variable, raising=False)


def run_module(module, args, capsys, check_mode=False, diff=False):
    """Run a module's main() with args; returns (parsed result, raw stdout)."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    capsys.readouterr()
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


# -- fakes ------------------------------------------------------------------------------------

class FakeHelm(object):
    """Stands in for helm.Helm; `bind` replaces the class in a module's namespace."""

    def __init__(self, history, user_values=None, all_values=None, live_manifest=LIVE, rendered=RENDERED_HOP1,
                 version="3.17.3", upgrade_error=None, on_upgrade=None, missing_charts=(), upgrade_error_written=True):
        self.missing_charts = set(missing_charts)
        self.rows = copy.deepcopy(history)
        self.user_values = copy.deepcopy(user_values if user_values is not None else {})
        self.all_values = copy.deepcopy(all_values if all_values is not None else {})
        self.live_manifest = live_manifest
        self.rendered = rendered
        self.client_version = version
        self.upgrade_error = upgrade_error
        self.upgrade_error_written = upgrade_error_written   # whether helm had written the revision when it failed
        self.on_upgrade = on_upgrade
        self.calls = []
        self.upgrades = []
        self.writes = []
        self.binary = None
        self.environment = None

    def bind(self, run_command, binary="helm", environment=None):
        self.binary = binary
        self.environment = dict(environment or {})
        return self

    def version(self):
        self.calls.append(("version",))
        return self.client_version

    def pull(self, chart_ref, version, repo_url, destination):
        self.calls.append(("pull", chart_ref, version, repo_url))
        if version in self.missing_charts:
            raise HelmError("helm pull failed (rc=1): no chart", rc=1,
                            stderr='Error: chart "%s" version "%s" not found in %s repository' % (chart_ref, version,
                                                                                                 repo_url))
        f.chart_package(destination, "milvus", version)

    def history(self, release, namespace, max_revisions=20):
        self.calls.append(("history", release, namespace))
        return copy.deepcopy(self.rows) if self.rows else None

    def get_values(self, release, namespace, all_values=False, revision=None):
        self.calls.append(("get_values", release, namespace, all_values))
        if not self.rows:   # as helm: no release, no values
            raise ReleaseNotFound("helm get failed (rc=1): Error: release: not found", rc=1,
                                  stderr="Error: release: not found")
        return copy.deepcopy(self.all_values if all_values else self.user_values)

    def get_manifest(self, release, namespace, revision=None):
        self.calls.append(("get_manifest", release, namespace))
        return self.live_manifest

    def upgrade(self, **kwargs):
        self.calls.append(("upgrade", kwargs.get("dry_run", False)))
        self.upgrades.append(dict(kwargs))
        if self.on_upgrade:
            self.on_upgrade(kwargs)
        gate = kwargs.get("gate")
        if gate is not None:   # as helm: the render goes through the post-renderer before anything is written
            refusal = gate.inspect(self.rendered)
            if refusal is not None:
                message = "Error: error while running post render on files: %s" % refusal
                raise HelmError("helm upgrade failed (rc=1): %s" % message, rc=1, stderr=message)
        if kwargs.get("dry_run"):
            return {"name": kwargs["release"], "namespace": kwargs["namespace"],
                    "info": {"status": "pending-upgrade"}, "manifest": self.rendered}
        if self.upgrade_error:
            if self.upgrade_error_written:   # as helm failing while it writes: the new revision is recorded failed
                self.rows.append({"revision": self.rows[-1]["revision"] + 1, "updated": "2025-02-01T00:00:00Z",
                                  "status": "failed", "chart": "milvus-%s" % kwargs["version"],
                                  "app_version": "2.5.16", "description": kwargs.get("description")})
                self.writes.append(dict(kwargs))
            raise self.upgrade_error
        self.writes.append(dict(kwargs))
        for row in self.rows:
            if row["status"] == "deployed":
                row["status"] = "superseded"
        self.rows.append({"revision": self.rows[-1]["revision"] + 1, "updated": "2025-02-01T00:00:00Z",
                          "status": "deployed", "chart": "milvus-%s" % kwargs["version"], "app_version": "2.5.16",
                          "description": kwargs.get("description")})
        return {"name": kwargs["release"], "namespace": kwargs["namespace"], "version": self.rows[-1]["revision"],
                "info": {"status": "deployed"}}

    @property
    def real_upgrades(self):
        """The upgrades helm was let write (past the render gate)."""
        return self.writes


def _matches(obj, selector):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, equals, value = term.partition("=")
        if not equals:   # an existence requirement: `component`
            if key not in labels:
                return False
        elif labels.get(key) != value:
            return False
    return True


def mq_statefulset_objects(families=("pulsar",), release="rel", suffix="a"):
    names = f.mq_statefulsets(families, release)
    uids = f.statefulset_uids(names, suffix)
    objects = []
    for family, members in names.items():
        for name in members:
            labels = ({"app.kubernetes.io/instance": release, "app.kubernetes.io/name": "kafka"}
                      if family == "kafka" else {"release": release, "app": family,
                                                 "component": name.rsplit("-", 1)[1]})
            objects.append({"apiVersion": "apps/v1", "kind": "StatefulSet",
                            "metadata": {"name": name, "namespace": "milvus", "uid": uids[name], "labels": labels},
                            "spec": {"replicas": 1, "serviceName": name}})
    return objects, names, uids


class FakeKube(object):
    """Stands in for kube.Kube: label-selected lists, scripted watch events, proxy answers."""

    def __init__(self, objects=None, configmaps=(), server="1.31.0", healthz=(200, "OK"), metrics=None,
                 events=None, refused=()):
        self.lock = threading.Lock()
        self.refused = set(refused)   # (verb, resource[/subresource]) the fake API server does not allow
        self.reviews = []
        self.objects = dict((kind, list(items)) for kind, items in (objects or {}).items())
        self.configmaps = dict((cm["metadata"]["name"], cm) for cm in configmaps)
        self.server = server
        self.healthz = healthz
        self.metrics = metrics or {}
        self.events = dict((kind, list(batches)) for kind, batches in (events or {}).items())
        self.idle = threading.Event()
        self.params = None
        self.lists = []
        self.watches = []
        self.proxied = []
        self.leases = {}
        self.patches = []
        self.deleted = []

    def bind(self, params):
        self.params = dict(params)
        return self

    def server_version(self):
        return self.server

    def denied(self, reviews, namespace):
        self.reviews.extend(reviews)
        return [r for r in reviews
                if (r["verb"], "/".join(filter(None, (r["resource"], r.get("subresource"))))) in self.refused]

    def list(self, kind, namespace, label_selector=None):
        with self.lock:
            self.lists.append((kind, namespace, label_selector))
            items = [o for o in self.objects.get(kind, []) if _matches(o, label_selector)]
            return copy.deepcopy(items), str(len(self.lists))

    def read(self, kind, namespace, name):
        if kind == "ConfigMap":
            return copy.deepcopy(self.configmaps.get(name))
        return copy.deepcopy(next((o for o in self.objects.get(kind, []) if o["metadata"]["name"] == name), None))

    def merge_patch(self, kind, namespace, name, patch):
        """Records (kind, name, patch); an annotation patch lands on the stored object (None removes a key)."""
        self.patches.append((kind, name, copy.deepcopy(patch)))
        with self.lock:
            obj = next((o for o in self.objects.get(kind, []) if o["metadata"]["name"] == name), None)
            if obj is None:
                obj = {"metadata": {"name": name}, "spec": {}}
            for key, value in ((patch.get("metadata") or {}).get("annotations") or {}).items():
                annotations = obj["metadata"].setdefault("annotations", {})
                if value is None:
                    annotations.pop(key, None)
                else:
                    annotations[key] = value
            return copy.deepcopy(obj)

    def delete(self, kind, namespace, name, uid):
        """Records the delete; the next watches see the object, then its ReplicaSets and pods, go (the GC)."""
        self.deleted.append((kind, name, uid))
        with self.lock:
            obj = next(o for o in self.objects.get(kind, []) if o["metadata"]["name"] == name)
            assert obj["metadata"]["uid"] == uid, "deleted another object of that name"
            component = obj["metadata"]["labels"]["component"]
            for dependent_kind in (kind, "ReplicaSet", "Pod"):
                gone = [o for o in self.objects.get(dependent_kind, [])
                        if (o["metadata"].get("labels") or {}).get("component") == component]
                self.events.setdefault(dependent_kind, []).append([("DELETED", o) for o in gone])

    def watch(self, kind, namespace, label_selector, resource_version, timeout_seconds):
        with self.lock:
            self.watches.append((kind, label_selector))
            batch = self.events.get(kind, [[]]).pop(0) if self.events.get(kind) else []
        for event_type, obj in batch:
            with self.lock:
                items = self.objects.setdefault(kind, [])
                items[:] = [o for o in items if o["metadata"]["name"] != obj["metadata"]["name"]]
                if event_type != "DELETED":
                    items.append(obj)
            yield event_type, copy.deepcopy(obj)
        # a quiet watch: the server would hold it open; a tiny bounded wait keeps the relist loop calm
        self.idle.wait(0.02)

    def read_lease(self, namespace, name):
        return copy.deepcopy(self.leases.get(name))

    def create_lease(self, namespace, body):
        self.leases[body["metadata"]["name"]] = dict(body, metadata=dict(body["metadata"], resourceVersion="1"))

    def replace_lease(self, namespace, body):
        self.create_lease(namespace, body)

    def delete_lease(self, namespace, name, resource_version):
        del self.leases[name]

    def proxy_get(self, kind, namespace, name, port, path):
        with self.lock:
            self.proxied.append((kind, namespace, name, port, path))
        if path == "healthz":
            return self.healthz
        return self.metrics.get(name, (404, "not found"))


# -- milvus_preflight -------------------------------------------------------------------------

def preflight_setup(monkeypatch, observed, refused=()):
    sts_objects = []
    for family, names in observed["mq_statefulsets"].items():
        for name in names:
            labels = ({"app.kubernetes.io/instance": "rel", "app.kubernetes.io/name": "kafka"}
                      if family == "kafka" else {"release": "rel", "app": family})
            sts_objects.append({"kind": "StatefulSet", "metadata": {
                "name": name, "uid": observed["mq_statefulset_uids"][name], "labels": labels}})
    other_release = f.deployment("proxy", release="other")  # must not be picked up
    helm = FakeHelm(observed["release"]["history"] if observed["release"] else None,
                    observed["user_values"], observed["all_values"], version=observed["helm_version"])
    replicasets = [f.replicaset(dep) for dep in observed["deployments"]]
    kube = FakeKube({"Deployment": observed["deployments"] + [other_release], "Pod": observed["pods"],
                     "ReplicaSet": replicasets, "StatefulSet": sts_objects}, configmaps=[observed["configmap"]], server=observed["kube_version"],
                    refused=refused)
    monkeypatch.setattr(milvus_preflight, "Helm", helm.bind)
    monkeypatch.setattr(milvus_preflight, "Kube", kube.bind)
    return helm, kube


PREFLIGHT_ARGS = {"release": "rel", "namespace": "milvus", "cluster_name": "prod-eu-1", "context": "prod-eu-1"}


def old_default_pulsar():
    """2.5.10, separate coordinators, installed from chart 4.2.20 with the default Pulsar v2 and no MQ keys."""
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20",
                          user_values={"image": {"all": {"tag": "v2.5.10"}}})
    assert "pulsar" not in observed["user_values"]
    cm_text = observed["configmap"]["data"]["default.yaml"]
    assert "type: pulsar" in cm_text and "address: rel-pulsar-proxy" in cm_text
    return observed


def test_preflight_old_default_pulsar_v2_two_hops_pinning_v2(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    result, out = run_module(milvus_preflight, PREFLIGHT_ARGS, capsys)
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert result["blockers"] == []
    assert [hop["name"] for hop in result["plan"]] == ["mixcoord", "streaming"]
    for hop in result["plan"]:
        for flag, pin in V2_PINS.items():
            assert hop["values"][flag] == pin
        assert hop["values"]["pulsar"] == {"enabled": True}
        assert hop["values"]["pulsarv3"] == {"enabled": False}
        for other in ("kafka", "woodpecker", "externalPulsar", "externalKafka"):
            assert hop["values"][other] == {"enabled": False}
    hop1, hop2 = result["plan"]
    assert (hop1["chart_version"], hop1["image_tag"]) == ("4.2.58", "v2.5.16")
    assert (hop2["chart_version"], hop2["image_tag"]) == ("5.0.0", "v2.6.4")
    assert hop1["values"]["mixCoordinator"] == {"enabled": True}
    assert hop2["values"]["streaming"] == {"enabled": True}
    assert hop2["values"]["indexNode"] == {"enabled": False}
    assert hop2["kept_components"] == ["indexnode"]    # kept on 2.5 through helm, deleted by the wait
    assert result["release"]["running_version"] == "2.5.10"
    assert result["release"]["coordinator_mode"] == "separate"
    assert result["release"]["chart_version"] == "4.2.20"
    assert result["message_queue"]["kind"] == "pulsar-v2"
    assert result["message_queue"]["statefulsets"]  # the uids for milvus_wait_ready's verification
    assert result["helm_version"] == "3.17.3"
    assert result["kube_version"] == "1.31.0"
    assert result["up_to_date"] is False
    summary = result["summary"]
    assert summary[0] == ("prod-eu-1: rel in milvus runs v2.5.10 on chart 4.2.20 (separate coordinators, "
                          "message queue pulsar-v2)")
    assert any(line.startswith("hop 1 (mixcoord): chart 4.2.58, image v2.5.16") for line in summary)
    assert any(line.startswith("hop 2 (streaming): chart 5.0.0, image v2.6.4") for line in summary)
    assert any("pulsar.enabled=true" in line and "pulsarv3.enabled=false" in line for line in summary)
    # observed through the right selectors and names
    assert ("Deployment", "milvus", instance_component_selector("rel")) in kube.lists
    assert ("StatefulSet", "milvus", "release=rel,app=pulsar") in kube.lists
    assert ("get_values", "rel", "milvus", True) in helm.calls
    assert helm.binary == HELM_PATH
    assert helm.environment == {"HELM_KUBECONTEXT": "prod-eu-1"}
    assert kube.params["context"] == "prod-eu-1"


def test_preflight_pending_upgrade_fails_naming_cluster_state_and_remedy(monkeypatch, capsys):
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20", status="pending-upgrade",
                          previous=[("deployed", "4.2.20", "2.4.16", "Install complete")])
    preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, PREFLIGHT_ARGS, capsys)
    assert result["failed"] is True
    msg = result["msg"]
    assert msg.startswith("upgrade blocked: ")
    assert "cluster prod-eu-1" in msg
    assert "pending-upgrade" in msg
    assert "helm rollback rel 1 -n milvus" in msg
    assert result["plan"] == []
    assert result["blockers"]


def test_preflight_fail_on_blockers_false_returns_blockers(monkeypatch, capsys):
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20", status="pending-upgrade",
                          previous=[("deployed", "4.2.20", "2.4.16", "Install complete")])
    preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, fail_on_blockers=False), capsys)
    assert not result.get("failed")
    assert len(result["blockers"]) == 1
    assert "pending-upgrade" in result["blockers"][0]
    assert result["plan"] == []
    assert result["up_to_date"] is False
    assert any(line.startswith("BLOCKED") for line in result["summary"])


def test_preflight_missing_release_is_a_blocker(monkeypatch, capsys):
    observed = old_default_pulsar()
    observed["release"] = None
    helm, kube = preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, fail_on_blockers=False), capsys)
    assert "not found" in result["blockers"][0]
    assert "release" not in result and "user_values" not in result
    assert result.get("failed") is not True   # the values read beside the history fail, and are not used


def test_preflight_refuses_an_identity_lacking_rights_before_reading_anything(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar(),
                                 refused={("patch", "deployments"), ("get", "services/proxy")})
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, cluster_name="prod-1", message_names="inventory"),
                             capsys)
    assert result["failed"]
    assert "may not patch deployments.apps; get services/proxy" in result["msg"]
    assert "milvus_kubeconfig / milvus_kube_context / milvus_kube_api_key" in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert sorted(r["verb"] + " " + r["resource"] for r in result["denied"]) == ["get services", "patch deployments"]
    assert [r.get("subresource") for r in result["denied"] if r["resource"] == "services"] == ["proxy"]
    assert not helm.calls and not kube.lists          # refused before the release was even read


def test_preflight_in_read_mode_asks_only_about_reads(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar(), refused={("patch", "deployments")})
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, required_access="read"), capsys)
    assert not result.get("failed"), result
    assert kube.reviews and {r["verb"] for r in kube.reviews} <= {"get", "list", "watch"}


def test_preflight_redacts_secrets_in_user_values(monkeypatch, capsys):
    observed = old_default_pulsar()
    observed["user_values"] = {"image": {"all": {"tag": "v2.5.10"}},
                               "minio": {"accessKey": "minio-user-key", "secretKey": "minio-s3cr3t"},
                               "extraConfigFiles": {"user.yaml": "common:\n  security:\n    superUsers: Root-pw\n"}}
    observed["all_values"]["minio"].update(observed["user_values"]["minio"])
    preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, secret_values=["extraConfigFiles.user\\.yaml"]),
                             capsys)
    assert result["user_values"]["minio"] == {"accessKey": REDACTED, "secretKey": REDACTED}
    assert result["user_values"]["extraConfigFiles"] == {"user.yaml": REDACTED}
    assert result["user_values"]["image"] == {"all": {"tag": "v2.5.10"}}
    for secret in ("minio-user-key", "minio-s3cr3t", "Root-pw"):
        assert secret not in out


def test_preflight_check_mode_gives_the_same_result(monkeypatch, capsys):
    preflight_setup(monkeypatch, old_default_pulsar())
    normal, _ = run_module(milvus_preflight, PREFLIGHT_ARGS, capsys)
    preflight_setup(monkeypatch, old_default_pulsar())
    checked, _ = run_module(milvus_preflight, PREFLIGHT_ARGS, capsys, check_mode=True)
    assert checked == normal
    assert checked["changed"] is False


def test_preflight_api_key_never_in_output(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    args = dict(PREFLIGHT_ARGS, api_key=TOKEN, host="https://api.eu:6443")
    result, out = run_module(milvus_preflight, args, capsys)
    assert result["changed"] is False and not result.get("failed")
    assert TOKEN not in out
    # it did reach helm, through the environment only
    assert helm.environment["HELM_KUBETOKEN"] == TOKEN
    assert kube.params["api_key"] == TOKEN


def test_preflight_api_key_not_in_failure_output(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())

    def broken():
        raise HelmError("helm version failed (rc=1): Error: Unauthorized", stderr="Error: Unauthorized")
    helm.version = broken
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, api_key=TOKEN), capsys)
    assert result["failed"] is True
    assert "preflight of cluster prod-eu-1: release rel in namespace milvus failed" in result["msg"]
    assert "Unauthorized" in result["msg"]
    assert TOKEN not in out


def test_preflight_helm_binary_missing(monkeypatch, capsys):
    preflight_setup(monkeypatch, old_default_pulsar())
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, helm_binary="/opt/nope/helm"), capsys)
    assert result["failed"] is True
    assert "/opt/nope/helm" in result["msg"] and "not found" in result["msg"]


# -- milvus_helm_hop --------------------------------------------------------------------------

HOP_ARGS = {"release": "rel", "namespace": "milvus", "cluster_name": "prod-eu-1", "hop_name": "mixcoord",
            "chart_version": "4.2.58", "values": HOP1_VALUES}
FRESH = [("deployed", "4.2.20", "2.4.16", "Install complete")]
STORED = {"image": {"all": {"tag": "v2.5.10"}}, "minio": {"secretKey": "minio-s3cr3t"}}


def hop_setup(monkeypatch, rows=FRESH, user_values=STORED, **kwargs):
    helm = FakeHelm(f.history(rows), user_values, **kwargs)
    monkeypatch.setattr(milvus_helm_hop, "Helm", helm.bind)
    return helm


def test_hop_already_applied_changes_nothing(monkeypatch, capsys):
    stored = dict(copy.deepcopy(HOP1_VALUES), etcd={"replicaCount": 3})
    helm = hop_setup(monkeypatch, FRESH + [("deployed", "4.2.58", "2.5.16",
                                            DESCRIPTION_PREFIX + " hop mixcoord to chart 4.2.58")], stored)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["changed"] is False
    assert not result.get("failed")
    assert helm.real_upgrades == []   # a dry run rendered beside the reads is discarded
    assert result["revision_before"] == result["revision_after"] == 2
    assert "objects" not in result
    assert result["values_after"] == result["values_before"]


@pytest.mark.parametrize("ordered", [False, True], ids=["all-at-once", "ordered"])
def test_the_first_helm_call_starts_beside_the_reads_and_its_render_waits_for_them(monkeypatch, capsys, ordered):
    """helm renders while the release is read; the render is judged only once the reads have decided that the hop
    runs. A history read that waited for the helm call to start would time out if helm waited for the reads."""
    helm = hop_setup(monkeypatch)
    monkeypatch.setattr(milvus_helm_hop, "Kube", FakeKube().bind)
    started, seen = threading.Event(), []
    history = helm.history

    def slow_history(*args, **kwargs):
        seen.append(("helm started", started.wait(10)))
        return history(*args, **kwargs)
    helm.history = slow_history

    def on_upgrade(kwargs):
        started.set()
        seen.append(("upgrade", kwargs.get("dry_run", False)))
    helm.on_upgrade = on_upgrade
    review = milvus_helm_hop.render_review

    def judged(*args, **kwargs):
        seen.append(("judged after the reads", helm.calls.count(("history", "rel", "milvus")) >= 1))
        return review(*args, **kwargs)
    monkeypatch.setattr(milvus_helm_hop, "render_review", judged)
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, rollout_order=["mixcoord", "proxy"] if ordered else []),
                             capsys)
    assert not result.get("failed"), result.get("msg")
    assert seen[:2] in ([("upgrade", ordered), ("helm started", True)], [("helm started", True), ("upgrade", ordered)])
    assert ("judged after the reads", True) in seen and ("judged after the reads", False) not in seen
    assert len(helm.real_upgrades) == 1


def test_a_hop_without_order_writes_with_one_helm_upgrade_whose_render_its_gate_checked(monkeypatch, capsys):
    """No dry run of its own: the render guard checks the render of the upgrade itself, through helm's
    post-renderer, and helm writes only what it let through."""
    helm = hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert not result.get("failed"), result.get("msg")
    assert [u.get("dry_run", False) for u in helm.upgrades] == [False]
    gate = helm.upgrades[0]["gate"]
    assert gate.renders == 1 and gate.refusal is None
    assert result["objects"]["removed"] == ["Deployment/rel-milvus-rootcoord"]   # from the render the gate saw
    assert result["command"][-2:] == ["--post-renderer", "<the render gate>"]


def test_hop_not_applied_renders_then_upgrades(monkeypatch, capsys):
    helm = hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert [u.get("dry_run", False) for u in helm.upgrades] == [False]
    # no kube_version given: the upgrade runs helm's OpenAPI check (it has no dry run to run it)
    assert helm.upgrades[0]["openapi_check"] is True
    assert "--disable-openapi-validation" not in result["command"]
    for upgrade in helm.upgrades:
        assert upgrade["release"] == "rel" and upgrade["namespace"] == "milvus"
        # the run's package of the chart, pulled once
        assert upgrade["chart_ref"].endswith(".tgz")
        assert not upgrade.get("repo_url")
        assert upgrade["version"] == "4.2.58"
        assert upgrade["timeout"] == "10m"
        assert upgrade["description"] == "milvusops.cluster: hop mixcoord to chart 4.2.58"
    assert result["revision_before"] == 1
    assert result["revision_after"] == 2
    assert result["objects"] == {"added": ["Deployment/rel-milvus-mixcoord"],
                                 "removed": ["Deployment/rel-milvus-rootcoord"],
                                 "changed": ["Deployment/rel-milvus-proxy"]}
    assert result["values_before"] == {"image": {"all": {"tag": "v2.5.10"}}, "minio": {"secretKey": REDACTED}}
    assert result["values_after"]["image"]["all"] == {"tag": "v2.5.16", "repository": "milvusdb/milvus"}
    assert result["values_after"]["pulsar"] == {"enabled": True}
    assert result["values_after"]["minio"] == {"secretKey": REDACTED}
    assert "minio-s3cr3t" not in out
    command = result["command"]
    assert command[:3] == [HELM_PATH, "upgrade", "rel"]
    assert "--reset-then-reuse-values" in command
    assert "<private values file>" in command
    for flag in ("--install", "--atomic", "--wait", "--reuse-values", "--reset-values"):
        assert flag not in command


def test_hop_check_mode_renders_only(monkeypatch, capsys):
    helm = hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys, check_mode=True)
    assert result["changed"] is True  # it would change
    assert [u.get("dry_run") for u in helm.upgrades] == [True]
    assert helm.real_upgrades == []
    assert result["revision_after"] == result["revision_before"] == 1
    assert result["objects"]["added"] == ["Deployment/rel-milvus-mixcoord"]


def test_hop_refuses_a_statefulset_removal(monkeypatch, capsys):
    helm = hop_setup(monkeypatch, rendered=RENDERED_SWITCH)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"] is True
    assert helm.real_upgrades == []
    assert "StatefulSet/rel-pulsar-bookie" in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert result["msg"].startswith("cluster prod-eu-1: release rel in namespace milvus: ")
    assert "StatefulSet/rel-pulsar-bookie" in result["objects"]["removed"]


def test_hop_statefulset_removal_allowed(monkeypatch, capsys):
    helm = hop_setup(monkeypatch, rendered=RENDERED_SWITCH)
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, allow_statefulset_removal=True), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert len(helm.real_upgrades) == 1
    assert "StatefulSet/rel-pulsar-bookie" in result["objects"]["removed"]


@pytest.mark.parametrize("status", ["pending-upgrade", "pending-rollback", "pending-install"])
def test_hop_refuses_a_pending_release(monkeypatch, capsys, status):
    helm = hop_setup(monkeypatch, FRESH + [(status, "4.2.58", "2.5.16", "Preparing upgrade")])
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"] is True
    assert status in result["msg"]
    assert "helm rollback" in result["msg"]
    assert helm.real_upgrades == []   # a dry run rendered beside the reads is discarded


def test_hop_refuses_a_foreign_failed_release(monkeypatch, capsys):
    helm = hop_setup(monkeypatch, FRESH + [("failed", "4.2.58", "2.5.16", "Upgrade \"rel\" failed: timed out")])
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"] is True
    assert "failed outside this collection" in result["msg"]
    assert helm.real_upgrades == []   # a dry run rendered beside the reads is discarded


def test_hop_resumes_its_own_failed_revision(monkeypatch, capsys):
    helm = hop_setup(monkeypatch, FRESH + [("failed", "4.2.58", "2.5.16",
                                            "milvusops.cluster: hop mixcoord to chart 4.2.58")])
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert not result.get("failed"), result.get("msg")
    assert len(helm.real_upgrades) == 1
    assert (result["revision_before"], result["revision_after"]) == (2, 3)


def test_hop_refuses_a_downgrade(monkeypatch, capsys):
    helm = hop_setup(monkeypatch, FRESH + [("deployed", "5.0.0", "2.6.4",
                                            "milvusops.cluster: hop streaming to chart 5.0.0")],
                     {"image": {"all": {"tag": "v2.6.4"}}})
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"] is True
    assert "never downgrades" in result["msg"]
    assert helm.real_upgrades == []   # a dry run rendered beside the reads is discarded


def test_hop_missing_release(monkeypatch, capsys):
    helm = hop_setup(monkeypatch, [])
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"] is True
    assert "does not exist" in result["msg"]
    assert helm.real_upgrades == []   # a dry run rendered beside the reads is discarded


def test_hop_values_file_is_private_and_removed(monkeypatch, capsys):
    seen = []

    def inspect(kwargs):
        path = kwargs["values_file"]
        folder = os.path.dirname(path)
        with open(path) as handle:
            content = json.load(handle)
        seen.append({"path": path, "mode": stat.S_IMODE(os.stat(path).st_mode),
                     "folder_mode": stat.S_IMODE(os.stat(folder).st_mode), "content": content,
                     "dry_run": kwargs.get("dry_run", False)})

    hop_setup(monkeypatch, on_upgrade=inspect)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["changed"] is True
    assert [s["dry_run"] for s in seen] == [False]
    for entry in seen:
        assert entry["mode"] == 0o600
        assert entry["folder_mode"] == 0o700
        assert entry["content"] == HOP1_VALUES
    assert os.path.basename(os.path.dirname(seen[0]["path"])).startswith("milvusops-hop-")
    assert not os.path.exists(seen[0]["path"])
    assert not os.path.exists(os.path.dirname(seen[0]["path"]))
    assert seen[0]["path"] not in out


def test_hop_values_file_removed_after_a_refusal(monkeypatch, capsys):
    seen = []
    hop_setup(monkeypatch, rendered=RENDERED_SWITCH, on_upgrade=lambda kwargs: seen.append(kwargs["values_file"]))
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"] is True
    assert len(seen) == 1
    assert not os.path.exists(os.path.dirname(seen[0]))


def test_hop_upgrade_failure_reports_helm_words(monkeypatch, capsys):
    stderr = "Error: UPGRADE FAILED: cannot patch \"rel-pulsar-bookie\" with kind StatefulSet: field is immutable"
    seen = []
    helm = hop_setup(monkeypatch, upgrade_error=HelmError("helm upgrade failed (rc=1): " + stderr, stderr=stderr),
                     on_upgrade=lambda kwargs: seen.append(kwargs["values_file"]))
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, api_key=TOKEN), capsys)
    assert result["failed"] is True
    assert "field is immutable" in result["msg"]
    assert "milvus_preflight" in result["msg"]
    assert result["objects"]["added"] == ["Deployment/rel-milvus-mixcoord"]
    assert len(helm.real_upgrades) == 1
    assert not os.path.exists(os.path.dirname(seen[0]))
    assert TOKEN not in out
    assert helm.environment["HELM_KUBETOKEN"] == TOKEN


@pytest.mark.parametrize("ordered, said", [
    (False, "helm upgrade failed before it rendered the hop (nothing was changed) (attempt 1)"),
    (True, "rendering the hop on the server failed, nothing was changed")])
def test_hop_render_failure_changes_nothing(monkeypatch, capsys, ordered, said):
    # helm fails before its post-renderer: in the one upgrade of a hop, or in the dry run of an ordered one
    helm = hop_setup(monkeypatch)
    stderr = 'Error: UPGRADE FAILED: template: milvus/templates/proxy.yaml:3:9: executing "proxy" at <fail>: bad value'

    def broken(**kwargs):
        helm.upgrades.append(kwargs)
        raise HelmError("helm upgrade failed (rc=1): " + stderr, rc=1, stderr=stderr)
    helm.upgrade = broken
    args = dict(HOP_ARGS, rollout_order=["mixcoord", "querynode"]) if ordered else HOP_ARGS
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert result["failed"] is True
    assert said in result["msg"] and "bad value" in result["msg"]
    assert [u.get("dry_run", False) for u in helm.upgrades] == [ordered]


def test_hop_diff_mode(monkeypatch, capsys):
    hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys, check_mode=True, diff=True)
    diff = result["diff"]
    assert diff["before"].startswith("# stored values\n")
    assert '"tag": "v2.5.10"' in diff["before"]
    assert '"tag": "v2.5.16"' in diff["after"]
    assert "+ Deployment/rel-milvus-mixcoord" in diff["after"]
    assert "- Deployment/rel-milvus-rootcoord" in diff["before"]
    assert "* Deployment/rel-milvus-proxy" in diff["after"]
    assert "minio-s3cr3t" not in out
    assert REDACTED in diff["before"]


def test_hop_no_diff_without_diff_mode(monkeypatch, capsys):
    hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys, check_mode=True)
    assert "diff" not in result


def test_hop_pulls_its_chart_once_and_installs_that_package(monkeypatch, capsys):
    helm = hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["changed"] is True
    assert [c for c in helm.calls if c[0] == "pull"] == [
        ("pull", "milvus", "4.2.58", "https://zilliztech.github.io/milvus-helm")]
    package = helm.upgrades[0]["chart_ref"]
    assert os.path.isfile(package) and package in result["command"] and "--repo" not in result["command"]


def test_hop_oci_chart_ref_is_pulled_without_the_repository(monkeypatch, capsys):
    helm = hop_setup(monkeypatch)
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, chart_ref="oci://registry.internal/charts/milvus"),
                             capsys)
    assert result["changed"] is True
    assert [c[1] for c in helm.calls if c[0] == "pull"] == ["oci://registry.internal/charts/milvus"]
    assert "--repo" not in result["command"]


def test_hop_installs_a_local_chart_where_it_is(monkeypatch, capsys, tmp_path):
    helm = hop_setup(monkeypatch)
    package = f.chart_package(str(tmp_path), "milvus", "4.2.58")
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, chart_ref=package, chart_repo_url=""), capsys)
    assert result["changed"] is True
    assert not [c for c in helm.calls if c[0] == "pull"]
    assert all(u["chart_ref"] == package for u in helm.upgrades)


def test_hop_whose_chart_cannot_be_had_changes_nothing(monkeypatch, capsys):
    helm = hop_setup(monkeypatch)
    helm.missing_charts = {"4.2.58"}
    result, out = run_module(milvus_helm_hop, HOP_ARGS, capsys)
    assert result["failed"]
    assert "chart milvus version 4.2.58 cannot be had" in result["msg"] and "not found" in result["msg"]
    assert result["msg"].endswith("nothing was changed")
    assert not helm.upgrades


# helm's client-side OpenAPI check: at most once per hop, and only where the server does not validate fields itself
# (before 1.27, or a version unknown): in the ordered hop's dry run (before its pauses), else in its one upgrade
@pytest.mark.parametrize("kube_version, checks", [
    ("", True), ("1.26.15", True), ("v1.27.0", False), ("1.31.0", False), ("v1.37.2-eks-1", False)])
@pytest.mark.parametrize("ordered", [False, True], ids=["all-at-once", "ordered"])
def test_a_hop_checks_its_render_against_the_openapi_schema_only_where_that_checks_something(
        monkeypatch, capsys, kube_version, checks, ordered):
    helm = hop_setup(monkeypatch)
    monkeypatch.setattr(milvus_helm_hop, "Kube", FakeKube().bind)
    args = dict(HOP_ARGS, kube_version=kube_version)
    if ordered:
        args["rollout_order"] = ["mixcoord", "querynode"]
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert not result.get("failed"), result.get("msg")
    assert [(u.get("dry_run", False), u.get("openapi_check", False)) for u in helm.upgrades] == (
        [(True, checks), (False, False)] if ordered else [(False, checks)])


@pytest.mark.parametrize("ordered, said", [
    (False, "no new revision was written: nothing was changed"),
    (True, "rendering the hop on the server failed, nothing was changed")])
def test_a_render_failing_the_schema_check_changes_nothing(monkeypatch, capsys, ordered, said):
    # helm checks the schema after its post-renderer and before it writes: in the upgrade of a hop, or in the dry run
    # of an ordered one, before its pauses
    stderr = 'Error: UPGRADE FAILED: error validating "": unknown field "spec.template.spec.containers[0].imagePullPolicyy"'
    schema = HelmError("helm upgrade failed (rc=1): " + stderr, rc=1, stderr=stderr)
    helm = hop_setup(monkeypatch, upgrade_error=None if ordered else schema, upgrade_error_written=False)
    kube = FakeKube()
    monkeypatch.setattr(milvus_helm_hop, "Kube", kube.bind)

    def in_the_dry_run(kwargs):
        if kwargs.get("dry_run"):
            raise schema
    helm.on_upgrade = in_the_dry_run
    args = dict(HOP_ARGS, rollout_order=["mixcoord", "proxy"]) if ordered else HOP_ARGS
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert result["failed"] is True
    assert said in result["msg"] and "imagePullPolicyy" in result["msg"]
    assert helm.real_upgrades == [] and kube.patches == []


# the upgrade lock is renewed right before helm upgrade, after every check, and only while it is this run's
LOCK = {"holder": "ctl-1/pid:4242:1764670000/run", "purpose": "upgrade of rel to v2.6.4 by prod-eu-1", "duration": 300}
LEASE = "milvusops-upgrade-rel"


def hop_with_lock(monkeypatch, held_by, seconds_ago=200, **setup):
    """The hop's fakes, with a Lease held by held_by and renewed seconds_ago; the lock writes are recorded
    with how many real upgrades had run by then."""
    helm = hop_setup(monkeypatch, **setup)
    kube = FakeKube()
    renewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=seconds_ago)
    kube.leases[LEASE] = lock.lease_body(LEASE, held_by, "upgrade of rel by someone", 300, renewed)
    kube.leases[LEASE]["metadata"]["resourceVersion"] = "7"
    writes = []
    write = kube.replace_lease

    def recording(namespace, body):
        writes.append((body["spec"]["renewTime"], len(helm.real_upgrades)))
        write(namespace, body)
    kube.replace_lease = recording
    monkeypatch.setattr(milvus_helm_hop, "Kube", kube.bind)
    return helm, kube, writes


def test_hop_renews_its_lock_right_before_helm_upgrade(monkeypatch, capsys):
    helm, kube, writes = hop_with_lock(monkeypatch, LOCK["holder"])
    before = kube.leases[LEASE]["spec"]["renewTime"]
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, renew_lock=LOCK), capsys)
    assert not result.get("failed"), result.get("msg")
    assert len(writes) == 1 and writes[0][1] == 0, writes     # one renewal, before the upgrade wrote
    assert [u.get("dry_run", False) for u in helm.upgrades] == [False]
    assert helm.upgrades[0]["gate"].renders == 1   # in the gate: after the render guard let the render through
    renewed = kube.leases[LEASE]["spec"]
    assert renewed["holderIdentity"] == LOCK["holder"] and renewed["renewTime"] > before
    assert renewed["leaseDurationSeconds"] == 300
    assert result["lock"]["lease"] == LEASE and result["lock"]["holder"] == LOCK["holder"]
    assert result["lock"]["expires"].endswith("Z")


@pytest.mark.parametrize("seconds_ago", [10, 900], ids=["live", "expired"])
def test_hop_refuses_when_another_run_holds_the_lock_now_and_changes_nothing(monkeypatch, capsys, seconds_ago):
    # another controller's run: live, or expired (then only milvus_lock_break_stale takes it, never a renewal)
    helm, kube, writes = hop_with_lock(monkeypatch, "ctl-2/pid:99:1764670000/other", seconds_ago)
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, renew_lock=LOCK), capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("cluster prod-eu-1: release rel in namespace milvus: lost the upgrade lock "
                                    "before helm upgrade: ")
    assert result["msg"].count("prod-eu-1") == 1, result["msg"]
    assert "ctl-2/pid:99:1764670000/other" in result["msg"] and "nothing was changed" in result["msg"]
    assert writes == [] and helm.real_upgrades == []
    assert kube.leases[LEASE]["spec"]["holderIdentity"] == "ctl-2/pid:99:1764670000/other"


def test_hop_writes_no_lock_in_check_mode(monkeypatch, capsys):
    helm, kube, writes = hop_with_lock(monkeypatch, LOCK["holder"])
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, renew_lock=LOCK), capsys, check_mode=True)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert writes == [] and helm.real_upgrades == [] and "lock" not in result


def test_hop_already_applied_writes_no_lock(monkeypatch, capsys):
    applied = FRESH + [("deployed", "4.2.58", "2.5.16", DESCRIPTION_PREFIX + " hop mixcoord to chart 4.2.58")]
    helm, kube, writes = hop_with_lock(monkeypatch, LOCK["holder"], rows=applied, user_values=HOP1_VALUES)
    result, out = run_module(milvus_helm_hop, dict(HOP_ARGS, renew_lock=LOCK), capsys)
    assert result["changed"] is False and not result.get("failed"), result.get("msg")
    assert writes == [] and helm.real_upgrades == [] and "lock" not in result


# -- the ordered hop 2: pauses what it changes, keeps what it removes too early -------------------------------

ORDER = ["mixcoord", "streamingnode", "querynode", "datanode", "proxy"]


def manifest(*objects):
    return "".join("---\n" + json.dumps(obj) + "\n" for obj in objects)   # JSON is YAML


def ordered_hop(monkeypatch, **setup):
    """Hop 2 of a release whose proxy it changes, streaming node it adds and index node it removes."""
    live = [f.deployment("proxy", image=HOP1_IMAGE), f.deployment("indexnode", image=HOP1_IMAGE)]
    rendered = [f.deployment("proxy", image=HOP2_IMAGE), f.deployment("streamingnode", image=HOP2_IMAGE)]
    helm = hop_setup(monkeypatch, live_manifest=manifest(*live), rendered=manifest(*rendered), **setup)
    kube = FakeKube({"Deployment": copy.deepcopy(live)})
    patch = kube.merge_patch

    def recording(kind, namespace, name, body):   # how many real upgrades had run by each write
        kube.patches_at = getattr(kube, "patches_at", []) + [(name, len(helm.real_upgrades))]
        return patch(kind, namespace, name, body)
    kube.merge_patch = recording
    monkeypatch.setattr(milvus_helm_hop, "Kube", kube.bind)
    args = dict(HOP_ARGS, hop_name="streaming", chart_version="5.0.0", rollout_order=ORDER,
                kept_components=["indexnode"])
    return helm, kube, args


def test_the_ordered_hop_keeps_what_it_removes_and_pauses_what_it_changes_right_before_helm(monkeypatch, capsys):
    helm, kube, args = ordered_hop(monkeypatch)
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["rollout"]["kept"] == [{"component": "indexnode", "deployment": "rel-milvus-indexnode"}]
    assert result["rollout"]["paused"] == [{"component": "proxy", "deployment": "rel-milvus-proxy"}]
    assert kube.patches == [
        ("Deployment", "rel-milvus-indexnode", {"metadata": {"annotations": {
            "helm.sh/resource-policy": "keep", KEPT_ANNOTATION: "hop streaming"}}}),
        ("Deployment", "rel-milvus-proxy", {"metadata": {"annotations": {PAUSED_ANNOTATION: "hop streaming"}},
                                            "spec": {"paused": True}})]
    assert kube.patches_at == [("rel-milvus-indexnode", 0), ("rel-milvus-proxy", 0)]    # before helm upgrade
    assert len(helm.real_upgrades) == 1


def test_without_kept_components_the_hop_leaves_the_removal_to_helm(monkeypatch, capsys):
    helm, kube, args = ordered_hop(monkeypatch)
    result, out = run_module(milvus_helm_hop, dict(args, kept_components=[]), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["rollout"]["kept"] == []
    assert [name for _, name, _ in kube.patches] == ["rel-milvus-proxy"]


def test_check_and_diff_mode_show_what_would_be_kept_and_write_nothing(monkeypatch, capsys):
    helm, kube, args = ordered_hop(monkeypatch)
    result, out = run_module(milvus_helm_hop, args, capsys, check_mode=True, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert result["rollout"]["kept"] == [{"component": "indexnode", "deployment": "rel-milvus-indexnode"}]
    assert "keep (helm.sh/resource-policy=keep) on the old version, deleted once the rest is rolled out: " \
        "rel-milvus-indexnode (indexnode)" in result["diff"]["after"]
    assert kube.patches == [] and helm.real_upgrades == []


def test_a_failed_upgrade_resumes_what_it_paused_and_names_what_it_kept(monkeypatch, capsys):
    stderr = "Error: UPGRADE FAILED: cannot patch \"rel-pulsar-bookie\" with kind StatefulSet: field is immutable"
    helm, kube, args = ordered_hop(monkeypatch, upgrade_error=HelmError("helm upgrade failed (rc=1): " + stderr,
                                                                        stderr=stderr))
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert result["failed"] is True
    assert "rel-milvus-indexnode (indexnode) is kept on the old version (annotation %s); the next run deletes it" \
        % KEPT_ANNOTATION in result["msg"], result["msg"]
    assert "Still paused" not in result["msg"]    # helm changed nothing: the proxy was resumed
    assert kube.patches[-1] == ("Deployment", "rel-milvus-proxy", {
        "metadata": {"annotations": {PAUSED_ANNOTATION: None}}, "spec": {"paused": None}})
    assert result["rollout"]["still_paused"] == []


def test_an_ordered_hop_whose_upgrade_renders_other_pauses_than_its_dry_run_writes_nothing_and_resumes(
        monkeypatch, capsys):
    # the upgrade's render (checked in the gate) no longer changes the proxy its dry run paused: refused
    helm, kube, args = ordered_hop(monkeypatch)
    unchanged_proxy = manifest(f.deployment("proxy", image=HOP1_IMAGE), f.deployment("streamingnode", image=HOP2_IMAGE))

    def render_moves(kwargs):
        if not kwargs.get("dry_run"):
            helm.rendered = unchanged_proxy
    helm.on_upgrade = render_moves
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert result["failed"] is True
    assert "would pause nothing and keep rel-milvus-indexnode, but the hop's dry run of the same chart and values " \
        "paused rel-milvus-proxy and kept rel-milvus-indexnode; helm changed nothing" in result["msg"], result["msg"]
    assert helm.real_upgrades == []
    assert kube.patches[-1] == ("Deployment", "rel-milvus-proxy", {
        "metadata": {"annotations": {PAUSED_ANNOTATION: None}}, "spec": {"paused": None}})   # resumed
    assert result["rollout"]["still_paused"] == []


@pytest.mark.parametrize("ordered", [False, True], ids=["all-at-once", "ordered"])
def test_a_helm_that_applies_without_running_the_gate_is_warned_about(monkeypatch, capsys, ordered):
    helm, kube, args = ordered_hop(monkeypatch)
    if not ordered:
        args = dict(args, rollout_order=[], kept_components=[])
    upgrade = helm.upgrade

    def without_post_renderer(**kwargs):
        if not kwargs.get("dry_run"):
            kwargs.pop("gate")
        return upgrade(**kwargs)
    helm.upgrade = without_post_renderer
    warned = []   # (ansible-core keeps module warnings in process-wide state that other test files change)
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, warning, **kwargs: warned.append(warning))
    result, out = run_module(milvus_helm_hop, args, capsys)
    assert not result.get("failed"), result.get("msg")
    assert any("without passing its render through the render gate" in warning for warning in warned), warned


# -- milvus_wait_ready ------------------------------------------------------------------------

WAIT_ARGS = {"release": "rel", "namespace": "milvus", "cluster_name": "prod-eu-1",
             "image_repository": "milvusdb/milvus", "image_tag": "v2.5.16",
             "expected_components": HOP1_EXPECTED, "removed_components": HOP1_REMOVED, "timeout": 20}


def snapshot(components, image):
    deployments, replicasets, pods = f.rollout(components, image=image)
    return {"Deployment": deployments, "ReplicaSet": replicasets, "Pod": pods}


def wait_setup(monkeypatch, objects, **kwargs):
    kube = FakeKube(objects, **kwargs)
    monkeypatch.setattr(milvus_wait_ready, "Kube", kube.bind)
    return kube


def replace(objects, kind, name_part, new):
    objects[kind] = [o for o in objects[kind] if name_part not in o["metadata"]["name"]] + list(new)


def test_wait_ready_snapshot(monkeypatch, capsys):
    kube = wait_setup(monkeypatch, snapshot(HOP1_EXPECTED, HOP1_IMAGE))
    started = time.time()
    result, out = run_module(milvus_wait_ready, WAIT_ARGS, capsys)
    assert time.time() - started < 5
    assert not result.get("failed"), result.get("msg")
    assert result["ready"] is True
    assert result["state"] == "ready"
    assert result["waiting_for"] == []
    assert result["failures"] == []
    assert sorted(result["components"]) == HOP1_EXPECTED
    assert all(c["state"] == "ready" for c in result["components"].values())
    assert "ready_after" in result
    assert ("Service", "milvus", "rel-milvus", 9091, "healthz") in kube.proxied
    watched = set(kind for kind, _ in kube.watches)
    assert watched <= {"Deployment", "ReplicaSet", "Pod"}
    assert set(kind for kind, _, _ in kube.lists) >= {"Deployment", "ReplicaSet", "Pod"}
    assert all(selector == milvus_selector("rel") for _, _, selector in kube.lists)


def test_wait_ready_after_watch_events(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    # querynode is mid-rollout: template on the new image, the only pod still from the old ReplicaSet
    rolling = f.deployment("querynode", image=HOP1_IMAGE, updated=0)
    old_rs = f.replicaset(rolling, revision=1, image=OLD)
    new_rs = f.replicaset(rolling, revision=2, image=HOP1_IMAGE)
    old_pod = f.pod("querynode", image=OLD, rs=old_rs)
    new_pod = f.pod("querynode", image=HOP1_IMAGE, rs=new_rs)
    replace(objects, "Deployment", "querynode", [rolling])
    replace(objects, "ReplicaSet", "querynode", [old_rs, new_rs])
    replace(objects, "Pod", "querynode", [old_pod])
    events = {
        "Pod": [[("ADDED", new_pod), ("DELETED", old_pod)]],
        "Deployment": [[("MODIFIED", f.deployment("querynode", image=HOP1_IMAGE))]],
    }
    kube = wait_setup(monkeypatch, objects, events=events)
    result, out = run_module(milvus_wait_ready, WAIT_ARGS, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["ready"] is True
    assert result["components"]["querynode"]["updated"] == 1
    assert kube.events["Pod"] == [] and kube.events["Deployment"] == []  # the events were consumed


def test_wait_fails_fast_on_crash_loop(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    dep = f.deployment("mixcoord", image=HOP1_IMAGE, ready=0, available=0)
    rs = f.replicaset(dep)
    crashing = f.pod("mixcoord", image=HOP1_IMAGE, rs=rs, waiting="CrashLoopBackOff",
                     waiting_message="back-off 5m0s restarting failed container=mixcoord",
                     last_terminated={"reason": "Error", "exitCode": 1}, restarts=7)
    replace(objects, "Deployment", "mixcoord", [dep])
    replace(objects, "ReplicaSet", "mixcoord", [rs])
    replace(objects, "Pod", "mixcoord", [crashing])
    wait_setup(monkeypatch, objects)
    started = time.time()
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, timeout=600), capsys)
    assert time.time() - started < 5
    assert result["failed"] is True
    assert result["ready"] is False
    assert result["state"] == "failed"
    assert crashing["metadata"]["name"] in result["msg"]
    assert "CrashLoopBackOff" in result["msg"]
    assert "container mixcoord" in result["msg"]
    assert "cluster prod-eu-1: release rel in namespace milvus" in result["msg"]
    assert result["failures"][0]["pod"] == crashing["metadata"]["name"]
    assert result["failures"][0]["restarts"] == 7


def test_wait_old_pods_crashing_are_not_a_failure(monkeypatch, capsys):
    # a crash-looping pod of the old image (being replaced) must not fail the hop
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    dep = f.deployment("querynode", image=HOP1_IMAGE, updated=0)
    old_rs = f.replicaset(dep, revision=1, image=OLD)
    new_rs = f.replicaset(dep, revision=2, image=HOP1_IMAGE)
    old_pod = f.pod("querynode", image=OLD, rs=old_rs, waiting="CrashLoopBackOff", restarts=3)
    replace(objects, "Deployment", "querynode", [dep])
    replace(objects, "ReplicaSet", "querynode", [old_rs, new_rs])
    replace(objects, "Pod", "querynode", [old_pod])
    wait_setup(monkeypatch, objects)
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, return_after=1), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["ready"] is False
    assert result["state"] == "rolling"


def test_wait_healthz_500_times_out_with_the_reason(monkeypatch, capsys):
    wait_setup(monkeypatch, snapshot(HOP1_EXPECTED, HOP1_IMAGE), healthz=(500, "Internal Server Error"))
    started = time.time()
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, timeout=1), capsys)
    elapsed = time.time() - started
    assert 1 <= elapsed < 5
    assert result["failed"] is True
    assert result["ready"] is False
    assert "not ready after 1 s (the wait timeout, timeout, is 1 s)" in result["msg"]
    assert "proxy /healthz answered 500 Internal Server Error" in result["msg"]
    assert "proxy /healthz answered 500 Internal Server Error" in result["waiting_for"]


def test_wait_without_healthz_check(monkeypatch, capsys):
    kube = wait_setup(monkeypatch, snapshot(HOP1_EXPECTED, HOP1_IMAGE), healthz=(500, "nope"))
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, healthz=False), capsys)
    assert result["ready"] is True
    assert not [p for p in kube.proxied if p[4] == "healthz"]


def test_wait_return_after_reports_progress(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED + ["rootcoord"], HOP1_IMAGE)  # a removed coordinator still there
    wait_setup(monkeypatch, objects)
    started = time.time()
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, return_after=1, timeout=60), capsys)
    assert time.time() - started < 5
    assert not result.get("failed"), result.get("msg")
    assert result["ready"] is False
    assert result["state"] == "rolling"
    assert "ready_after" not in result
    assert any(line.startswith("rootcoord: Deployment rel-milvus-rootcoord still present")
               for line in result["waiting_for"])
    assert result["components"]["rootcoord"]["state"] == "removing"


def test_wait_times_out_naming_what_is_missing(monkeypatch, capsys):
    objects = snapshot([c for c in HOP1_EXPECTED if c != "mixcoord"], HOP1_IMAGE)
    wait_setup(monkeypatch, objects)
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, timeout=1), capsys)
    assert result["failed"] is True
    assert "mixcoord: Deployment not created yet" in result["msg"]


def mq_before(families=("pulsar",), suffix="a"):
    objects, names, uids = mq_statefulset_objects(families, suffix=suffix)
    return mq.detect(f.all_values(mq=("pulsar",)), f.configmap(("pulsar-v2",)), names, "rel",
                     statefulset_uids=uids)


def test_wait_message_queue_unchanged(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    objects["StatefulSet"] = mq_statefulset_objects(("pulsar",))[0]
    before = mq_before()
    assert before["kind"] == "pulsar-v2" and len(before["statefulsets"]) == 5
    kube = wait_setup(monkeypatch, objects, configmaps=[f.configmap(("pulsar-v2",))])
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, message_queue=before), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["ready"] is True
    assert result["message_queue_problems"] == []
    assert ("StatefulSet", "milvus", "release=rel,app=pulsar") in kube.lists


def test_wait_message_queue_recreated_statefulset_fails(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    statefulsets = mq_statefulset_objects(("pulsar",))[0]
    bookie = [s for s in statefulsets if s["metadata"]["name"] == "rel-pulsar-bookie"][0]
    bookie["metadata"]["uid"] = "uid-recreated"
    objects["StatefulSet"] = statefulsets
    wait_setup(monkeypatch, objects, configmaps=[f.configmap(("pulsar-v2",))])
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, message_queue=mq_before()), capsys)
    assert result["failed"] is True
    assert "the message queue changed during the hop" in result["msg"]
    assert "rel-pulsar-bookie was recreated" in result["msg"]
    assert "uid-recreated" in result["msg"]
    assert result["message_queue_problems"] == [p for p in result["message_queue_problems"] if "bookie" in p]


def test_wait_message_queue_switched_to_pulsarv3_fails(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    objects["StatefulSet"] = mq_statefulset_objects(("pulsarv3",))[0]
    wait_setup(monkeypatch, objects, configmaps=[f.configmap(("pulsar-v3",))])
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, message_queue=mq_before()), capsys)
    assert result["failed"] is True
    assert "pulsar-v2 before the hop, pulsar-v3 after" in result["msg"]
    assert "StatefulSet rel-pulsar-bookie existed before the hop and is gone" in result["msg"]


WAL_METRICS = ('# HELP milvus_wal_info WAL information\n# TYPE milvus_wal_info gauge\n'
               'milvus_wal_info{node_id="5",wal_name="%s"} 1\n')


def hop2_objects():
    objects = snapshot(HOP2_EXPECTED, HOP2_IMAGE)
    objects["StatefulSet"] = mq_statefulset_objects(("pulsar",))[0]
    return objects


def streaming_pod_names(objects):
    return [p["metadata"]["name"] for p in objects["Pod"] if p["metadata"]["labels"]["component"] == "streamingnode"]


def test_wait_hop2_wal_of_the_same_family(monkeypatch, capsys):
    objects = hop2_objects()
    metrics = dict((name, (200, WAL_METRICS % "pulsar")) for name in streaming_pod_names(objects))
    kube = wait_setup(monkeypatch, objects, configmaps=[f.configmap(("pulsar-v2",))], metrics=metrics)
    args = dict(WAIT_ARGS, image_tag="v2.6.4", expected_components=HOP2_EXPECTED, removed_components=HOP2_REMOVED,
                message_queue=mq_before())
    result, out = run_module(milvus_wait_ready, args, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["message_queue_problems"] == []
    assert [p for p in kube.proxied if p[0] == "Pod" and p[4] == "metrics" and p[3] == 9091]


def test_wait_hop2_wal_of_another_family_fails(monkeypatch, capsys):
    objects = hop2_objects()
    metrics = dict((name, (200, WAL_METRICS % "woodpecker")) for name in streaming_pod_names(objects))
    wait_setup(monkeypatch, objects, configmaps=[f.configmap(("pulsar-v2",))], metrics=metrics)
    args = dict(WAIT_ARGS, image_tag="v2.6.4", expected_components=HOP2_EXPECTED, removed_components=HOP2_REMOVED,
                message_queue=mq_before())
    result, out = run_module(milvus_wait_ready, args, capsys)
    assert result["failed"] is True
    assert "a streaming node opened a woodpecker WAL but the message queue is pulsar-v2" in result["msg"]


def test_wait_survives_an_api_outage_without_spinning(monkeypatch, capsys):
    """Every list fails (API down): the wait neither spins nor crashes; it times out naming the API error."""
    from ansible_collections.milvusops.cluster.plugins.module_utils import rollout
    from ansible_collections.milvusops.cluster.plugins.module_utils.kube import KubeError

    kube = wait_setup(monkeypatch, snapshot(HOP1_EXPECTED, HOP1_IMAGE))

    def refused(kind, namespace, label_selector=None):
        with kube.lock:
            kube.lists.append((kind, namespace, label_selector))
        raise KubeError("cannot reach the Kubernetes API at https://api.example: connection refused")

    kube.list = refused
    waits = []
    original = rollout.ReleaseView.wait_for_change

    def counted(self, seen_version, timeout):
        waits.append(timeout)
        return original(self, seen_version, timeout)

    monkeypatch.setattr(rollout.ReleaseView, "wait_for_change", counted)
    result, _ = run_module(milvus_wait_ready, dict(WAIT_ARGS, timeout=1), capsys)
    assert result["failed"]
    assert "not ready after 1 s" in result["msg"] and "connection refused" in result["msg"]
    # the main loop wakes on view changes (a failed list is not one) or the deadline, not in a busy loop
    assert len(waits) < 20, len(waits)


# -- the wait reads what preflight read: the layout of the release ---------------------------------

def renamed_snapshot(components, image, name="vdb"):
    objects = snapshot(components, image)
    for kind in ("Deployment", "Pod"):
        for obj in objects[kind]:
            obj["metadata"]["labels"]["app.kubernetes.io/name"] = name
    return objects


def test_wait_with_a_custom_configmap_verifies_the_queue_from_it(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    objects["StatefulSet"] = mq_statefulset_objects(("pulsar",))[0]
    custom = f.configmap(("pulsar-v2",))
    custom["metadata"]["name"] = "ops-config"
    kube = wait_setup(monkeypatch, objects, configmaps=[custom])   # the chart renders no rel-milvus ConfigMap
    layout = {"fullname": "rel-milvus", "name": "milvus", "configmap": "ops-config", "custom_configmap": True}
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, message_queue=mq_before(), layout=layout), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["message_queue_problems"] == []
    # without the layout it reads the chart's default name, finds nothing, and calls the queue changed
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, message_queue=mq_before()), capsys)
    assert result["failed"] is True and "message queue changed: pulsar-v2 before the hop, unknown after" in result["msg"]


def test_wait_with_name_override_selects_probes_and_judges_the_renamed_objects(monkeypatch, capsys):
    objects = renamed_snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    kube = wait_setup(monkeypatch, objects)
    layout = {"fullname": "search-engine", "name": "vdb", "configmap": "search-engine"}
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, layout=layout), capsys)
    assert not result.get("failed"), result.get("msg")
    assert sorted(result["components"]) == HOP1_EXPECTED
    assert all(selector == milvus_selector("rel", name="vdb") for _, _, selector in kube.lists)
    assert ("Service", "milvus", "search-engine", 9091, "healthz") in kube.proxied


def test_wait_without_the_layout_sees_no_renamed_component(monkeypatch, capsys):
    wait_setup(monkeypatch, renamed_snapshot(HOP1_EXPECTED, HOP1_IMAGE))
    result, out = run_module(milvus_wait_ready, dict(WAIT_ARGS, timeout=1), capsys)
    assert result["failed"] is True and "mixcoord: Deployment not created yet" in result["msg"]


def test_preflight_returns_the_layout_and_hides_url_credentials(monkeypatch, capsys):
    observed = old_default_pulsar()
    observed["all_values"]["nameOverride"] = ""
    observed["configmap"]["data"]["user.yaml"] = "pulsar:\n  address: pulsar://ops:pulsar-pw@rel-pulsar-proxy:6650\n"
    observed["user_values"]["extraConfigFiles"] = {"user.yaml": observed["configmap"]["data"]["user.yaml"]}
    preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, PREFLIGHT_ARGS, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["layout"] == {"fullname": "rel-milvus", "name": "milvus", "configmap": "rel-milvus",
                                "custom_configmap": False}
    assert "pulsar-pw" not in out
    assert any("pulsar.address=pulsar://VALUE_SPECIFIED_IN_NO_LOG_PARAMETER@rel-pulsar-proxy:6650" in e
               for e in result["message_queue"]["evidence"])


def test_preflight_called_directly_names_the_module_options(monkeypatch, capsys):
    preflight_setup(monkeypatch, old_default_pulsar(), refused={("patch", "deployments")})
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, cluster_name="prod-1"), capsys)
    assert "(kubeconfig / context / api_key)" in result["msg"], result["msg"]
    assert "milvus_" not in result["msg"]


def test_preflight_looks_up_every_planned_chart_version_once(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, chart_repo_url="http://127.0.0.1:1/charts"),
                             capsys)
    assert result.get("failed") is not True, result.get("msg")
    assert sorted(c for c in helm.calls if c[0] == "pull") == [   # fetched side by side
        ("pull", "milvus", "4.2.58", "http://127.0.0.1:1/charts"),
        ("pull", "milvus", "5.0.0", "http://127.0.0.1:1/charts")]
    # the run's packages: a second cluster's preflight, and the hops, fetch nothing again
    helm.calls[:] = []
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, chart_repo_url="http://127.0.0.1:1/charts"),
                             capsys)
    assert result.get("failed") is not True, result.get("msg")
    assert not [c for c in helm.calls if c[0] == "pull"]


@pytest.mark.parametrize("names,expected", [("option", "check chart_ref and chart_repo_url"),
                                            ("inventory", "check milvus_chart_ref and milvus_chart_repo_url")])
def test_preflight_a_chart_version_missing_from_the_repository_blocks_before_any_hop(monkeypatch, capsys,
                                                                                      names, expected):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    helm.missing_charts = {"5.0.0"}
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, message_names=names), capsys)
    assert result["failed"]
    assert result["msg"].startswith("upgrade blocked: ") and result["msg"].endswith("nothing was changed")
    [blocker] = result["blockers"]
    assert "chart milvus version 5.0.0 cannot be had" in blocker and 'version "5.0.0" not found' in blocker
    assert expected in blocker
    assert not helm.upgrades


def test_preflight_a_local_chart_of_another_version_blocks_before_any_hop(monkeypatch, capsys, tmp_path):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    package = f.chart_package(str(tmp_path), "milvus", "5.0.0")   # helm would install it as any version
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, chart_ref=package, chart_repo_url="",
                                                    message_names="inventory"), capsys)
    assert result["failed"] and not helm.upgrades
    [blocker] = result["blockers"]   # hop 2's 5.0.0 is this chart; hop 1's 4.2.58 is not
    assert blocker.startswith("chart %s version 4.2.58 cannot be used: the chart at %s is version 5.0.0" % (
        package, package)), blocker
    assert "two hops need a repository" in blocker and "check milvus_chart_ref" in blocker
    assert not [c for c in helm.calls if c[0] == "pull"]


def test_preflight_without_check_charts_does_not_look_them_up(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    helm.missing_charts = {"5.0.0"}
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, check_charts=False), capsys)
    assert result.get("failed") is not True, result.get("msg")
    assert not [c for c in helm.calls if c[0] == "pull"]


def test_preflight_an_up_to_date_cluster_needs_no_chart_lookup(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, check_charts=True, target_version="v2.5.10",
                                                    intermediate_version="v2.5.10"), capsys)
    if not result.get("plan"):
        assert not [c for c in helm.calls if c[0] == "pull"]


def test_preflight_a_binary_that_is_not_helm_fails_naming_the_setting(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())

    def not_helm():
        raise NotHelm("/usr/bin/true is not helm: 'helm version --template {{.Version}}' printed nothing")
    helm.version = not_helm
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, message_names="inventory"), capsys)
    assert result["failed"]
    assert "/usr/bin/true is not helm" in result["msg"] and "set milvus_helm_binary" in result["msg"]
    assert "not found" not in result["msg"] and result["msg"].endswith("nothing was changed")


# -- endstate.settled: preflight's verdict on a release with no hop left -----------------------

def finished_release():
    """A finished 2.6 release: the target components ready on v2.6.4, its queue's StatefulSets, WAL metrics."""
    objects = hop2_objects()
    metrics = dict((name, (200, WAL_METRICS % "pulsar")) for name in streaming_pod_names(objects))
    return objects, metrics


def settled_of(objects, metrics, healthz=(200, "OK"), message_queue="before"):
    kube = FakeKube(objects, configmaps=[f.configmap(("pulsar-v2",))], metrics=metrics, healthz=healthz)
    verdict = endstate.settled(kube, "milvus", "rel", None, HOP2_IMAGE,
                               mq_before() if message_queue == "before" else message_queue,
                               objects["Deployment"], objects["ReplicaSet"], objects["Pod"])
    return verdict, kube


def test_a_finished_release_is_settled_from_one_read_with_healthz_and_the_queue_checked():
    verdict, kube = settled_of(*finished_release())
    assert verdict == {"settled": True, "waiting_for": []}
    assert ("Service", "milvus", "rel-milvus", 9091, "healthz") in kube.proxied
    assert [p for p in kube.proxied if p[0] == "Pod" and p[4] == "metrics"]
    assert not kube.watches      # one read: nothing is watched


def _with_paused_proxy(objects):
    for deployment in objects["Deployment"]:
        if deployment["metadata"]["labels"]["component"] == "proxy":
            deployment["spec"]["paused"] = True


def _with_index_node_left(objects):
    left = f.deployment("indexnode", image=OLD)
    objects["Deployment"].append(left)


def _with_querynode_on_the_old_image(objects):
    replace(objects, "Deployment", "querynode", [f.deployment("querynode", image=OLD)])


@pytest.mark.parametrize("spoil, said", [
    (_with_paused_proxy, "proxy: Deployment rel-milvus-proxy is paused"),
    (_with_index_node_left, "indexnode"),
    (_with_querynode_on_the_old_image, "querynode"),
])
def test_a_release_not_finished_is_left_to_the_wait_saying_why(spoil, said):
    objects, metrics = finished_release()
    spoil(objects)
    verdict, kube = settled_of(objects, metrics)
    assert verdict["settled"] is False
    assert any(said in line for line in verdict["waiting_for"]), verdict
    assert not kube.proxied      # the cluster is not asked more once the objects say no


def test_a_proxy_not_serving_or_a_changed_queue_is_not_settled():
    objects, metrics = finished_release()
    verdict, unused = settled_of(objects, metrics, healthz=(503, "not ready"))
    assert verdict == {"settled": False, "waiting_for": ["proxy /healthz answered 503 not ready"]}
    woodpecker = dict((name, (200, WAL_METRICS % "woodpecker")) for name in metrics)
    verdict, unused = settled_of(objects, woodpecker)
    assert verdict["settled"] is False
    assert "a streaming node opened a woodpecker WAL but the message queue is pulsar-v2" in verdict["waiting_for"][0]



# -- milvus_preflight with the upgrade lock ---------------------------------------------------

LOCK = {"holder": "ctl/pid:4242:1/20261202T101500/7", "purpose": "upgrade of rel", "duration": 300}
LEASE = "milvusops-upgrade-rel"


def test_preflight_keeps_the_lock_it_took_when_there_is_work(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=LOCK), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["lock"]["held"] is True and result["lock"]["lease"] == LEASE
    assert kube.leases[LEASE]["spec"]["holderIdentity"] == LOCK["holder"]
    assert "end_state" not in result          # hops to run: the waits judge them


def finished_preflight_setup(monkeypatch, observed):
    helm, kube = preflight_setup(monkeypatch, observed)
    kube.metrics = dict((pod["metadata"]["name"], (200, WAL_METRICS % "pulsar")) for pod in observed["pods"]
                        if pod["metadata"]["labels"]["component"] == "streamingnode")
    return helm, kube


def test_preflight_of_a_finished_release_settles_it_and_gives_the_lock_back(monkeypatch, capsys):
    helm, kube = finished_preflight_setup(monkeypatch, f.observed("v2.6.4", "streaming", "pulsar-v2", chart="5.0.0"))
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=LOCK), capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["plan"] == []
    assert result["end_state"] == {"settled": True, "waiting_for": []}
    assert result["lock"]["held"] is False and "nothing to do" in result["lock"]["message"]
    assert kube.leases == {}


def test_preflight_of_an_unfinished_release_keeps_the_lock_for_the_wait(monkeypatch, capsys):
    observed = f.observed("v2.6.4", "streaming", "pulsar-v2", chart="5.0.0")
    for deployment in observed["deployments"]:
        if deployment["metadata"]["labels"]["component"] == "datanode":
            deployment["spec"]["paused"] = True     # an ordered hop 2 that stopped: the wait resumes it
            deployment["metadata"].setdefault("annotations", {})[PAUSED_ANNOTATION] = "hop streaming"
    helm, kube = finished_preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=LOCK), capsys)
    assert result["plan"] == [] and result["end_state"]["settled"] is False
    assert result["lock"]["held"] is True and LEASE in kube.leases


def test_a_blocked_preflight_gives_back_the_lock_it_took(monkeypatch, capsys):
    observed = f.observed("v2.5.10", "separate", "pulsar-v2", chart="4.2.20", status="pending-upgrade",
                          previous=[("deployed", "4.2.20", "2.4.16", "Install complete")])
    helm, kube = preflight_setup(monkeypatch, observed)
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=LOCK), capsys)
    assert result["failed"] is True and "pending-upgrade" in result["msg"]
    assert result["lock"]["held"] is False
    assert kube.leases == {}


def test_a_lock_held_by_a_live_run_refuses_preflight_before_it_reads(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    other = dict(LOCK, holder="other-host/pid:1:1/20261202T100000/1")
    run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=other), capsys)
    reads_before = len(kube.lists)
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=LOCK), capsys)
    assert result["failed"] is True and "other-host" in result["msg"]
    assert len(kube.lists) == reads_before     # refused before anything was read
    assert kube.leases[LEASE]["spec"]["holderIdentity"] == other["holder"]


def test_check_mode_takes_no_lock(monkeypatch, capsys):
    helm, kube = preflight_setup(monkeypatch, old_default_pulsar())
    result, out = run_module(milvus_preflight, dict(PREFLIGHT_ARGS, lock=LOCK), capsys, check_mode=True)
    assert not result.get("failed") and "lock" not in result and kube.leases == {}


# -- the wait deletes what an ordered hop kept, once the rest is rolled out ------------------------------------

def kept_index_node(objects):
    """Add an index node on 2.5 that hop 2 kept (annotated), with its ReplicaSet and pod."""
    deployments, replicasets, pods = f.rollout(["indexnode"], image=HOP1_IMAGE)
    deployments[0]["metadata"]["annotations"].update({"helm.sh/resource-policy": "keep", KEPT_ANNOTATION: "hop streaming"})
    objects["Deployment"] += deployments
    objects["ReplicaSet"] += replicasets
    objects["Pod"] += pods
    return deployments[0]


HOP2_WAIT = dict(WAIT_ARGS, image_tag="v2.6.4", expected_components=HOP2_EXPECTED, removed_components=HOP2_REMOVED,
                 resume_order=ORDER)


def test_the_wait_deletes_the_kept_index_node_once_the_rest_is_rolled_out(monkeypatch, capsys):
    objects = snapshot(HOP2_EXPECTED, HOP2_IMAGE)
    indexnode = kept_index_node(objects)
    kube = wait_setup(monkeypatch, objects)
    result, out = run_module(milvus_wait_ready, HOP2_WAIT, capsys)
    assert not result.get("failed"), result.get("msg")
    assert kube.deleted == [("Deployment", "rel-milvus-indexnode", indexnode["metadata"]["uid"])]
    assert result["changed"] is True and result["ready"] is True
    assert [(e["component"], e["deployment"]) for e in result["rollout"]["deleted"]] == [
        ("indexnode", "rel-milvus-indexnode")]
    assert result["rollout"]["still_kept"] == []


def test_the_kept_index_node_stays_while_a_component_is_still_rolling_and_the_failure_says_so(monkeypatch, capsys):
    objects = snapshot(HOP2_EXPECTED, HOP2_IMAGE)
    kept_index_node(objects)
    replace(objects, "Deployment", "querynode", [f.deployment("querynode", image=HOP2_IMAGE, ready=0, available=0)])
    kube = wait_setup(monkeypatch, objects)
    result, out = run_module(milvus_wait_ready, dict(HOP2_WAIT, timeout=1), capsys)
    assert result["failed"] is True
    assert kube.deleted == []
    assert "indexnode: Deployment rel-milvus-indexnode kept on its old version (deleted once every other component " \
        "is rolled out)" in result["msg"], result["msg"]
    assert result["msg"].endswith("rel-milvus-indexnode (indexnode) is kept on the old version (annotation %s); the "
                                  "next run deletes it once every component runs the new one" % KEPT_ANNOTATION)
    assert result["rollout"]["still_kept"] == [{"component": "indexnode", "deployment": "rel-milvus-indexnode"}]


def test_a_kept_deployment_of_a_component_the_hop_does_not_remove_is_left_alone(monkeypatch, capsys):
    objects = snapshot(HOP1_EXPECTED, HOP1_IMAGE)
    for deployment in objects["Deployment"]:
        if deployment["metadata"]["labels"]["component"] == "indexnode":
            deployment["metadata"]["annotations"][KEPT_ANNOTATION] = "hop streaming"
    kube = wait_setup(monkeypatch, objects)
    result, out = run_module(milvus_wait_ready, WAIT_ARGS, capsys)     # hop 1: the index node is expected
    assert not result.get("failed"), result.get("msg")
    assert kube.deleted == [] and result["rollout"]["deleted"] == []

"""Fleet of simulated clusters: Python API and CLI, seeded releases in their starting states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

pytest.importorskip("tests.kubesim.server")

from tests.kubesim.fleet import Fleet, KubeReader  # noqa: E402
from tests.kubesim.states import load_states  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]
STATES = load_states()


def helm_json(helm, env, *args):
    proc = subprocess.run([helm, *args, "-o", "json"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_seeded(helm, env, kubeconfig, entry):
    """The release of a fleet.json cluster entry is deployed and looks like its state."""
    state = STATES[entry["state"]]
    ctx, ns, rel = entry["context"], entry["namespace"], entry["release"]
    status = helm_json(helm, env, "status", rel, "-n", ns, "--kube-context", ctx)
    assert status["info"]["status"] == "deployed"
    listed = helm_json(helm, env, "list", "-n", ns, "--kube-context", ctx, "--filter", f"^{rel}$")
    assert [(r["name"], r["chart"], r["status"]) for r in listed] == [
        (rel, f"milvus-{state.chart}", "deployed")]
    user_values = helm_json(helm, env, "get", "values", rel, "-n", ns, "--kube-context", ctx)
    if state.image_tag:
        assert user_values["image"]["all"]["tag"] == state.image_tag
    if not state.set and not state.image_tag and not state.image_repository:
        assert user_values in ({}, None)
    api = KubeReader(kubeconfig, ctx)
    sel = urllib.parse.quote(f"app.kubernetes.io/instance={rel},app.kubernetes.io/name=milvus")
    deps = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments?labelSelector={sel}")
    comps = sorted(d["metadata"]["labels"]["component"] for d in deps["items"])
    assert comps == sorted(state.expect["components"])
    for d in deps["items"]:
        st = d["status"]
        assert st.get("readyReplicas") == st.get("updatedReplicas") == d["spec"]["replicas"]
    pods = api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector={sel}")["items"]
    repo = state.image_repository or "milvusdb/milvus"
    assert sorted(p["metadata"]["labels"]["component"] for p in pods) == comps
    for p in pods:
        assert p["spec"]["containers"][0]["image"] == f"{repo}:{state.expect['image_tag']}"
        ready = {c["type"]: c["status"] for c in p["status"]["conditions"]}
        assert ready.get("Ready") == "True", p["metadata"]["name"]
    sts = api.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets")["items"]
    apps = {s["metadata"]["labels"].get("app") or s["metadata"]["labels"].get(
        "app.kubernetes.io/name") for s in sts}
    mq = state.expect["mq"]
    assert ("pulsar" in apps) is ("pulsar-v2" in mq)
    assert ("pulsarv3" in apps) is ("pulsar-v3" in mq)
    assert ("kafka" in apps) is ("kafka" in mq)


def api_reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/version", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- Python API
API_CLUSTERS = [("east", "v2510-separate-pulsar2"), ("west", "v2514-gpu-private"),
                ("kafka", "v2516-kafka"), ("done", "v264-done")]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = Fleet(tmp_path_factory.mktemp("fleet-api"), clusters=API_CLUSTERS, pod_start_delay=0.0)
    t0 = time.monotonic()
    f.up()
    f.measured_up = time.monotonic() - t0
    yield f
    f.down()


def test_api_fleet_seeds_every_state(fleet):
    print(f"\nFleet.up() of {len(fleet)} clusters took {fleet.measured_up:.1f}s")
    info = json.loads(fleet.fleet_json.read_text())
    assert info["status"] == "ready" and len(info["clusters"]) == len(API_CLUSTERS)
    env = fleet.helm_env()
    for entry, (name, state) in zip(info["clusters"], API_CLUSTERS):
        assert (entry["name"], entry["state"], entry["context"]) == (name, state, name)
        assert entry["seeded"] is True and entry["error"] is None
        assert entry["url"] == fleet[name].cluster.url
        assert entry["control_url"] == fleet[name].cluster.url + "/kubesim"
        check_seeded(fleet.helm_binary, env, fleet.kubeconfig, entry)


def test_api_fleet_kubeconfig_has_one_context_per_cluster(fleet):
    cfg = yaml.safe_load(fleet.kubeconfig.read_text())
    assert [c["name"] for c in cfg["contexts"]] == [n for n, _ in API_CLUSTERS]
    servers = {c["name"]: c["cluster"]["server"] for c in cfg["clusters"]}
    assert servers == {n: fleet[n].cluster.url for n, _ in API_CLUSTERS}
    assert len(set(servers.values())) == len(API_CLUSTERS)
    assert oct(fleet.kubeconfig.stat().st_mode & 0o777) == "0o600"


def test_api_fleet_release_names_and_namespaces(fleet):
    assert (fleet["west"].release, fleet["west"].namespace) == ("my-milvus", "ai")
    assert (fleet["kafka"].release, fleet["kafka"].namespace) == ("vectors", "milvus")
    listed = json.loads(fleet.helm("list", "-A", "-o", "json", cluster="west").stdout)
    assert [(r["name"], r["namespace"], r["chart"]) for r in listed] == [
        ("my-milvus", "ai", "milvus-4.2.40")]


def test_api_fleet_chart_repo_serves_every_version(fleet):
    with urllib.request.urlopen(fleet.chart_repo_url + "/index.yaml", timeout=5) as resp:
        index = yaml.safe_load(resp.read())
    assert sorted(e["version"] for e in index["entries"]["milvus"]) == [
        "4.2.20", "4.2.40", "4.2.58", "5.0.0", "5.0.19"]
    search = json.loads(fleet.helm("search", "repo", "fixture/milvus", "--versions",
                                   "-o", "json").stdout)
    assert {e["version"] for e in search} == {"4.2.20", "4.2.40", "4.2.58", "5.0.0", "5.0.19"}


def test_api_fleet_release_override(tmp_path):
    with Fleet(tmp_path, clusters=[{"name": "x", "state": "v2516-mixcoord", "release": "vdb",
                                    "namespace": "data"}]) as f:
        entry = json.loads(f.fleet_json.read_text())["clusters"][0]
        assert (entry["release"], entry["namespace"]) == ("vdb", "data")
        check_seeded(f.helm_binary, f.helm_env(), f.kubeconfig, entry)
        url = f["x"].url
    assert not api_reachable(url)
    assert json.loads(f.fleet_json.read_text())["status"] == "stopped"


def test_api_fleet_tls_and_token(tmp_path):
    with Fleet(tmp_path, clusters=[("secure", "v2514-mixcoord-pulsar3")], tls=True,
               token="fleet-test-token") as f:
        assert f["secure"].url.startswith("https://")
        cfg = yaml.safe_load(f.kubeconfig.read_text())
        assert cfg["users"][0]["user"] == {"token": "fleet-test-token"}
        entry = json.loads(f.fleet_json.read_text())["clusters"][0]
        check_seeded(f.helm_binary, f.helm_env(), f.kubeconfig, entry)
        req = urllib.request.Request(f["secure"].url + "/api/v1/namespaces")
        import ssl
        ctx = ssl.create_default_context(cafile=f["secure"].cluster.ca_cert_path)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5, context=ctx)
        assert err.value.code == 401


def test_api_fleet_rejects_unknown_state(tmp_path):
    from tests.kubesim.fleet import FleetError

    with pytest.raises(FleetError, match="unknown state"):
        Fleet(tmp_path, clusters=[("a", "no-such-state")])


def test_api_fleet_kube_versions_per_member(tmp_path):
    from tests.kubesim.fleet import FleetError

    with pytest.raises(FleetError, match="names no member"):
        Fleet(tmp_path, clusters=[("a", "v2516-mixcoord")], kube_versions={"b": "1.26.15"})
    with Fleet(tmp_path, clusters=[("old", "v2516-mixcoord"), ("new", "v2516-mixcoord")], seed=False,
               kube_versions={"old": "v1.26.15"}) as f:
        versions = dict((name, f.reader(name).get("/version")["gitVersion"]) for name in ("old", "new"))
    assert versions["old"] == "v1.26.15"
    assert versions["new"] != "v1.26.15"


# ---------------------------------------------------------------------------- CLI
def run_cli(*args, timeout=900):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-m", "tests.kubesim", "fleet", *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _cli_fleet_roundtrip(state_dir: Path, n: int, states: list[str], workers: int = 3):
    t0 = time.monotonic()
    up = run_cli("up", "--clusters", str(n), "--states", ",".join(states), "--state-dir",
                 str(state_dir), "--pod-start-delay", "0.2", "--seed-workers", str(workers))
    elapsed = time.monotonic() - t0
    try:
        assert up.returncode == 0, up.stdout + up.stderr + (state_dir / "fleet.log").read_text()
        info = json.loads((state_dir / "fleet.json").read_text())
        assert info["status"] == "ready" and len(info["clusters"]) == n
        pid = int((state_dir / "fleet.pid").read_text())
        assert Path(f"/proc/{pid}").exists()
        status = run_cli("status", "--state-dir", str(state_dir))
        assert status.returncode == 0, status.stdout + status.stderr
        env = dict(os.environ, **info["helm_env"])
        helm = str(Path(sys.executable).parent / "helm")
        for i, entry in enumerate(info["clusters"]):
            assert entry["state"] == states[i % len(states)]
            check_seeded(helm, env, info["kubeconfig"], entry)
        return info, elapsed
    finally:
        down = run_cli("down", "--state-dir", str(state_dir))
        assert down.returncode == 0, down.stderr


def test_cli_fleet_up_status_down(tmp_path):
    states = ["v2516-mixcoord", "v260rc1", "v2518-separate", "v2511-external-pulsar"]
    info, elapsed = _cli_fleet_roundtrip(tmp_path, 4, states)
    print(f"\nfleet up of 4 clusters (CLI) took {elapsed:.1f}s "
          f"(daemon-reported {info['up_seconds']}s)")
    pid_file = tmp_path / "fleet.pid"
    assert not pid_file.exists()
    for entry in info["clusters"]:
        assert not api_reachable(entry["url"])
    assert run_cli("status", "--state-dir", str(tmp_path)).returncode != 0
    assert run_cli("down", "--state-dir", str(tmp_path)).returncode == 0   # idempotent


def test_cli_rejects_unknown_state(tmp_path):
    proc = run_cli("up", "--clusters", "1", "--states", "bogus", "--state-dir", str(tmp_path))
    assert proc.returncode != 0 and "unknown state" in proc.stderr
    assert not (tmp_path / "fleet.pid").exists()


@pytest.mark.slow
def test_cli_fleet_of_16_clusters(tmp_path):
    states = list(STATES)
    info, elapsed = _cli_fleet_roundtrip(tmp_path, 16, states)
    print(f"\nfleet up of 16 clusters (CLI) took {elapsed:.1f}s "
          f"(daemon-reported {info['up_seconds']}s)")
    assert len({c["url"] for c in info["clusters"]}) == 16

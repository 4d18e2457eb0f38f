# -*- coding: utf-8 -*-
"""The render gate: the relay helm runs as its post-renderer, talking to the hop's thread over a Unix socket.

The relay is run here as helm runs it: an executable, the render on its stdin, the post-renderer arguments after
it; its stdout is what helm would apply, its exit code whether helm goes on."""
from __future__ import absolute_import, division, print_function

import os
import stat
import subprocess
import sys
import threading

import pytest
import yaml

from ansible_collections.milvusops.cluster.plugins.module_utils import render_gate
from ansible_collections.milvusops.cluster.plugins.module_utils.render_gate import (
    PLUGIN_NAME, RenderGate, helm_major, post_renderer_arguments)

RENDER = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: rel-milvus-proxy\n"


def helm_3_command(arguments):
    """The command helm 3 runs for these upgrade flags: the post-renderer, then each of its args."""
    return [arguments[1]] + [arguments[i + 1] for i, arg in enumerate(arguments) if arg == "--post-renderer-args"]


def as_helm_runs_it(gate, render=RENDER):
    """(exit code, stdout, stderr) of the relay given `render`, run as helm 3 runs it."""
    done = subprocess.run(helm_3_command(gate.arguments()), input=render.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.fixture
def folder(tmp_path):
    private = tmp_path / "hop"
    private.mkdir(mode=0o700)
    return str(private)


def test_a_render_let_through_comes_back_unchanged(folder):
    seen = []
    with RenderGate(folder, lambda render: seen.append(render), "3.17.3") as gate:
        rc, out, err = as_helm_runs_it(gate)
    assert (rc, out) == (0, RENDER), err
    assert seen == [RENDER] and gate.renders == 1 and gate.refusal is None


def test_a_refused_render_fails_the_post_renderer_with_the_reason_and_gives_helm_nothing(folder):
    with RenderGate(folder, lambda render: "the hop would delete StatefulSet/rel-pulsar-bookie", "3.17.3") as gate:
        rc, out, err = as_helm_runs_it(gate)
    assert rc == 1 and out == ""
    assert "StatefulSet/rel-pulsar-bookie" in err
    assert gate.refusal == "the hop would delete StatefulSet/rel-pulsar-bookie"


def test_a_guard_that_breaks_refuses(folder):
    def broken(render):
        raise KeyError("spec")
    with RenderGate(folder, broken, "3.17.3") as gate:
        rc, out, err = as_helm_runs_it(gate)
    assert rc == 1 and out == ""
    assert "the render guard failed" in err and "spec" in err


def test_each_helm_call_is_asked_again_and_the_last_answer_counts(folder):
    answers = iter(["not yet", None])
    with RenderGate(folder, lambda render: next(answers), "3.17.3") as gate:
        first = as_helm_runs_it(gate)
        second = as_helm_runs_it(gate)
    assert first[0] == 1 and second[:2] == (0, RENDER)
    assert gate.renders == 2 and gate.refusal is None


def test_a_large_render_passes_whole(folder):
    render = RENDER + "".join("---\nkind: ConfigMap\nmetadata:\n  name: c%d\ndata:\n  x: '%s'\n" % (i, "y" * 5000)
                              for i in range(400))   # about 2 MB, more than any pipe or socket buffer
    with RenderGate(folder, lambda text: None if text == render else "torn", "3.17.3") as gate:
        rc, out, err = as_helm_runs_it(gate, render)
    assert rc == 0 and out == render, err


def test_once_the_hop_is_gone_the_relay_fails_and_helm_writes_nothing(folder):
    with RenderGate(folder, lambda render: None, "3.17.3") as gate:
        pass
    rc, out, err = as_helm_runs_it(gate)
    assert rc == 1 and out == ""
    assert "did not answer" in err and "helm wrote nothing" in err


def test_the_relay_and_its_socket_are_in_the_hops_private_folder_and_the_relay_is_only_read(folder):
    # run by the interpreter, not executed: a temp directory mounted noexec does not stop it
    with RenderGate(folder, lambda render: None, "3.17.3") as gate:
        assert os.path.dirname(gate.relay_path) == folder and os.path.dirname(gate.socket_path) == folder
        assert not os.stat(gate.relay_path).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        assert helm_3_command(gate.arguments())[:3] == [sys.executable, "-IS", gate.relay_path]
        assert gate.environment() == {}
    assert not os.path.exists(os.path.join(folder, "helm-plugins"))


def test_a_temp_folder_too_deep_for_a_socket_puts_the_socket_in_a_private_folder_of_its_own(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    with RenderGate(str(deep), lambda render: None, "3.17.3") as gate:
        socket_folder = os.path.dirname(gate.socket_path)
        assert socket_folder.startswith(os.path.join("/tmp", "milvusops-gate-"))
        assert stat.S_IMODE(os.stat(socket_folder).st_mode) == 0o700
        rc, out, err = as_helm_runs_it(gate)
        assert (rc, out) == (0, RENDER), err
    assert not os.path.exists(socket_folder)


@pytest.mark.parametrize("version, major", [("3.14.4", 3), ("v3.22.0", 3), ("4.3.1", 4), ("v4.0.0-rc.1", 4),
                                            ("5.0.0", 5), ("", 3), ("unknown", 3)])
def test_helm_major(version, major):
    assert helm_major(version) == major


def test_helm_3_runs_the_relay_with_the_hops_python():
    assert post_renderer_arguments("3.14.4", "/py/bin/python3", "/f/relay", "/f/gate.sock", 300) == [
        "--post-renderer", "/py/bin/python3", "--post-renderer-args", "-IS", "--post-renderer-args", "/f/relay",
        "--post-renderer-args", "/f/gate.sock", "--post-renderer-args", "300"]


@pytest.mark.parametrize("version", ["4.3.1", "v4.0.0", "5.1.0"])
def test_helm_4_and_later_run_the_plugin(version):
    assert post_renderer_arguments(version, "/py/bin/python3", "/f/relay", "/f/gate.sock", 300) == [
        "--post-renderer", PLUGIN_NAME, "--post-renderer-args", "/f/gate.sock", "--post-renderer-args", "300"]


def test_the_helm_4_plugin_runs_the_relay(folder):
    with RenderGate(folder, lambda render: None, "4.3.1") as gate:
        plugins = gate.environment()["HELM_PLUGINS"]
        with open(os.path.join(plugins, PLUGIN_NAME, "plugin.yaml")) as handle:
            manifest = yaml.safe_load(handle)
    assert manifest["type"] == "postrenderer/v1" and manifest["name"] == PLUGIN_NAME
    assert manifest["runtimeConfig"]["platformCommand"] == [
        {"command": sys.executable, "args": ["-IS", gate.relay_path]}]
    assert plugins.startswith(folder)


def test_the_relay_waits_no_longer_than_it_was_told(folder):
    # a hop that never answers (hung): the relay gives up after its seconds, and helm writes nothing
    release = []

    def hangs(render):
        waiting = threading.Event()
        release.append(waiting)
        waiting.wait(10)
    with RenderGate(folder, hangs, "3.17.3") as gate:
        command = helm_3_command(post_renderer_arguments("3.17.3", sys.executable, gate.relay_path,
                                                         gate.socket_path, 1))
        done = subprocess.run(command, input=RENDER.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30, check=False)
        release[0].set()
    assert done.returncode == 1 and done.stdout == b""
    assert b"did not answer" in done.stderr


def test_the_relay_compiles():
    compile(render_gate.RELAY, "render-gate-relay", "exec")   # a syntax error would otherwise only show inside helm

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""helm upgrade's post-renderer as a gate: helm hands the hop its render, and writes only if the hop says apply.

helm runs a post-renderer after it has rendered the chart and before it writes anything (the release record
included), and gives up when the post-renderer fails. The gate's relay is that post-renderer: a few lines of
Python that pass the render over a Unix socket in the hop's private folder to `inspect`, run by a thread of the
hop's own process, and print the render back unchanged only when `inspect` finds nothing to refuse. So the render
guard checks the very render helm is about to apply, in the same helm process, instead of a dry run of its own.

helm runs the relay with the hop's own Python interpreter (the relay file is only read, so a temp directory
mounted noexec does not matter): helm 3 takes the interpreter as the post-renderer, the relay's path among its
arguments; helm 4 takes post-renderers only as plugins, so there the folder also holds a plugin that runs the
same command, found through HELM_PLUGINS for that one call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import sys
import tempfile
import threading

PLUGIN_NAME = "milvusops-render-gate"
# How long the relay waits for the hop's answer. The answer comes in seconds (the checks, and for an ordered hop
# its pauses); this only bounds a helm left behind by a hop that hangs.
ANSWER_SECONDS = 300
APPLY = b"apply"
SOCKET_PATH_BYTES = 104   # sun_path holds 108 bytes on Linux, 104 on the BSDs, the terminating NUL included

RELAY = r'''# helm's post-renderer for milvusops.cluster.milvus_helm_hop: asks the hop whether helm may apply this render
import socket
import sys


def main(path, seconds):
    render = sys.stdin.buffer.read()
    answer = b""
    try:
        gate = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        gate.settimeout(seconds)
        gate.connect(path)
        gate.sendall(render)
        gate.shutdown(socket.SHUT_WR)
        while True:
            chunk = gate.recv(65536)
            if not chunk:
                break
            answer += chunk
    except (OSError, ValueError) as exc:
        sys.stderr.write("the milvusops render gate did not answer (%s); helm wrote nothing\n" % exc)
        return 1
    verdict, _, reason = answer.partition(b"\n")
    if verdict != b"apply":
        sys.stderr.write((reason or b"the milvusops render gate refused the render").decode("utf-8", "replace"))
        return 1
    sys.stdout.buffer.write(render)
    return 0


sys.exit(main(sys.argv[1], float(sys.argv[2])))
'''


def helm_major(version):
    """'4.3.1' -> 4; anything unreadable counts as helm 3 (the oldest the collection supports)."""
    head = (version or "").lstrip("v").split(".", 1)[0]
    return int(head) if head.isdigit() else 3


# -I: nothing from the environment or the user's site packages; -S: no site import (a faster start)
PYTHON_FLAGS = "-IS"


def post_renderer_arguments(helm_version, python, relay_path, socket_path, seconds=ANSWER_SECONDS):
    """The helm upgrade flags that make the relay its post-renderer: `python -IS relay` for helm 3, the plugin
    that runs the same for helm 4 and later (helm appends the post-renderer args to the plugin's command)."""
    if helm_major(helm_version) >= 4:
        command = [PLUGIN_NAME]
    else:
        command = [python, PYTHON_FLAGS, relay_path]
    arguments = ["--post-renderer", command[0]]
    for argument in command[1:] + [socket_path, "%g" % seconds]:
        arguments += ["--post-renderer-args", argument]
    return arguments


def plugin_manifest(python, relay_path):
    """plugin.yaml of the helm 4 post-renderer plugin that runs the relay."""
    return ("apiVersion: v1\n"
            "type: postrenderer/v1\n"
            "name: %s\n"
            "version: 1.0.0\n"
            "runtime: subprocess\n"
            "runtimeConfig:\n"
            "  platformCommand:\n"
            "    - command: %s\n"
            "      args: [%s, %s]\n" % (PLUGIN_NAME, json.dumps(python), json.dumps(PYTHON_FLAGS), json.dumps(relay_path)))


class RenderGate(object):
    """The gate of one hop, in `folder` (private to the hop, 0700).

    inspect(render_text) returns None to let helm apply the render, or the reason to refuse it; it runs in the
    gate's thread, once for every helm call made with arguments()/environment(). An exception in it refuses too.
    After helm has returned: `renders` counts the renders inspected, `refusal` is the last reason given (None
    when the last render was let through).
    """

    def __init__(self, folder, inspect, helm_version, python=None):
        self.folder = folder
        self._inspect = inspect
        self.helm_version = helm_version
        self.python = python or sys.executable or "python3"   # empty only in an embedded interpreter
        self.relay_path = os.path.join(folder, "render-gate-relay")
        self.socket_path = os.path.join(folder, "render-gate.sock")
        self._socket_folder = None
        self.plugins = os.path.join(folder, "helm-plugins")
        self.renders = 0
        self.refusal = None
        self._listener = None
        self._thread = None

    def __enter__(self):
        with open(self.relay_path, "w") as handle:
            handle.write(RELAY)
        if helm_major(self.helm_version) >= 4:
            plugin = os.path.join(self.plugins, PLUGIN_NAME)
            os.makedirs(plugin, 0o700)
            with open(os.path.join(plugin, "plugin.yaml"), "w") as handle:
                handle.write(plugin_manifest(self.python, self.relay_path))
        if len(os.fsencode(self.socket_path)) >= SOCKET_PATH_BYTES:
            # a long temp directory: the socket alone goes to a private folder of /tmp
            self._socket_folder = tempfile.mkdtemp(prefix="milvusops-gate-", dir="/tmp")
            self.socket_path = os.path.join(self._socket_folder, "gate.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(4)
        self._thread = threading.Thread(target=self._serve, name="render-gate")
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)   # wakes accept() on Linux
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)
        if self._socket_folder:
            shutil.rmtree(self._socket_folder, ignore_errors=True)

    def arguments(self):
        return post_renderer_arguments(self.helm_version, self.python, self.relay_path, self.socket_path)

    def environment(self):
        """helm 4 finds the gate's plugin here; helm 3 needs nothing (and would warn about a v1 plugin)."""
        return {"HELM_PLUGINS": self.plugins} if helm_major(self.helm_version) >= 4 else {}

    def inspect(self, render):
        """The decision on one render: None (apply) or the reason to refuse. Also what the fake helm of the
        unit tests calls in place of the relay."""
        self.renders += 1
        try:
            self.refusal = self._inspect(render)
        except Exception as exc:   # whatever it was, helm must not write
            self.refusal = "the render guard failed: %s" % exc
        return self.refusal

    def _serve(self):
        while True:
            try:
                connection = self._listener.accept()[0]
            except OSError:
                return   # closed by __exit__
            with connection:
                chunks = []
                while True:
                    chunk = connection.recv(1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
                refusal = self.inspect(b"".join(chunks).decode("utf-8", "replace"))
                answer = APPLY + b"\n" if refusal is None else b"refuse\n" + refusal.encode("utf-8", "replace")
                try:
                    connection.sendall(answer)
                except OSError:
                    pass   # the relay gave up waiting; helm has failed and writes nothing

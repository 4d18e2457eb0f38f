"""Run a command inside a network namespace of its own whose only interface is `lo`.

    python -m tests.controlplane.netns -- pytest tests/integration

The namespace is created for this run (name `milvusops-<pid>`), gets the pod and service networks
as local addresses on `lo` (so the API server's proxy to a pod IP ends at a socket in the namespace and
nothing can leave it), and is removed at the end, with every process still in it, also on failure
and on Ctrl-C. If it cannot be created the run fails: there is no fallback to the host's network.
"""

import os
import signal
import socket
import subprocess
import sys
import time

# The networks of the test control plane, all local to the namespace.
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
NODE_ADDRESS = "10.255.0.1"      # the API server's advertised address and the fake nodes' IP
ENV_MARKER = "MILVUSOPS_TEST_NETNS"


class NetnsError(RuntimeError):
    pass


def _ip(*args):
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise NetnsError("`ip %s` failed (%d): %s" % (" ".join(args), proc.returncode,
                                                      proc.stderr.strip() or proc.stdout.strip()))
    return proc.stdout


def create(name):
    """Create and configure the namespace; on any failure remove what was made and raise."""
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", NODE_ADDRESS + "/32", "dev", "lo")
        for cidr in (POD_CIDR, SERVICE_CIDR):
            _ip("-n", name, "route", "add", "local", cidr, "dev", "lo")
        links = [line.split(":")[1].strip().split("@")[0]
                 for line in _ip("-n", name, "-o", "link", "show").splitlines()]
        if links != ["lo"]:
            raise NetnsError("network namespace %s has interfaces %s, expected only lo" % (name, links))
    except BaseException:
        remove(name)
        raise


def remove(name):
    """Stop every process left in the namespace, then delete it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _pids(name)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while pids and _pids(name) and time.monotonic() < deadline:
            time.sleep(0.1)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _pids(name):
    proc = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(pid) for pid in proc.stdout.split()] if proc.returncode == 0 else []


def require_isolated():
    """Raise unless this process runs in a namespace made by this module (only `lo`, the marker set)."""
    interfaces = [name for _, name in socket.if_nameindex()]
    if interfaces != ["lo"] or not os.environ.get(ENV_MARKER):
        raise NetnsError(
            "the real control plane runs only inside a network namespace of the test's own whose only "
            "interface is lo (found interfaces %s, %s=%r). Run the tests through "
            "`python -m tests.controlplane.netns -- ...` (make integration does), as root with iproute2."
            % (interfaces, ENV_MARKER, os.environ.get(ENV_MARKER)))


def run(command):
    if os.geteuid() != 0:
        raise NetnsError("creating a network namespace needs root (running as uid %d)" % os.geteuid())
    name = "milvusops-%d" % os.getpid()
    create(name)
    env = dict(os.environ, **{ENV_MARKER: name})
    child = None

    def forward(signum, _frame):
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        child = subprocess.Popen(["ip", "netns", "exec", name, *command], env=env)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:   # pragma: no cover - the handler above takes SIGINT
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        remove(name)


def main(argv):
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m tests.controlplane.netns -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        return run(argv)
    except NetnsError as exc:
        print("network namespace: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

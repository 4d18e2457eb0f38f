"""Runs integration tests as several pytest processes at once, and fails if any fails.

Most of an integration test is waiting (pods starting, timeouts running out, a stopped API server), so
runs overlap well on two cores: the whole takes about as long as its longest run.

    python -m tests.run_integration [pytest options...]
        (inside tests.controlplane.netns) the suite in two halves, one per backend. They share nothing:
        kubesim listens on its own loopback ports, the control plane is started only by the tests that
        need it (a session fixture).
    python -m tests.run_integration --versions PYTHON HELM...
        (make test-matrix) tests/integration/test_versions.py once per HELM with this Python, and once
        with PYTHON (another venv: another ansible-core and client) and its own helm; each run in a
        network namespace of its own, since each starts a control plane.

Each output line is prefixed with its run's name; each run ends with its own per-backend summary.
"""

import os
import subprocess
import sys
import threading
import time

HALVES = {
    # the control plane's own tests and its fidelity comparison need it too
    "real": ["tests/controlplane/tests", "tests/integration", "-m", "not kubesim and not matrix"],
    "kubesim": ["tests/integration", "-m", "kubesim and not matrix"],
}


def relay(name, process, lock, started, codes):
    for line in iter(process.stdout.readline, ""):
        with lock:
            sys.stdout.write("[%s] %s" % (name, line))
            sys.stdout.flush()
    codes[name] = process.wait()
    with lock:
        print("[%s] exit %d after %d s" % (name, codes[name], time.monotonic() - started), flush=True)


def suite_runs(pytest_args):
    # the slowest tests of each half, for whoever balances the suite against make test's time budget
    return dict((name, ([sys.executable, "-m", "pytest", *selection, "-v", "-p", "no:cacheprovider",
                         "--durations=30", "--durations-min=10", *pytest_args],
                        None)) for name, selection in HALVES.items())


def version_runs(lowest_python, helms):
    def in_namespace(python, env):
        command = [sys.executable, "-m", "tests.controlplane.netns", "--", python, "-m", "pytest",
                   "tests/integration/test_versions.py", "-v", "-p", "no:cacheprovider"]
        return command, dict(os.environ, **env)
    runs = dict((os.path.basename(os.path.dirname(helm)), in_namespace(sys.executable, {"MILVUSOPS_TEST_HELM": helm}))
                for helm in helms)
    runs[os.path.basename(os.path.dirname(os.path.dirname(lowest_python)))] = in_namespace(lowest_python, {})
    return runs


def run_all(commands):
    lock = threading.Lock()
    started = time.monotonic()
    runs, codes = {}, {}
    for name, (command, env) in commands.items():
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                   env=env)
        thread = threading.Thread(target=relay, args=(name, process, lock, started, codes), daemon=True)
        thread.start()
        runs[name] = (process, thread)
    try:
        for _, thread in runs.values():
            thread.join()
    except KeyboardInterrupt:
        for process, _ in runs.values():
            process.terminate()
        for process, _ in runs.values():
            process.wait()
        raise
    # pytest's 5 means "no tests collected": a half that selects nothing is a broken selection, not a pass
    return max(codes.values())


def main(argv):
    if argv[:1] == ["--versions"]:
        if len(argv) < 3:
            sys.exit("usage: python -m tests.run_integration --versions PYTHON HELM...")
        return run_all(version_runs(argv[1], argv[2:]))
    return run_all(suite_runs(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

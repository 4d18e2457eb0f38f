"""Runs the integration suite as two pytest processes at once, one per backend, and fails if either fails.

Most of an integration test is waiting (pods starting, timeouts running out, a stopped API server), so
the simulator's tests and the real control plane's tests overlap well on two cores: the suite takes
about as long as its longer half instead of the sum. They share nothing: kubesim listens on its own
loopback ports, the control plane is started only by the tests that need it (a session fixture).

    python -m tests.run_integration [pytest options...]    (inside tests.controlplane.netns)

Each output line is prefixed with its backend; each half ends with its own per-backend summary.
"""

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


def main(pytest_args):
    lock = threading.Lock()
    started = time.monotonic()
    runs, codes = {}, {}
    for name, selection in HALVES.items():
        command = [sys.executable, "-m", "pytest", *selection, "-v", "-p", "no:cacheprovider", *pytest_args]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Peak memory of a process tree, sampled from /proc (run as its own process, off the kubesim GIL).

    python -m tests.bench.memsample ROOT_PID OUT_JSON [INTERVAL]

Every INTERVAL seconds (default 0.25) it finds ROOT_PID and all its descendants and sums their RSS
(/proc/PID/statm) and PSS (/proc/PID/smaps_rollup; shared pages split between the sharers, so forks
are not counted twice). Writes {"peak_rss_mb", "peak_pss_mb", "peak_processes", "max_single_rss_mb",
"samples", "processes"} to OUT_JSON when ROOT_PID is gone. Linux only.
"""

import json
import os
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map():
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    return parents


def tree(root):
    parents = _children_map()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def rss_bytes(pid):
    try:
        with open("/proc/%d/statm" % pid) as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def cmdline(pid):
    """A short label: the program and, for Ansible modules, the AnsiballZ file's module name."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            args = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return None
    for arg in args:
        if "AnsiballZ_" in arg:
            name = arg.rsplit("AnsiballZ_", 1)[1].split(".py", 1)[0]
            # the module's own Python process, or one of the shells Ansible starts around it (chmod, exec)
            return ("module " if os.path.basename(args[0]).startswith("python") else "shell for module ") + name
    return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(args[:2]))[:80]


def sample(root, interval=0.25):
    """Peaks, plus the lifetime (first and last sample seen) of every process of the tree."""
    peak = {"peak_rss_mb": 0.0, "peak_pss_mb": 0.0, "peak_processes": 0, "max_single_rss_mb": 0.0, "samples": 0,
            "processes": []}
    seen = {}
    while alive(root):
        pids = tree(root)
        now = time.time()
        for pid in pids:
            if pid not in seen:
                seen[pid] = {"pid": pid, "cmd": cmdline(pid), "first": now, "last": now}
            else:
                seen[pid]["last"] = now
        rss = [rss_bytes(pid) for pid in pids]
        pss = sum(pss_bytes(pid) for pid in pids)
        peak["samples"] += 1
        peak["peak_rss_mb"] = max(peak["peak_rss_mb"], round(sum(rss) / 2.0 ** 20, 1))
        peak["peak_pss_mb"] = max(peak["peak_pss_mb"], round(pss / 2.0 ** 20, 1))
        peak["max_single_rss_mb"] = max(peak["max_single_rss_mb"], round(max(rss or [0]) / 2.0 ** 20, 1))
        peak["peak_processes"] = max(peak["peak_processes"], len(pids))
        time.sleep(interval)
    peak["processes"] = sorted(seen.values(), key=lambda p: p["first"])
    return peak


def main(argv):
    root, out = int(argv[1]), argv[2]
    interval = float(argv[3]) if len(argv) > 3 else 0.25
    result = sample(root, interval)
    with open(out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

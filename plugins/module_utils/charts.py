# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chart packages of a run: each chart version is fetched from its repository once per ansible-playbook
run, and every helm call of every cluster (preflight's check, each hop's render guard and upgrade) reads
that one package.

helm with ``--repo`` (or an oci:// reference) downloads the repository's index and the chart on every call,
six calls per cluster, and parses the whole index each time: a repository with a long release history has a
large one. A package also means that the dry run checks the very bytes the upgrade then applies, on every
cluster of the fleet, whatever the repository does meanwhile.

The packages live in ``<temp>/milvusops-charts-<pid>-<start>``, named after the run's ansible-playbook
process: its forked task workers share it, across tasks and clusters. A later run removes the folders of
runs that have ended. A chart given as a local path is used where it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.milvusops.cluster.plugins.module_utils.helm import is_chart_path
from ansible_collections.milvusops.cluster.plugins.module_utils.processes import (
    process_alive, run_process, sweep_temp_folders)

FOLDER_PREFIX = "milvusops-charts-"


class ChartProblem(Exception):
    """A chart package or folder that cannot be read as a chart."""


def is_local_chart(chart_ref, exists=os.path.exists):
    """Whether helm would read chart_ref from this file system (a path, a package, an unpacked chart) rather
    than fetch it (a name in a repository, repo/name from helm's repository list, oci://)."""
    if chart_ref.startswith("oci://"):
        return False
    return is_chart_path(chart_ref) or exists(os.path.expanduser(chart_ref))


def package_name(chart_ref, repo_url, version):
    """File name of one chart version's package: readable, and unique per repository, reference and version."""
    key = hashlib.sha256(json.dumps([repo_url or "", chart_ref, version]).encode("utf-8")).hexdigest()[:16]
    base = "".join(c if c.isalnum() or c in "-_." else "-" for c in chart_ref.rstrip("/").rsplit("/", 1)[-1])
    return "%s-%s-%s.tgz" % (base or "chart", version, key)


def run_folder_name(pid, start):
    return "%s%d-%d" % (FOLDER_PREFIX, pid, start)


def stale_run_folders(entries, uid, alive):
    """Names of the chart folders of runs that have ended: ours (uid), whose ansible-playbook process is gone.

    entries: (name, owner uid, mtime) of the temp folder's entries; alive(pid, start) says whether that process
    runs.
    """
    stale = []
    for name, owner, _mtime in entries:
        if not name.startswith(FOLDER_PREFIX) or owner != uid:
            continue
        fields = name[len(FOLDER_PREFIX):].split("-")
        if len(fields) == 2 and all(field.isdigit() for field in fields) and not alive(int(fields[0]), int(fields[1])):
            stale.append(name)
    return stale


def sweep_run_folders(root=None):
    """Remove the chart folders of ended runs; returns the names removed."""
    return sweep_temp_folders(FOLDER_PREFIX, lambda entries: stale_run_folders(entries, os.getuid(), process_alive),
                              root)


def chart_metadata(path):
    """The Chart.yaml of a chart package (.tgz) or an unpacked chart folder, as a dict."""
    try:
        if os.path.isdir(path):
            with open(os.path.join(path, "Chart.yaml"), "rb") as handle:
                text = handle.read()
        else:
            with tarfile.open(path, "r:*") as archive:
                # a package holds one chart folder; its Chart.yaml is the one at depth 1 (subcharts are deeper)
                member = next((m for m in archive.getmembers()
                               if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/Chart.yaml")), None)
                if member is None:
                    raise ChartProblem("%s holds no Chart.yaml" % path)
                text = archive.extractfile(member).read()
        metadata = yaml_load(text)
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise ChartProblem("%s cannot be read as a chart: %s" % (path, exc))
    except Exception as exc:   # the YAML library's own errors
        raise ChartProblem("%s has a Chart.yaml that is not YAML: %s" % (path, exc))
    if not isinstance(metadata, dict):
        raise ChartProblem("%s has a Chart.yaml without fields" % path)
    return metadata


def version_problem(metadata, path, version):
    """Why the chart at path cannot serve as chart version `version`, or None. helm applies a local chart
    whatever version it is (--version only selects among a repository's), so this is the only check."""
    found = str(metadata.get("version") or "")
    if found.lstrip("v") != str(version).lstrip("v"):
        return "the chart at %s is version %s, not %s" % (path, found or "(none)", version)
    return None


class ChartPackages(object):
    """The local chart of each chart version a run uses: a user's local chart as it is, anything helm would
    fetch pulled once into the run's folder (concurrent tasks wait for the first pull instead of repeating it)."""

    def __init__(self, helm, folder=None):
        self.helm = helm
        if folder is None:
            pid, start = run_process()
            folder = os.path.join(tempfile.gettempdir(), run_folder_name(pid, start))
        self.folder = folder

    def local(self, chart_ref, repo_url, version):
        """A path helm can install chart_ref at version from; HelmError when the repository cannot give it."""
        if is_local_chart(chart_ref):
            return os.path.expanduser(chart_ref)
        self._make_folder()
        package = os.path.join(self.folder, package_name(chart_ref, repo_url, version))
        with open(package + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)   # released when closed: the next waiter finds the package
            if not os.path.isfile(package):
                self._pull(chart_ref, repo_url, version, package)
        return package

    def _make_folder(self):
        try:
            os.mkdir(self.folder, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        # the name is predictable: a folder someone else made (or a link) could hand us their chart
        info = os.lstat(self.folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise ChartProblem("%s is not a private folder of this user (owner uid %d, mode %o): remove it and run "
                               "again" % (self.folder, info.st_uid, stat.S_IMODE(info.st_mode)))

    def _pull(self, chart_ref, repo_url, version, package):
        staging = tempfile.mkdtemp(prefix=".pull-", dir=self.folder)
        try:
            self.helm.pull(chart_ref, version, repo_url, staging)
            pulled = [name for name in os.listdir(staging) if name.endswith(".tgz")]
            if len(pulled) != 1:
                raise ChartProblem("helm pull of %s %s left %d packages instead of one" % (chart_ref, version,
                                                                                           len(pulled)))
            os.rename(os.path.join(staging, pulled[0]), package)   # whole or not at all
        finally:
            shutil.rmtree(staging, ignore_errors=True)

# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's chart packages (module_utils/charts.py): fetched once, shared, checked, swept after the run."""

from __future__ import absolute_import, division, print_function

import os
import tarfile
import threading
import time

import pytest

import factories as f
from ansible_collections.milvusops.cluster.plugins.module_utils.charts import (
    FOLDER_PREFIX, ChartPackages, ChartProblem, chart_metadata, is_local_chart, package_name, run_folder_name,
    stale_run_folders, sweep_run_folders, version_problem)
from ansible_collections.milvusops.cluster.plugins.module_utils.helm import HelmError
from ansible_collections.milvusops.cluster.plugins.module_utils.processes import process_start, run_process

REPO = "https://charts.example.internal/milvus"


class PullingHelm(object):
    """helm pull as far as ChartPackages sees it: a package in the destination, slowly, counted."""

    def __init__(self, seconds=0.0, version_given=None, packages=1, error=None):
        self.seconds = seconds
        self.version_given = version_given
        self.packages = packages
        self.error = error
        self.pulls = []
        self._lock = threading.Lock()

    def pull(self, chart_ref, version, repo_url, destination):
        with self._lock:
            self.pulls.append((chart_ref, version, repo_url))
        time.sleep(self.seconds)
        if self.error:
            raise self.error
        for index in range(self.packages):
            f.chart_package(destination, "milvus" if index == 0 else "other", self.version_given or version)


@pytest.mark.parametrize("chart_ref", ["/charts/milvus-5.0.0.tgz", "./milvus", "../charts/milvus", "~/milvus",
                                       "milvus-5.0.0.tgz"])
def test_paths_and_packages_are_local(chart_ref):
    assert is_local_chart(chart_ref, exists=lambda path: False)


@pytest.mark.parametrize("chart_ref", ["milvus", "mirror/milvus", "oci://registry.internal/charts/milvus"])
def test_names_and_oci_references_are_fetched(chart_ref):
    assert not is_local_chart(chart_ref, exists=lambda path: False)


def test_a_name_that_is_a_folder_here_is_local_as_helm_reads_it():
    assert is_local_chart("milvus", exists=lambda path: path == "milvus")
    assert not is_local_chart("oci://milvus", exists=lambda path: True)


def test_package_names_differ_by_repository_reference_and_version():
    names = {package_name(ref, repo, version) for ref in ("milvus", "oci://r/charts/milvus")
             for repo in (REPO, "http://127.0.0.1:8879", None) for version in ("4.2.58", "5.0.0")}
    assert len(names) == 12
    assert all(name.startswith("milvus-") and name.endswith(".tgz") and "/" not in name for name in names)
    assert package_name("milvus", REPO, "5.0.0") == package_name("milvus", REPO, "5.0.0")


def test_the_folders_of_ended_runs_are_stale_and_only_ours():
    alive = {(100, 7)}
    entries = [(run_folder_name(100, 7), 0, 1.0), (run_folder_name(100, 8), 0, 1.0), (run_folder_name(200, 7), 0, 1.0),
               (run_folder_name(300, 1), 1000, 1.0), (FOLDER_PREFIX + "notes", 0, 1.0), ("milvusops-hop-200-x", 0, 1.0)]
    assert stale_run_folders(entries, 0, lambda pid, start: (pid, start) in alive) == [
        run_folder_name(100, 8), run_folder_name(200, 7)]


def test_sweep_removes_ended_runs_and_keeps_this_one(tmp_path):
    pid, start = run_process()
    ours = tmp_path / run_folder_name(pid, start)
    ended = tmp_path / run_folder_name(2 ** 22 + 1, 5)   # above Linux's highest pid: no such process
    for folder in (ours, ended):
        folder.mkdir()
        (folder / "milvus-5.0.0-x.tgz").write_bytes(b"x")
    assert sweep_run_folders(str(tmp_path)) == [ended.name]
    assert ours.is_dir() and not ended.exists()


def test_the_run_is_the_playbook_process_for_a_worker_and_this_process_otherwise():
    assert run_process() == (os.getpid(), process_start(os.getpid()))   # pytest is no forked worker


def test_chart_metadata_of_a_package_is_its_own_chart_not_a_subchart(tmp_path):
    package = f.chart_package(str(tmp_path), "milvus", "5.0.0")
    assert chart_metadata(package)["version"] == "5.0.0"


def test_chart_metadata_of_an_unpacked_chart(tmp_path):
    (tmp_path / "Chart.yaml").write_text("name: milvus\nversion: 4.2.58\n")
    assert chart_metadata(str(tmp_path))["version"] == "4.2.58"


@pytest.mark.parametrize("content", [b"not a tar archive", b""])
def test_chart_metadata_of_something_else_is_a_chart_problem(tmp_path, content):
    path = tmp_path / "milvus-5.0.0.tgz"
    path.write_bytes(content)
    with pytest.raises(ChartProblem) as info:
        chart_metadata(str(path))
    assert str(path) in str(info.value)


def test_a_package_without_its_chart_yaml_is_a_chart_problem(tmp_path):
    path = str(tmp_path / "milvus.tgz")
    with tarfile.open(path, "w:gz"):
        pass
    with pytest.raises(ChartProblem, match="holds no Chart.yaml"):
        chart_metadata(path)


@pytest.mark.parametrize("found,wanted,problem", [("5.0.0", "5.0.0", False), ("v5.0.0", "5.0.0", False),
                                                  ("4.2.58", "5.0.0", True), (None, "5.0.0", True)])
def test_version_problem(found, wanted, problem):
    text = version_problem({"version": found} if found else {}, "/c/milvus.tgz", wanted)
    assert bool(text) is problem
    if problem:
        assert "/c/milvus.tgz" in text and wanted in text


def test_a_chart_is_pulled_once_for_every_caller_of_the_run(tmp_path):
    helm = PullingHelm(seconds=0.2)
    packages = ChartPackages(helm, str(tmp_path / "run"))
    paths = []

    def fetch():
        paths.append(packages.local("milvus", REPO, "5.0.0"))

    threads = [threading.Thread(target=fetch) for _ in range(6)]   # the clusters of a fleet, at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert helm.pulls == [("milvus", "5.0.0", REPO)]
    assert len(set(paths)) == 1 and chart_metadata(paths[0])["version"] == "5.0.0"
    assert ChartPackages(helm, str(tmp_path / "run")).local("milvus", REPO, "4.2.58") != paths[0]
    assert len(helm.pulls) == 2
    assert oct(os.stat(str(tmp_path / "run")).st_mode & 0o777) == oct(0o700)


def test_a_failed_pull_leaves_nothing_and_the_next_caller_tries_again(tmp_path):
    error = HelmError("helm pull failed", stderr='Error: chart "milvus" version "5.0.0" not found')
    helm = PullingHelm(error=error)
    packages = ChartPackages(helm, str(tmp_path / "run"))
    with pytest.raises(HelmError):
        packages.local("milvus", REPO, "5.0.0")
    assert [name for name in os.listdir(str(tmp_path / "run")) if not name.endswith(".lock")] == []
    helm.error = None
    assert os.path.isfile(packages.local("milvus", REPO, "5.0.0"))
    assert len(helm.pulls) == 2


def test_a_pull_that_leaves_two_packages_is_refused(tmp_path):
    packages = ChartPackages(PullingHelm(packages=2), str(tmp_path / "run"))
    with pytest.raises(ChartProblem, match="2 packages"):
        packages.local("milvus", REPO, "5.0.0")


def test_a_local_chart_is_used_where_it_is(tmp_path):
    helm = PullingHelm()
    package = f.chart_package(str(tmp_path), "milvus", "5.0.0")
    assert ChartPackages(helm, str(tmp_path / "run")).local(package, REPO, "5.0.0") == package
    assert helm.pulls == [] and not (tmp_path / "run").exists()


@pytest.mark.parametrize("planted", ["shared folder", "link"])
def test_a_run_folder_that_is_not_private_is_refused_before_any_pull(tmp_path, planted):
    folder = tmp_path / "run"
    if planted == "link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir()
        folder.chmod(0o777)
    helm = PullingHelm()
    with pytest.raises(ChartProblem, match="not a private folder"):
        ChartPackages(helm, str(folder)).local("milvus", REPO, "5.0.0")
    assert helm.pulls == []

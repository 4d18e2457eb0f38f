# -*- coding: utf-8 -*-
"""The execution environment: `ansible-builder create` makes a complete build context, and the helm
install step installs only a binary whose archive has the pinned SHA-256.

No image is built here (there is no container engine); the generated context is what is checked.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EE_DIR = os.path.join(ROOT, "extensions", "ee")
EE_FILE = os.path.join(EE_DIR, "execution-environment.yml")


def _load_installer():
    spec = importlib.util.spec_from_file_location("install_helm", os.path.join(EE_DIR, "install_helm.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


install_helm = _load_installer()


def _lines(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip() and not line.strip().startswith("#")]


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("ee") / "context")
    subprocess.run(
        [sys.executable, "-m", "ansible_builder", "create", "-f", EE_FILE, "-c", folder,
         "--output-filename", "Containerfile"],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(os.path.join(folder, "Containerfile")) as handle:
        containerfile = handle.read()
    return folder, containerfile


def test_the_collection_metadata_names_its_requirement_files():
    # ansible-builder reads meta/execution-environment.yml of every collection an EE installs.
    meta = _yaml("meta", "execution-environment.yml")
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for name in meta["dependencies"].values():
        assert _lines(os.path.join(ROOT, name)), name


def test_the_context_holds_every_python_requirement(context):
    folder, _ = context
    wanted = [Requirement(line) for line in _lines(os.path.join(ROOT, "requirements.txt"))]
    got = dict((r.name, r) for r in (Requirement(line) for line in _lines(os.path.join(folder, "_build", "requirements.txt"))))
    assert wanted
    for requirement in wanted:
        assert requirement.name in got, requirement
        assert got[requirement.name].specifier == requirement.specifier


def test_the_context_holds_every_system_package(context):
    folder, containerfile = context
    assert set(_lines(os.path.join(ROOT, "bindep.txt"))) <= set(_lines(os.path.join(folder, "_build", "bindep.txt")))
    # and the final stage installs them (ansible-builder's bindep step)
    assert "install-from-bindep" in containerfile.split("AS final", 1)[1]


def test_the_context_installs_this_collection_and_a_supported_ansible_core(context):
    folder, containerfile = context
    galaxy = _yaml("galaxy.yml")
    with open(os.path.join(folder, "_build", "requirements.yml")) as handle:
        collections = yaml.safe_load(handle)["collections"]
    ours = [c for c in collections if c["name"] == "%s.%s" % (galaxy["namespace"], galaxy["name"])]
    assert len(ours) == 1
    assert Version(galaxy["version"]) in SpecifierSet(ours[0]["version"])

    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile).group(1).split()
    core = [Requirement(ref) for ref in refs if ref.startswith("ansible-core")]
    assert len(core) == 1
    # the image installs exactly the ansible-core range the collection declares (and tests)
    assert core[0].specifier == SpecifierSet(_yaml("meta", "runtime.yml")["requires_ansible"])
    assert any(ref.startswith("ansible-runner") for ref in refs)


def test_the_final_stage_installs_the_pinned_helm_with_the_verifying_script(context):
    folder, containerfile = context
    final = containerfile.split("AS final", 1)[1]
    copy = re.search(r"^COPY _build/helm/install_helm\.py (\S+)$", final, re.M)
    assert copy, final
    assert re.search(r"^RUN \$PYCMD %s --dest /usr/local/bin/helm" % re.escape(copy.group(1)), final, re.M)
    with open(os.path.join(folder, "_build", "helm", "install_helm.py"), "rb") as shipped:
        with open(os.path.join(EE_DIR, "install_helm.py"), "rb") as source:
            assert shipped.read() == source.read()


def test_the_pinned_helm_is_one_the_collection_accepts():
    fragment = open(os.path.join(ROOT, "plugins", "doc_fragments", "connection.py")).read()
    minimum = re.search(r"helm >= ([0-9.]+)", fragment).group(1)
    assert Version(install_helm.HELM_VERSION) >= Version(minimum)
    assert set(install_helm.HELM_SHA256) == {"amd64", "arm64"}
    for digest in install_helm.HELM_SHA256.values():
        assert re.match(r"^[0-9a-f]{64}$", digest)


# --- the install step itself, on archives made here -------------------------------------------------

FAKE_HELM = b"#!/bin/sh\necho v9.9.9\n"


def _archive(members):
    """A .tar.gz with (name, bytes or None for a symlink to /bin/sh) members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, "/bin/sh"
                archive.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _run(tmp_path, data, *args):
    archive = tmp_path / "helm.tar.gz"
    archive.write_bytes(data)
    dest = tmp_path / "bin" / "helm"
    dest.parent.mkdir(exist_ok=True)
    code = install_helm.main(["--archive", str(archive), "--dest", str(dest)] + list(args))
    return code, dest


@pytest.mark.parametrize("machine, arch", [("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64")])
def test_a_verified_archive_installs_only_its_helm_binary_and_it_runs(tmp_path, machine, arch):
    data = _archive([("linux-%s/LICENSE" % arch, b"license"), ("linux-%s/helm" % arch, FAKE_HELM),
                     ("../../outside", b"never written")])
    code, dest = _run(tmp_path, data, "--version", "9.9.9", "--sha256", hashlib.sha256(data).hexdigest(),
                      "--machine", machine)
    assert code == 0
    assert dest.read_bytes() == FAKE_HELM
    assert os.stat(str(dest)).st_mode & 0o777 == 0o755
    assert sorted(p.name for p in dest.parent.iterdir()) == ["helm"]
    assert not (tmp_path.parent / "outside").exists()


def test_an_archive_with_another_checksum_is_refused_and_nothing_is_installed(tmp_path, capsys):
    data = _archive([("linux-amd64/helm", FAKE_HELM)])
    code, dest = _run(tmp_path, data, "--version", "9.9.9", "--sha256", "0" * 64, "--machine", "x86_64")
    assert code == 1
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    assert "refusing to install" in capsys.readouterr().err


def test_the_pinned_version_is_checked_against_its_pinned_checksum(tmp_path, capsys):
    # without --sha256 the pin applies: a made-up archive never matches it
    code, dest = _run(tmp_path, _archive([("linux-amd64/helm", FAKE_HELM)]), "--machine", "x86_64")
    assert code == 1 and not dest.exists()
    assert install_helm.HELM_SHA256["amd64"] in capsys.readouterr().err


def test_another_version_without_its_checksum_is_refused(tmp_path, capsys):
    data = _archive([("linux-amd64/helm", FAKE_HELM)])
    code, dest = _run(tmp_path, data, "--version", "9.9.9", "--machine", "x86_64")
    assert code == 1 and not dest.exists()
    assert "give its --sha256" in capsys.readouterr().err


@pytest.mark.parametrize("members, reason", [
    ([("linux-amd64/helm", None)], "not a regular file"),
    ([("linux-arm64/helm", FAKE_HELM)], "has no linux-amd64/helm"),
])
def test_an_archive_without_a_regular_helm_for_this_machine_is_refused(tmp_path, capsys, members, reason):
    data = _archive(members)
    code, dest = _run(tmp_path, data, "--version", "9.9.9", "--sha256", hashlib.sha256(data).hexdigest(),
                      "--machine", "x86_64")
    assert code == 1 and not dest.exists()
    assert reason in capsys.readouterr().err


def test_a_binary_that_reports_another_version_fails_the_step(tmp_path, capsys):
    data = _archive([("linux-amd64/helm", FAKE_HELM)])
    code, _ = _run(tmp_path, data, "--version", "9.9.8", "--sha256", hashlib.sha256(data).hexdigest(),
                   "--machine", "x86_64")
    assert code == 1
    assert "expected v9.9.8" in capsys.readouterr().err


def test_an_unknown_machine_is_refused(tmp_path, capsys):
    code, dest = _run(tmp_path, b"", "--machine", "s390x")
    assert code == 1 and not dest.exists()
    assert "s390x" in capsys.readouterr().err

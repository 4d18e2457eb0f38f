# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install one pinned helm release into an execution environment, verified before it is used.

Run by the image build (extensions/ee/execution-environment.yml) with the image's Python, so it needs
neither curl, tar nor sha256sum. It downloads helm-v<version>-linux-<arch>.tar.gz (or reads a
pre-fetched archive with --archive), refuses it unless its SHA-256 is the pinned one, writes only the
helm binary from it, and checks that the installed binary reports that version.

Another helm release: pass --version together with --sha256 (the value of the release's
.tar.gz.sha256sum file for the image's architecture); a version without its checksum is refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import io
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile

# helm v3.18.4, from the release's published .sha256sum files.
HELM_VERSION = "3.18.4"
HELM_SHA256 = {
    "amd64": "f8180838c23d7c7d797b208861fecb591d9ce1690d8704ed1e4cb8e2add966c1",
    "arm64": "c0a45e67eef0c7416a8a8c9e9d5d2d30d70e4f4d3f7bea5de28241fffa8f3b89",
}
DOWNLOAD_BASE = "https://get.helm.sh"
MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class InstallError(Exception):
    pass


def helm_architecture(machine):
    """helm's name for this machine's architecture (platform.machine())."""
    try:
        return MACHINES[machine.lower()]
    except KeyError:
        raise InstallError("no pinned helm build for machine %r (known: %s)" % (machine, ", ".join(sorted(MACHINES))))


def pinned_checksum(version, architecture, sha256=None):
    """The SHA-256 the archive must have: the pinned one, or the one given with another version."""
    if sha256:
        if not re.match(r"^[0-9a-f]{64}$", sha256.lower()):
            raise InstallError("--sha256 must be 64 hexadecimal digits, got %r" % sha256)
        return sha256.lower()
    if version != HELM_VERSION:
        raise InstallError("helm %s is not pinned here (%s is): give its --sha256 too" % (version, HELM_VERSION))
    return HELM_SHA256[architecture]


def archive_name(version, architecture):
    return "helm-v%s-linux-%s.tar.gz" % (version, architecture)


def verify(data, expected):
    """Refuse an archive whose SHA-256 is not the expected one."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise InstallError("helm archive SHA-256 is %s, expected %s: refusing to install it" % (actual, expected))


def helm_binary(data, architecture):
    """The bytes of linux-<arch>/helm from a verified archive; nothing else of it is ever written."""
    member_name = "linux-%s/helm" % architecture
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        try:
            member = archive.getmember(member_name)
        except KeyError:
            raise InstallError("the archive has no %s" % member_name)
        if not member.isfile():
            raise InstallError("%s in the archive is not a regular file" % member_name)
        return archive.extractfile(member).read()


def download(url, timeout=120):
    from urllib.request import urlopen  # only for a real download; tests pass --archive

    with urlopen(url, timeout=timeout) as response:  # nosec: the content is checked against the pin
        return response.read()


def install(binary, dest):
    """Write the binary next to dest and rename it over dest, mode 0755."""
    folder = os.path.dirname(os.path.abspath(dest))
    descriptor, temporary = tempfile.mkstemp(prefix=".helm-", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(binary)
        os.chmod(temporary, 0o755)
        os.rename(temporary, dest)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def check_installed(dest, version):
    """The installed helm must run and report the version that was asked for."""
    output = subprocess.check_output([dest, "version", "--template", "{{ .Version }}"]).decode().strip()
    if output != "v%s" % version:
        raise InstallError("%s reports version %r, expected v%s" % (dest, output, version))
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default=HELM_VERSION, help="helm release (default %(default)s)")
    parser.add_argument("--sha256", help="SHA-256 of the archive, required with another --version")
    parser.add_argument("--archive", help="a pre-fetched archive to install instead of downloading it")
    parser.add_argument("--base-url", default=DOWNLOAD_BASE, help="where releases are served (a mirror)")
    parser.add_argument("--machine", default=platform.machine(), help="architecture (default: this machine's)")
    parser.add_argument("--dest", default="/usr/local/bin/helm", help="where to install helm")
    parser.add_argument("--no-run", action="store_true", help="do not run the installed helm to check it")
    args = parser.parse_args(argv)
    try:
        architecture = helm_architecture(args.machine)
        expected = pinned_checksum(args.version, architecture, args.sha256)
        if args.archive:
            with open(args.archive, "rb") as handle:
                data = handle.read()
        else:
            data = download("%s/%s" % (args.base_url.rstrip("/"), archive_name(args.version, architecture)))
        verify(data, expected)
        install(helm_binary(data, architecture), args.dest)
        if not args.no_run:
            check_installed(args.dest, args.version)
    except (InstallError, OSError, tarfile.TarError, subprocess.CalledProcessError) as error:
        sys.stderr.write("install_helm: %s\n" % error)
        return 1
    sys.stdout.write("installed helm %s (%s, sha256 %s) at %s\n" % (args.version, architecture, expected, args.dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

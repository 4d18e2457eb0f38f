# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Milvus image tags, chart, helm and Kubernetes versions (pure, no I/O).

A Milvus tag is ``[v]MAJOR.MINOR.PATCH[-PRERELEASE][-SUFFIX]``: ``v2.5.10``, ``2.5.10``,
``v2.5.16-gpu``, ``v2.6.0-rc1``, ``v2.6.0-rc1-gpu``. The prerelease (rc/beta/alpha with an optional
number) is part of the version; the suffix (``-gpu``, ``-gpu-arm64``) is a build flavour kept apart so
that ``v2.5.16-gpu`` can become ``v2.6.4-gpu``. Every suffix segment must start with a letter: dated
custom builds (``v2.5.10-20250101-abcdef0``) are not release tags and are refused, like ``latest``,
digests, ``2.6`` and ``v2.6.4.1``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from packaging.version import InvalidVersion, Version
    HAS_PACKAGING = True
    PACKAGING_IMPORT_ERROR = None
except ImportError as exc:  # reported by the modules with missing_required_lib('packaging')
    HAS_PACKAGING = False
    PACKAGING_IMPORT_ERROR = exc
    Version = None

    class InvalidVersion(ValueError):
        pass


_TAG = re.compile(
    r"^(?P<prefix>v?)(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<pre>rc|beta|alpha)(?:\.?(?P<prenum>[0-9]+))?)?"
    r"(?P<suffix>(?:-[A-Za-z][A-Za-z0-9_.]*)*)$",
    re.IGNORECASE)

_PRE_TO_PEP440 = {"rc": "rc", "beta": "b", "alpha": "a"}
_PEP440_TO_PRE = {"rc": "rc", "b": "beta", "a": "alpha"}

# helm `v3.17.3+ge4da497`, kube `v1.29.3-eks-adc7111`, `v1.30.1+k3s1`, `v1.27.16-gke.1287000`
_PLATFORM = re.compile(r"^v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.(?P<patch>[0-9]+))?(?P<rest>[-+].*)?$")
_CHART = re.compile(r"^v?(?P<release>[0-9]+\.[0-9]+\.[0-9]+)(?P<rest>-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def _require_packaging():
    if not HAS_PACKAGING:
        raise ImportError("the Python library 'packaging' is required: %s" % PACKAGING_IMPORT_ERROR)


class MilvusTag(object):
    """A parsed Milvus image tag.

    ``version`` is a packaging Version (2.6.0rc1 for v2.6.0-rc1) and drives every comparison;
    ``prefix`` ('v' or '') and ``suffix`` ('-gpu' or '') are the tag's style, kept for new tags.
    """

    __slots__ = ("raw", "prefix", "version", "prerelease", "suffix")

    def __init__(self, raw, prefix, version, prerelease, suffix):
        self.raw = raw
        self.prefix = prefix
        self.version = version
        self.prerelease = prerelease
        self.suffix = suffix

    @property
    def base(self):
        """'2.6.0' for v2.6.0-rc1-gpu."""
        return self.version.base_version

    @property
    def normalized(self):
        """The version without prefix or suffix: '2.5.10', '2.6.0-rc1'."""
        return self.base + ("-" + self.prerelease if self.prerelease else "")

    @property
    def is_prerelease(self):
        return self.version.is_prerelease

    def with_version(self, version):
        """The tag of another version in this tag's style (prefix and suffix kept)."""
        return format_tag(version, suffix=self.suffix, prefix=self.prefix)

    def __repr__(self):
        return "MilvusTag(%r)" % self.raw

    def __str__(self):
        return self.raw

    # Ordering and equality are on the semantic version only: v2.5.16 == v2.5.16-gpu as versions.
    def _other(self, other):
        if isinstance(other, MilvusTag):
            return other.version
        if isinstance(other, str):
            return parse_milvus_tag(other).version
        if HAS_PACKAGING and isinstance(other, Version):
            return other
        return NotImplemented

    def __eq__(self, other):
        value = self._other(other)
        return value if value is NotImplemented else self.version == value

    def __ne__(self, other):
        value = self._other(other)
        return value if value is NotImplemented else self.version != value

    def __lt__(self, other):
        value = self._other(other)
        return value if value is NotImplemented else self.version < value

    def __le__(self, other):
        value = self._other(other)
        return value if value is NotImplemented else self.version <= value

    def __gt__(self, other):
        value = self._other(other)
        return value if value is NotImplemented else self.version > value

    def __ge__(self, other):
        value = self._other(other)
        return value if value is NotImplemented else self.version >= value

    def __hash__(self):
        return hash(self.version)


def parse_milvus_tag(tag):
    """Parse a Milvus image tag; ValueError (saying why) for anything that is not a release tag."""
    _require_packaging()
    if tag is None or not str(tag).strip():
        raise ValueError("empty Milvus image tag: expected a version tag such as v2.5.16")
    text = str(tag).strip()
    if "@" in text or text.lower().startswith("sha256:"):
        raise ValueError("Milvus image %r is pinned by digest: the version cannot be read from it" % text)
    match = _TAG.match(text)
    if not match:
        if text.lower() in ("latest", "master", "nightly", "stable"):
            why = "a moving tag"
        elif re.match(r"^v?[0-9]+(\.[0-9]+)?$", text):
            why = "not a full MAJOR.MINOR.PATCH version"
        elif re.match(r"^v?[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", text):
            why = "has four version components"
        else:
            why = "not a Milvus release tag (custom or dated build?)"
        raise ValueError("Milvus image tag %r is not a semantic version: %s" % (text, why))
    pre = (match.group("pre") or "").lower()
    prenum = match.group("prenum")
    pep440 = "%s.%s.%s" % (match.group("major"), match.group("minor"), match.group("patch"))
    prerelease = ""
    if pre:
        pep440 += _PRE_TO_PEP440[pre] + (prenum or "0")
        prerelease = pre + (prenum or "")
    return MilvusTag(text, match.group("prefix"), Version(pep440), prerelease, match.group("suffix") or "")


def try_parse_milvus_tag(tag):
    """parse_milvus_tag or None."""
    try:
        return parse_milvus_tag(tag)
    except ValueError:
        return None


def _as_version(version):
    if isinstance(version, MilvusTag):
        return version.version
    if HAS_PACKAGING and isinstance(version, Version):
        return version
    return parse_milvus_tag(version).version


def format_tag(version, suffix="", prefix="v"):
    """A Milvus tag for a version: format_tag('2.6.4', '-gpu') -> 'v2.6.4-gpu'; rc kept as '-rc1'."""
    _require_packaging()
    if isinstance(version, str):
        version = parse_milvus_tag(version)
    if isinstance(version, MilvusTag):
        return "%s%s%s" % (prefix, version.normalized, suffix or "")
    value = _as_version(version)
    text = "%s%s" % (prefix, value.base_version)
    if value.pre:
        letter, number = value.pre
        text += "-%s%s" % (_PEP440_TO_PRE[letter], number)
    return text + (suffix or "")


def compare(a, b):
    """-1, 0 or 1 comparing two Milvus versions (tags, strings or Versions); suffixes ignored."""
    left, right = _as_version(a), _as_version(b)
    return (left > right) - (left < right)


def split_image(image):
    """'reg:5000/milvusdb/milvus:v2.5.10@sha256:..' -> ('reg:5000/milvusdb/milvus', 'v2.5.10', 'sha256:..').

    tag and digest are None when absent.
    """
    text = (image or "").strip()
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
    repository, tag = text, None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        repository, tag = text[:colon], text[colon + 1:]
    return repository, tag, digest


def normalize_repository(repository):
    """Docker Hub spellings made equal: docker.io/milvusdb/milvus == milvusdb/milvus."""
    repo = repository or ""
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
            break
    if repo.startswith("library/"):
        repo = repo[len("library/"):]
    return repo


def same_image(a, b):
    """Two image references name the same repository and tag (Docker Hub spellings normalised)."""
    ra, ta, da = split_image(a)
    rb, tb, db = split_image(b)
    if da and db:
        return da == db
    return normalize_repository(ra) == normalize_repository(rb) and (ta or "latest") == (tb or "latest")


def parse_chart_version(text):
    """A chart version ('4.2.58', 'v5.0.0') -> packaging Version; ValueError otherwise."""
    _require_packaging()
    value = str(text or "").strip()
    match = _CHART.match(value)
    if not match:
        raise ValueError("chart version %r is not a semantic version such as 4.2.58" % value)
    release = match.group("release")
    rest = match.group("rest")
    try:
        return Version(release + (_pre440(rest) if rest else ""))
    except InvalidVersion:
        raise ValueError("chart version %r is not a semantic version such as 4.2.58" % value)


def _pre440(rest):
    """'-rc.1' -> 'rc1' for packaging; other prerelease words become a dev release (still < release)."""
    word = rest.lstrip("-").lower()
    match = re.match(r"^(rc|beta|alpha|b|a)\.?([0-9]*)$", word)
    if match:
        return _PRE_TO_PEP440.get(match.group(1), match.group(1)) + (match.group(2) or "0")
    return ".dev0"


def _platform_version(text, what):
    _require_packaging()
    value = str(text or "").strip()
    match = _PLATFORM.match(value)
    if not match:
        raise ValueError("%s version %r is not understood (expected something like %s)" % (
            what, value, "v3.17.3+ge4da497" if what == "helm" else "v1.31.0"))
    return Version("%s.%s.%s" % (match.group("major"), match.group("minor"), match.group("patch") or "0"))


def parse_helm_version(text):
    """'v3.17.3+ge4da497' / '3.14.0' -> Version('3.17.3'); build metadata dropped."""
    return _platform_version(text, "helm")


def parse_kube_version(text):
    """'v1.29.3-eks-adc7111' / 'v1.30.1+k3s1' / '1.31.0' -> Version of the release part."""
    return _platform_version(text, "Kubernetes")


def at_least(actual, minimum, parser=parse_chart_version):
    """actual >= minimum, both parsed with the given parser."""
    return parser(actual) >= parser(minimum)


_CHART_FIELD = re.compile(r"^(.*?)-(v?\d+\.\d+\.\d+(?:[-+].*)?)$")


def split_chart_field(chart):
    """helm history's chart field -> (name, version): 'milvus-5.0.0-rc.1' -> ('milvus', '5.0.0-rc.1')."""
    match = _CHART_FIELD.match(chart or "")
    if not match:
        return chart or "", ""
    return match.group(1), match.group(2)

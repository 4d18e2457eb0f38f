# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helm CLI edge: every helm call of the collection goes through here, as an argument list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile
import time

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    client_certificate_problem, describe_target, helm_client_certificate_kubeconfig, helm_environment)
from ansible_collections.milvusops.cluster.plugins.module_utils.versions import parse_kube_version

_NOT_FOUND = re.compile(r"release: not found|has no deployed releases", re.IGNORECASE)
# What helm prints when the API server failed a request in passing (5xx, throttling, dropped connections).
_TRANSIENT = re.compile(r"an error on the server|the server is currently unable|ServiceUnavailable|InternalError|"
                        r"Internal Server Error|too many requests|connection refused|connection reset|i/o timeout|"
                        r"TLS handshake timeout|\bEOF\b|client connection lost|cluster unreachable|failed to download openapi|"
                        r"\b50[0234]\b",
                        re.IGNORECASE)
# Reads (and server-side renders) are repeated through a passing API outage for this long. An API server
# that is simply wrong is also only reported after this long: preflight's own client fails sooner.
READ_RETRY_SECONDS = 45
RETRY_DELAYS = (0.5, 1, 2, 4)
# The chart repository itself failed (refused, unknown host, no such chart or version): repeating it
# never helps, and the API-outage retry would only delay the answer.
_REPOSITORY = re.compile(r"is not a valid chart repository or cannot be reached|failed to fetch .*index\.yaml|"
                         r'chart "[^"]*" (version "[^"]*" )?not found|no chart version found|'
                         r'no chart name found|failed to download "|could not find protocol handler',
                         re.IGNORECASE)
# The post-renderer (the render gate, see render_gate) failed or refused the render: helm wrote nothing, and the
# same render gets the same answer; whatever words the refusal holds, it is not an API outage.
_POST_RENDER = re.compile(r"error while running post render|post-?render", re.IGNORECASE)
_HELM_VERSION = re.compile(r"^v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$")
_UNREACHABLE = re.compile(r"Kubernetes cluster unreachable|connection refused|no such host|i/o timeout",
                          re.IGNORECASE)


class HelmError(Exception):
    """A helm command failed; carries the command (already redacted) and helm's own words."""

    def __init__(self, message, command=None, rc=None, stderr=None):
        super(HelmError, self).__init__(message)
        self.command = command or []
        self.rc = rc
        self.stderr = (stderr or "").strip()

    @property
    def unreachable(self):
        return bool(_UNREACHABLE.search(self.stderr))

    @property
    def transient(self):
        """The API server failed in passing; the same command may succeed when repeated."""
        if isinstance(self, (ReleaseNotFound, NotHelm)) or self.repository or _POST_RENDER.search(self.stderr):
            return False
        # helm failing without a word (seen under heavy load) says nothing permanent either
        return bool(_TRANSIENT.search(self.stderr)) or not self.stderr

    @property
    def repository(self):
        """The chart repository (not the API server) failed: the same command fails again."""
        return bool(_REPOSITORY.search(self.stderr))


class ReleaseNotFound(HelmError):
    pass


class NotHelm(HelmError):
    """The configured binary ran but is not helm (its version output is not helm's)."""


def parse_helm_version(binary, output):
    """'v3.17.3' -> '3.17.3'; anything else means the binary is not helm (NotHelm names what it printed)."""
    text = (output or "").strip()
    match = _HELM_VERSION.match(text)
    if not match:
        raise NotHelm("%s is not helm: 'helm version --template {{.Version}}' printed %s instead of a version "
                      "such as v3.17.3" % (binary, json.dumps(text[:120]) if text else "nothing"),
                      command=[binary, "version"], rc=0, stderr="")
    return match.group(1)


def pull_arguments(chart_ref, version, destination, repo_url=None):
    """Download one chart version's package into destination (nothing is installed or changed)."""
    return ["pull"] + chart_arguments(chart_ref, repo_url) + ["--version", version, "--destination", destination]


def chart_arguments(chart_ref, repo_url=None):
    """Positional chart plus the flags that locate it.

    A plain chart name is fetched with ``--repo`` instead of ``helm repo add``: parallel forks would
    otherwise race on the shared repositories.yaml, and a user's own repo list stays untouched.
    Paths and oci:// references are passed as they are (air-gapped mirrors).
    """
    if repo_url and not _is_path_or_oci(chart_ref):
        return [chart_ref, "--repo", repo_url]
    return [chart_ref]


def is_chart_path(chart_ref):
    """Whether chart_ref is written as a place on the file system (a chart folder or package)."""
    return chart_ref.startswith(("/", "./", "../", "~")) or chart_ref.endswith(".tgz")


def _is_path_or_oci(chart_ref):
    return chart_ref.startswith("oci://") or is_chart_path(chart_ref)


def upgrade_arguments(release, namespace, chart_ref, version, values_file, repo_url=None,
                      timeout=None, description=None, dry_run=False, openapi_check=False):
    """The one helm upgrade this collection runs (also rendered server-side for the plan).

    Deliberately absent: --install (we never create a release), --atomic/--wait (readiness and
    rollback policy are ours), --reuse-values/--reset-values (either silently disables
    --reset-then-reuse-values).

    openapi_check: let helm check the render against the API server's OpenAPI schema on the client
    (see client_side_openapi_check). Only the render guard's dry run asks for it, and only of a server
    that needs it: the upgrade after the dry run of the same chart and values never repeats it. Where it
    runs, fetching and reading the schema is most of a helm call's CPU on a real API server (make bench).
    """
    args = ["upgrade", release] + chart_arguments(chart_ref, repo_url) + [
        "--namespace", namespace,
        "--version", version,
        "--reset-then-reuse-values",
        "--values", values_file,
    ]
    if timeout:
        args += ["--timeout", timeout]
    if description:
        args += ["--description", description]
    if dry_run:
        args.append("--dry-run=server")
    if not openapi_check:
        args.append("--disable-openapi-validation")
    return args + ["--output", "json"]  # the release as JSON: its revision, and for a dry run its manifest


# From Kubernetes 1.27 every API server validates fields itself (ServerSideFieldValidation and OpenAPI v3 are
# GA and locked on). helm's check goes through kubectl's validator, which then only asks the server's OpenAPI
# v3 documents whether it does, and validates nothing on the client.
SERVER_VALIDATES_FIELDS_FROM = "1.27.0"


def client_side_openapi_check(kube_version):
    """True if helm's client-side OpenAPI check of a render is worth running against this API server:
    before 1.27, or when the version is unknown (empty or unreadable), to be safe. From 1.27 the check
    costs a fetch and a parse of the schema and checks nothing, so it is left to the server."""
    try:
        return parse_kube_version(kube_version) < parse_kube_version(SERVER_VALIDATES_FIELDS_FROM)
    except ValueError:
        return True


def go_runtime_environment(inherited):
    """Go runtime settings for helm, unless the caller's own environment already sets them.

    GOMAXPROCS=1: a fleet run starts one helm per cluster at the same moment, and each helm is a short, mostly
    sequential process; Go's own parallelism (parallel GC workers, threads spinning for work) then only adds CPU
    contention. Measured with make bench at 16 clusters on 2 cores: about 11% less helm CPU, same or shorter
    wall time.
    """
    return {} if "GOMAXPROCS" in inherited else {"GOMAXPROCS": "1"}


class Helm(object):
    """Runs helm with an argument list and an environment that names the cluster."""

    def __init__(self, run_command, binary="helm", environment=None, inherited_environment=None):
        # run_command(args, environ_update=dict) -> (rc, stdout, stderr), e.g. AnsibleModule.run_command;
        # environ_update is laid over the module's own environment (inherited_environment, os.environ by default)
        self._run_command = run_command
        self.binary = binary
        inherited = os.environ if inherited_environment is None else inherited_environment
        self.environment = dict(go_runtime_environment(inherited))
        self.environment.update(environment or {})

    def run(self, args, retry_seconds=0, environment=None):
        """helm's stdout; transient API failures are repeated for retry_seconds (only pass it for reads).
        environment: more variables for this call only."""
        command = [self.binary] + list(args)
        deadline = time.time() + retry_seconds
        attempt = 0
        call_environment = dict(self.environment, **(environment or {}))
        while True:
            rc, out, err = self._run_command(command, environ_update=call_environment)
            if rc == 0:
                return out
            message = "helm %s failed (rc=%s): %s" % (args[0], rc, (err or out).strip())
            cls = ReleaseNotFound if _NOT_FOUND.search(err or "") else HelmError
            error = cls(message, command=command, rc=rc, stderr=err or out)
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            if not error.transient or time.time() + delay > deadline:
                raise error
            time.sleep(delay)
            attempt += 1

    def run_json(self, args):
        out = self.run(list(args) + ["--output", "json"], retry_seconds=READ_RETRY_SECONDS)
        try:
            return json.loads(out) if out.strip() else None
        except ValueError:
            raise HelmError("helm %s printed something that is not JSON: %s" % (args[0], out[:200]))

    def version(self):
        """Client version without the leading v, e.g. '3.17.3'."""
        out = self.run(["version", "--template", "{{.Version}}"], READ_RETRY_SECONDS)
        return parse_helm_version(self.binary, out)

    def pull(self, chart_ref, version, repo_url, destination):
        """Download the chart version's package into destination; a repository that fails or lacks the version
        raises at once (see charts.ChartPackages, the only caller)."""
        self.run(pull_arguments(chart_ref, version, destination, repo_url), READ_RETRY_SECONDS)

    def history(self, release, namespace, max_revisions=20):
        """Revisions oldest first, or None when the release does not exist."""
        try:
            return self.run_json(["history", release, "--namespace", namespace,
                                  "--max", str(max_revisions)]) or []
        except ReleaseNotFound:
            return None

    def get_values(self, release, namespace, all_values=False, revision=None):
        args = ["get", "values", release, "--namespace", namespace]
        if all_values:
            args.append("--all")
        if revision:
            args += ["--revision", str(revision)]
        return self.run_json(args) or {}

    def get_manifest(self, release, namespace, revision=None):
        args = ["get", "manifest", release, "--namespace", namespace]
        if revision:
            args += ["--revision", str(revision)]
        return self.run(args, READ_RETRY_SECONDS)

    def upgrade(self, *args, **kwargs):
        """Run upgrade_arguments(...); returns the release helm printed (JSON), or None if it printed none.

        gate: a render_gate.RenderGate, made helm's post-renderer: helm writes only the renders it lets through.
        A dry run (a server-side render only reads) is repeated through passing API failures; a real
        upgrade is not: the caller looks at the release first (see milvus_helm_hop).
        """
        gate = kwargs.pop("gate", None)
        dry_run = kwargs.get("dry_run")
        args = upgrade_arguments(*args, **kwargs) + (gate.arguments() if gate else [])
        out = self.run(args, READ_RETRY_SECONDS if dry_run else 0, gate.environment() if gate else None)
        try:
            return json.loads(out)
        except ValueError:
            if dry_run:
                raise HelmError("helm upgrade --dry-run=server printed no JSON release: %s" % out[:300])
            return None  # applied all the same; the caller reads the revision from the history


def module_helm_environment(module):
    """helm's environment for a module's connection options. With a client certificate, helm gets a
    kubeconfig of its own (helm has no variable for one), private to this user and removed when the
    module exits."""
    problem = client_certificate_problem(module.params)
    if problem:
        module.fail_json(msg="%s: %s; nothing was changed" % (describe_target(module.params), problem))
    generated = helm_client_certificate_kubeconfig(module.params)
    if generated is None:
        return helm_environment(module.params)
    handle, path = tempfile.mkstemp(prefix="milvusops-helm-kubeconfig-", suffix=".json")  # mode 0600
    with os.fdopen(handle, "w") as out:
        json.dump(generated, out)   # JSON is YAML: helm reads it as a kubeconfig
    module.add_cleanup_file(path)
    return helm_environment({"kubeconfig": path, "context": generated["current-context"]})

#!/usr/bin/env bash
# Builds every helm of versions.env's HELM_VERSIONS from the Go module proxy (helm.sh/helm/v3 or /v4,
# by major) into $MILVUSOPS_CONTROLPLANE_CACHE/helm-<version>/helm, and prints one binary per line.
# A binary already there is reused. The version is stamped as helm's own release build does, or
# `helm version` would say "v3.14" with no patch. Each failure names the module and the step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache_root=${MILVUSOPS_CONTROLPLANE_CACHE:-$HOME/.cache/milvusops-controlplane}
command -v go >/dev/null || { echo "helm build FAILED: the go command is not on PATH" >&2; exit 1; }

for version in $HELM_VERSIONS; do
    dest="$cache_root/helm-$version"
    major=${version%%.*}                        # v3 or v4: the module path's major suffix
    module="helm.sh/helm/$major"
    if [ ! -x "$dest/helm" ]; then
        mkdir -p "$dest"
        log="$dest/build.log"
        echo "helm build: $module $version" >&2
        started=$(date +%s)
        (cd "$dest" && GOBIN="$dest/bin.partial" go install -trimpath \
            -ldflags "-s -w -X $module/internal/version.version=$version -X $module/internal/version.gitTreeState=clean" \
            "$module/cmd/helm@$version") >"$log" 2>&1 \
            || { echo "helm build FAILED: module $module@$version, step: go install ./cmd/helm (log: $log)" >&2
                 tail -n 30 "$log" >&2; exit 1; }
        mv "$dest/bin.partial/helm" "$dest/helm" && rmdir "$dest/bin.partial"
        echo "helm build: $version built in $(( $(date +%s) - started )) s" >&2
    fi
    reported=$("$dest/helm" version --template '{{.Version}}')
    [ "$reported" = "$version" ] \
        || { echo "helm build FAILED: $dest/helm reports $reported, not $version" >&2; exit 1; }
    echo "$dest/helm"
done

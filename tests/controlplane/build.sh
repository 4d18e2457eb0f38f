#!/usr/bin/env bash
# Builds the real control plane pinned in versions.env from the Go module proxy:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd                                                             (go.etcd.io/etcd/server/v3)
#   kwok                                                             (sigs.k8s.io/kwok)
# into $MILVUSOPS_CONTROLPLANE_CACHE/<versions>/bin, and prints that folder. A folder that is complete
# is reused as it is; nothing is built into the checkout. Each failure names the module and the step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache_root=${MILVUSOPS_CONTROLPLANE_CACHE:-$HOME/.cache/milvusops-controlplane}
dest="$cache_root/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)
stage_crd=kwok.x-k8s.io_stages.yaml   # kwok's own Stage CRD, from its module, for the launcher

complete() {
    local b
    for b in "${binaries[@]}"; do [ -x "$dest/bin/$b" ] || return 1; done
    [ -f "$dest/$stage_crd" ]
}
if complete; then echo "$dest/bin"; exit 0; fi

log() { echo "controlplane build: $*" >&2; }
fail() { echo "controlplane build FAILED: module $1, step: $2 (log: $3)" >&2; tail -n 30 "$3" >&2; exit 1; }
command -v go >/dev/null || { echo "controlplane build FAILED: the go command is not on PATH" >&2; exit 1; }

work="$dest/src"
mkdir -p "$dest/bin" "$work"
started=$(date +%s)

# --- Kubernetes: a consumer module of k8s.io/kubernetes. Its go.mod requires every staging module
# at v0.0.0 with a local replace; both are ignored in a consumer, so each staging module is replaced
# by its published v0.<minor>.<patch>, generated from that go.mod itself.
k8s_mod="k8s.io/kubernetes"
k8s_dir="$work/kubernetes"; k8s_log="$dest/kubernetes.log"; mkdir -p "$k8s_dir"; : >"$k8s_log"
staging_version="v0.${KUBERNETES_VERSION#v1.}"
log "$k8s_mod $KUBERNETES_VERSION (staging modules at $staging_version)"
modfile=$(cd "$k8s_dir" && go mod download -json "$k8s_mod@$KUBERNETES_VERSION" 2>>"$k8s_log" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])') \
    || fail "$k8s_mod@$KUBERNETES_VERSION" "download its go.mod" "$k8s_log"
(
    cd "$k8s_dir"
    rm -f go.mod go.sum
    go mod init milvusops.test/controlplane/kubernetes
    go mod edit -require="$k8s_mod@$KUBERNETES_VERSION"
    go mod edit -json "$modfile" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("./staging/"):
        print("-replace=%s=%s@%s" % (r["Old"]["Path"], r["Old"]["Path"], sys.argv[1]))
' "$staging_version" | xargs go mod edit
    cat >tools.go <<'GO'
//go:build tools

// The control plane's main packages, so that `go mod tidy` keeps what they need.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy -e
) >>"$k8s_log" 2>&1 || fail "$k8s_mod@$KUBERNETES_VERSION" "resolve its dependencies (go mod tidy)" "$k8s_log"

# The version the binaries report: helm and the collection read it from /version.
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (the first build takes long)"
(cd "$k8s_dir" && go build -trimpath -ldflags "$ldflags" -o "$dest/bin/" \
    "$k8s_mod/cmd/kube-apiserver" "$k8s_mod/cmd/kube-controller-manager" \
    "$k8s_mod/cmd/kube-scheduler" "$k8s_mod/cmd/kubectl") >>"$k8s_log" 2>&1 \
    || fail "$k8s_mod@$KUBERNETES_VERSION" "go build of cmd/kube-apiserver, cmd/kube-controller-manager, cmd/kube-scheduler, cmd/kubectl" "$k8s_log"

# --- etcd: its go.mod replaces its sibling modules with local paths, so `go install @version` is
# refused; a consumer module pins the server and lets the module graph pick the siblings.
etcd_mod="go.etcd.io/etcd/server/v3"
etcd_dir="$work/etcd"; etcd_log="$dest/etcd.log"; mkdir -p "$etcd_dir"; : >"$etcd_log"
log "$etcd_mod $ETCD_VERSION"
(
    cd "$etcd_dir"
    rm -f go.mod go.sum
    go mod init milvusops.test/controlplane/etcd
    go get "$etcd_mod@$ETCD_VERSION"
) >>"$etcd_log" 2>&1 || fail "$etcd_mod@$ETCD_VERSION" "resolve its dependencies (go get)" "$etcd_log"
(cd "$etcd_dir" && go build -trimpath -ldflags "-s -w" -o "$dest/bin/etcd" "$etcd_mod") >>"$etcd_log" 2>&1 \
    || fail "$etcd_mod@$ETCD_VERSION" "go build" "$etcd_log"

# --- kwok: its documented install.
kwok_mod="sigs.k8s.io/kwok/cmd/kwok"
kwok_log="$dest/kwok.log"; : >"$kwok_log"
log "$kwok_mod $KWOK_VERSION"
(cd "$work" && GOBIN="$dest/bin" go install -trimpath -ldflags "-s -w" "$kwok_mod@$KWOK_VERSION") >>"$kwok_log" 2>&1 \
    || fail "$kwok_mod@$KWOK_VERSION" "go install" "$kwok_log"

kwok_src=$(cd "$work" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" 2>>"$kwok_log" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || fail "sigs.k8s.io/kwok@$KWOK_VERSION" "download the module for its Stage CRD" "$kwok_log"
cp "$kwok_src/kustomize/crd/bases/$stage_crd" "$dest/$stage_crd"

complete || { echo "controlplane build FAILED: $dest/bin lacks a binary after the build" >&2; exit 1; }
log "built in $(( $(date +%s) - started )) s"
echo "{\"seconds\": $(( $(date +%s) - started )), \"built\": \"$(date -u +%FT%TZ)\"}" >"$dest/build-info.json"
echo "$dest/bin"

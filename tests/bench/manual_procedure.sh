#!/usr/bin/env bash
# The benchmark's baseline: the documented manual procedure (../shared/seed/upgrade_milvus_cluster-helm.md),
# run cluster after cluster, the way a person with a terminal would.
#
#   manual_procedure.sh --repo URL [--helm BIN] [--kubectl BIN | --no-kubectl] [--pins "FLAGS"] \
#                       CONTEXT:NAMESPACE:RELEASE ...
#
# KUBECONFIG (and HOME / HELM_*_HOME) come from the environment. Per cluster:
#   1. `kubectl get pods` to see which coordinators run (the doc's check), here as a Deployment query;
#   2. hop 1: `helm upgrade REL milvus --repo URL --set image.all.tag=v2.5.16 [mixCoordinator flags]
#      --reset-then-reuse-values --version=4.2.58` plus the message-queue pins (without them the newer
#      charts' defaults switch the message queue; see README);
#   3. wait: `kubectl rollout status` for each Milvus Deployment (the doc says "watch kubectl get pods");
#   4. hop 2: `helm upgrade ... --set image.all.tag=v2.6.4 --set streaming.enabled=true
#      --set indexNode.enabled=false --reset-then-reuse-values --version=5.0.0` plus the pins;
#   5. wait again, then the doc's verification: `kubectl get pods` and `helm list`.
# Without kubectl (--no-kubectl) each helm upgrade gets --wait instead and the check uses helm.
# The chart comes from `--repo URL milvus` instead of `helm repo add` (same chart, no shared repo state).
# Progress lines "BENCH <epoch> <context> <phase>" on stdout give the bench a time breakdown.
set -u -o pipefail

REPO=""
HELM=helm
KUBECTL=kubectl
PINS="--set pulsar.enabled=true --set pulsarv3.enabled=false --set kafka.enabled=false \
--set woodpecker.enabled=false --set externalPulsar.enabled=false --set externalKafka.enabled=false"
ROLLOUT_TIMEOUT=900s
CLUSTERS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --repo) REPO=$2; shift 2 ;;
        --helm) HELM=$2; shift 2 ;;
        --kubectl) KUBECTL=$2; shift 2 ;;
        --no-kubectl) KUBECTL=""; shift ;;
        --pins) PINS=$2; shift 2 ;;
        --rollout-timeout) ROLLOUT_TIMEOUT=$2; shift 2 ;;
        -h|--help) sed -n 2,20p "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) CLUSTERS+=("$1"); shift ;;
    esac
done
[ -n "$REPO" ] || { echo "--repo URL is required" >&2; exit 2; }
[ ${#CLUSTERS[@]} -gt 0 ] || { echo "no cluster given (CONTEXT:NAMESPACE:RELEASE)" >&2; exit 2; }

# shellcheck disable=SC2206 # the pins are separate words on purpose
PIN_ARGS=($PINS)
WAIT_ARGS=()
[ -n "$KUBECTL" ] || WAIT_ARGS=(--wait --timeout "$ROLLOUT_TIMEOUT")

mark() { echo "BENCH $EPOCHREALTIME $1 $2"; }

wait_rollout() {  # context namespace release
    [ -n "$KUBECTL" ] || return 0   # helm --wait already waited
    local deployments d
    deployments=$("$KUBECTL" --context "$1" -n "$2" get deployments \
        -l "app.kubernetes.io/instance=$3,app.kubernetes.io/name=milvus" -o name) || return 1
    for d in $deployments; do
        "$KUBECTL" --context "$1" -n "$2" rollout status "$d" --timeout "$ROLLOUT_TIMEOUT" >/dev/null || return 1
    done
}

separate_coordinators() {  # context namespace release: the doc's `kubectl get pods` check
    local found  # captured first: `cmd | grep -q` would fail under pipefail when grep exits early
    if [ -n "$KUBECTL" ]; then
        found=$("$KUBECTL" --context "$1" -n "$2" get deployments -o name \
            -l "app.kubernetes.io/instance=$3,app.kubernetes.io/name=milvus") || return 2
    else
        found=$("$HELM" get manifest "$3" --kube-context "$1" -n "$2") || return 2
    fi
    grep -Eq -- '-(root|data|query|index)coord$' <<<"$found"
}

upgrade_one() {  # context namespace release
    local ctx=$1 ns=$2 rel=$3 coord=()
    mark "$ctx" start
    separate_coordinators "$ctx" "$ns" "$rel"
    case $? in
        0) coord=(--set mixCoordinator.enabled=true --set rootCoordinator.enabled=false
                  --set indexCoordinator.enabled=false --set queryCoordinator.enabled=false
                  --set dataCoordinator.enabled=false) ;;
        1) ;;
        *) return 1 ;;
    esac
    mark "$ctx" hop1-helm
    "$HELM" upgrade "$rel" milvus --repo "$REPO" --kube-context "$ctx" --namespace "$ns" \
        --set image.all.tag="v2.5.16" "${coord[@]}" "${PIN_ARGS[@]}" \
        --reset-then-reuse-values --version=4.2.58 "${WAIT_ARGS[@]}" >/dev/null || return 1
    mark "$ctx" hop1-wait
    wait_rollout "$ctx" "$ns" "$rel" || return 1
    mark "$ctx" hop2-helm
    "$HELM" upgrade "$rel" milvus --repo "$REPO" --kube-context "$ctx" --namespace "$ns" \
        --set image.all.tag="v2.6.4" --set streaming.enabled=true --set indexNode.enabled=false \
        "${PIN_ARGS[@]}" --reset-then-reuse-values --version=5.0.0 "${WAIT_ARGS[@]}" >/dev/null || return 1
    mark "$ctx" hop2-wait
    wait_rollout "$ctx" "$ns" "$rel" || return 1
    mark "$ctx" verify
    if [ -n "$KUBECTL" ]; then
        "$KUBECTL" --context "$ctx" -n "$ns" get pods >/dev/null || return 1
    fi
    "$HELM" list --kube-context "$ctx" --namespace "$ns" >/dev/null || return 1
    mark "$ctx" done
}

failed=0
for spec in "${CLUSTERS[@]}"; do
    IFS=: read -r ctx ns rel <<<"$spec"
    if ! upgrade_one "$ctx" "$ns" "$rel"; then
        mark "$ctx" failed
        failed=1
    fi
done
exit $failed

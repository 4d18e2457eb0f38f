#!/usr/bin/env bash
# Benchmark wrapper around the real helm: runs it unchanged and appends one line per invocation to
# $BENCH_HELM_LOG: "<start epoch> <end epoch> <rc> <cpu seconds> <kube context> <subcommand>[ dry-run]"
# (subcommand "get-values", "get-manifest" for helm get).
# Used for both the collection and the manual procedure, so both pay the same (sub-millisecond) cost.
# Only the subcommand and the context are logged, never values or credentials.
start=$EPOCHREALTIME
"${BENCH_HELM_REAL:?BENCH_HELM_REAL is not set}" "$@"
rc=$?
end=$EPOCHREALTIME
# helm's user+system CPU: this shell's reaped-children times (fields 16 and 17 of /proc/$$/stat, in clock ticks
# of 1/100 s), read without starting another process
cpu=-
if read -r -a stat < /proc/$$/stat 2>/dev/null; then
    ticks=$(( ${stat[15]} + ${stat[16]} ))
    printf -v cpu '%d.%02d' $(( ticks / 100 )) $(( ticks % 100 ))
fi
context=${HELM_KUBECONTEXT:--}
sub=()
dry=""
prev=""
for arg in "$@"; do
    case "$prev" in --kube-context) context=$arg ;; esac
    case "$arg" in
        --dry-run*) dry=" dry-run" ;;
        -*) ;;
        # an option's value follows it (`--version 5.0.0`, `-f FILE`), but not `--version=5.0.0`'s
        *) case "$prev" in --*=*) [ ${#sub[@]} -lt 2 ] && sub+=("$arg") ;; --*|-f|-n|-o) ;;
               *) [ ${#sub[@]} -lt 2 ] && sub+=("$arg") ;; esac ;;
    esac
    prev=$arg
done
if [ -n "${BENCH_HELM_LOG:-}" ]; then
    what=${sub[0]:-?}
    [ "$what" = get ] && what="get-${sub[1]:-?}"
    printf '%s %s %s %s %s %s%s\n' "$start" "$end" "$rc" "$cpu" "$context" "$what" "$dry" >> "$BENCH_HELM_LOG"
fi
exit $rc

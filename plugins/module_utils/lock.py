# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade lock: one coordination.k8s.io Lease per release (pure decisions).

Two runs against the same release (two AWX jobs, a person and a schedule) must not interleave helm
upgrades. The Lease lives in the release namespace, so every controller that can upgrade the release
can also see who holds it, for what, and until when.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

PURPOSE_ANNOTATION = "milvusops.cluster/purpose"
HOLDER_LABEL_KEY = "app.kubernetes.io/managed-by"
MANAGER = "milvusops.cluster"

CREATE = "create"
RENEW = "renew"
TAKE_OVER = "take_over"
REFUSE = "refuse"


def lease_name(release):
    """Lease names are DNS labels; a release name already is one."""
    return ("milvusops-upgrade-%s" % release)[:63].rstrip("-")


def format_time(moment):
    """MicroTime as the API writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]00:?00)$")


def parse_time(text):
    """A UTC (Micro)Time as servers and clients write it (Z or +00:00, 0 to 9 fraction digits), naive UTC."""
    match = _TIME.match(text or "")
    if not match:
        return None
    moment = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    return moment.replace(microsecond=int((match.group(2) or "0")[:6].ljust(6, "0")))


def expiry(lease):
    """When the lease runs out (renewTime + leaseDurationSeconds), or None when unreadable."""
    spec = (lease or {}).get("spec") or {}
    renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    if renewed is None or not spec.get("leaseDurationSeconds"):
        return None
    return renewed + datetime.timedelta(seconds=int(spec["leaseDurationSeconds"]))


def lease_body(name, holder, purpose, seconds, now, existing=None):
    """The Lease we write: created, renewed (same holder) or taken over (stale)."""
    spec = dict((existing or {}).get("spec") or {})
    same_holder = spec.get("holderIdentity") == holder
    metadata = {
        "name": name,
        "labels": {HOLDER_LABEL_KEY: MANAGER},
        "annotations": {PURPOSE_ANNOTATION: purpose},
    }
    if existing:
        metadata["resourceVersion"] = existing["metadata"].get("resourceVersion")
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(seconds),
            "acquireTime": spec.get("acquireTime") if (existing and same_holder) else format_time(now),
            "renewTime": format_time(now),
            "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (0 if same_holder or not existing else 1),
        },
    }


def parse_holder(holder):
    """(host, pid, start) of a holder written as <host>/pid:<pid>:<start>/..., or None for other holders."""
    parts = (holder or "").split("/")
    if len(parts) < 2 or not parts[1].startswith("pid:"):
        return None
    fields = parts[1].split(":")
    try:
        return parts[0], int(fields[1]), int(fields[2]) if len(fields) > 2 else 0
    except ValueError:
        return None


def holder_gone(other, mine, process_alive):
    """True when the other holder ran on this same host and its process (pid and start time) no longer runs.

    process_alive(pid, start) answers for this host; a holder of another host, or one without a process, is
    never judged gone here: only its expiry (or milvus_lock_break_stale) can free it.
    """
    theirs, ours = parse_holder(other), parse_holder(mine)
    if theirs is None or ours is None or theirs[0] != ours[0]:
        return False
    if theirs[1:] == ours[1:]:
        return False
    return not process_alive(theirs[1], theirs[2])


def decide(existing, holder, now, break_stale, gone=False):
    """(action, message) for acquiring the lock given the Lease found (None when there is none).

    gone: holder_gone() of the Lease's holder: its run on this host has ended, so the lock may be taken over.
    """
    if existing is None:
        return CREATE, None
    spec = existing.get("spec") or {}
    other = spec.get("holderIdentity") or "(no holder)"
    if other == holder:
        return RENEW, None
    purpose = ((existing.get("metadata") or {}).get("annotations") or {}).get(PURPOSE_ANNOTATION, "unknown purpose")
    if gone:
        theirs = parse_holder(other)
        return TAKE_OVER, ("took over the upgrade lock of %s (purpose %r): its ansible-playbook process %d on this "
                           "host (%s) is gone" % (other, purpose, theirs[1], theirs[0]))
    ends = expiry(existing)
    if ends is not None and ends > now:
        return REFUSE, ("another run holds the upgrade lock (Lease %s): holder %s, purpose %r, expires %sZ unless "
                        "renewed. Wait for it to finish; nothing was changed"
                        % (existing["metadata"]["name"], other, purpose, ends.isoformat(timespec="seconds")))
    if not break_stale:
        return REFUSE, ("a stale upgrade lock exists (Lease %s): holder %s, purpose %r, expired %s. Its run probably "
                        "died. Make sure it is not running, then run again with milvus_lock_break_stale=true; "
                        "nothing was changed"
                        % (existing["metadata"]["name"], other, purpose,
                           (ends.isoformat(timespec="seconds") + "Z") if ends else "at an unknown time"))
    return TAKE_OVER, "took over the stale lock of %s (purpose %r)" % (other, purpose)


def lost_race_message(target, lease, error):
    """The error when another run wrote the lock between our read and our write (a 409 Conflict)."""
    return ("%s: another run changed the upgrade lock %s at the same moment (%s); nothing was changed, run again to "
            "see who holds it" % (target, lease, error))

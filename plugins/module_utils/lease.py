# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade lock's I/O: take, renew and release the release's Lease (the decisions are module_utils/lock.py).

Shared by milvus_lock, milvus_preflight (which takes the lock once it knows there is work), milvus_helm_hop
(which renews it right before helm upgrade) and the wait's renewals. params are milvus_lock's options (the
cluster's connection, holder, purpose, duration, break_stale).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import Conflict, KubeError
from ansible_collections.milvusops.cluster.plugins.module_utils.lock import (
    CREATE, REFUSE, RENEW, decide, expiry, holder_gone, lease_body, lease_name)
from ansible_collections.milvusops.cluster.plugins.module_utils.processes import process_alive


class LockRefused(Exception):
    """Another run holds the lock (decide()'s reason, without the cluster: the caller names it)."""

    def __init__(self, message, lease, holder):
        super(LockRefused, self).__init__(message)
        self.lease, self.holder = lease, holder


def acquire(params, check_mode, kube, name):
    """Take or renew the Lease name for params["holder"]; LockRefused when another run holds it."""
    namespace = params["namespace"]
    existing = kube.read_lease(namespace, name)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)  # naive UTC, like the Lease times
    other = ((existing or {}).get("spec") or {}).get("holderIdentity")
    gone = holder_gone(other, params["holder"], process_alive)
    action, message = decide(existing, params["holder"], now, params["break_stale"], gone=gone)
    if action == REFUSE:
        raise LockRefused(message, name, other)
    body = lease_body(name, params["holder"], params["purpose"], params["duration"], now, existing)
    changed = action != RENEW
    if not check_mode:
        if action == CREATE:
            kube.create_lease(namespace, body)
        else:
            kube.replace_lease(namespace, body)
    return dict(changed=changed, lease=name, holder=params["holder"],
                expires=expiry(body).isoformat(timespec="seconds") + "Z",
                message=message or ("lock renewed" if action == RENEW else "lock taken"))


def release(params, check_mode, kube, name):
    existing = kube.read_lease(params["namespace"], name)
    holder = ((existing or {}).get("spec") or {}).get("holderIdentity")
    if existing is None or holder != params["holder"]:
        return dict(changed=False, lease=name, holder=holder,
                    message="not held by this run: left as it is" if existing else "no lock to release")
    if not check_mode:
        kube.delete_lease(params["namespace"], name, existing["metadata"]["resourceVersion"])
    return dict(changed=True, lease=name, holder=None, message="lock released")


# A lock renewal must outlast a passing API outage rather than end the upgrade it protects.
API_RETRY_SECONDS = 90
RETRY_DELAYS = (0.5, 1, 2, 4, 8)


def with_retries(action):
    """Run action(); repeat passing API failures (5xx, throttling, dropped connections) for API_RETRY_SECONDS.

    Wrong names, permissions or certificates are reported at once: waiting would not fix them.
    """
    deadline = time.time() + API_RETRY_SECONDS
    attempt = 0
    while True:
        try:
            return action()
        except Conflict:
            raise
        except KubeError as exc:
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            if not exc.transient or time.time() + delay > deadline:
                raise
            time.sleep(delay)
            attempt += 1


class LockLost(Exception):
    """This run can no longer renew its lock: another run holds it now, or it cannot be written. The message
    does not name the cluster: the caller says what it was doing, and where."""


def lock_params(params, lock):
    """The milvus_lock options renewing lock (holder, purpose, duration) on the cluster params name."""
    renew = dict((key, params.get(key)) for key in CONNECTION_ARGUMENT_SPEC)
    renew.update(holder=lock["holder"], duration=lock["duration"], purpose=lock["purpose"],
                 break_stale=False, state="acquired")
    return renew


def renew(params, lock, kube):
    """Renew this run's lock on the release of params (passing API failures retried, never in check mode);
    LockLost otherwise."""
    try:
        return with_retries(lambda: acquire(lock_params(params, lock), False, kube, lease_name(params["release"])))
    except LockRefused as exc:
        raise LockLost(str(exc))
    except (Conflict, KubeError) as exc:
        raise LockLost("cannot renew the upgrade lock: %s" % exc)

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: milvus_lock
short_description: Take, renew or release the upgrade lock of a Milvus release
version_added: 1.0.0
description:
  - The lock is a C(coordination.k8s.io/v1) Lease named C(milvusops-upgrade-<release>) in the release namespace,
    with the holder, the purpose and an expiry (renew time plus duration).
  - O(state=acquired) creates the Lease, or renews it when O(holder) already holds it. Another holder's unexpired
    Lease fails the task, naming the holder, the purpose and the expiry. An expired (stale) Lease fails too unless
    O(break_stale=true).
  - O(state=released) deletes the Lease if O(holder) holds it, and leaves anyone else's alone.
  - A holder written as C(<host>/pid:<pid>:<start>/...) (see the P(milvusops.cluster.milvus_controller#lookup)
    lookup) names the controller and the ansible-playbook process of its run. When the Lease's holder names
    this host and that process no longer runs, the run holding the lock died, and the lock is taken over at once,
    expired or not, saying so in RV(message). Holders of other hosts still need the expiry and O(break_stale).
  - Writes are optimistic (resourceVersion preconditions), so two runs racing for the lock cannot both win.
author:
  - milvusops maintainers (@milvusops)
requirements:
  - kubernetes >= 24.2.0 (Python)
extends_documentation_fragment:
  - milvusops.cluster.connection
attributes:
  action_group:
    support: full
    membership: [milvusops.cluster.milvus]
    description: Use C(group/milvusops.cluster.milvus) in C(module_defaults) to set the connection options once.
  check_mode:
    support: full
    description: Reports whether the lock would be taken or released, writes nothing.
  diff_mode:
    support: none
    description: No diff; the result names the holder before and after.
options:
  holder:
    description: Identity of this run (the role uses controller host, process and a random run id).
    type: str
    required: true
  purpose:
    description: What the holder is doing, shown to anyone who finds the lock taken.
    type: str
    default: milvusops.cluster upgrade
  state:
    description: Take (or renew) the lock, or release it.
    type: str
    choices: [acquired, released]
    default: acquired
  duration:
    description: Seconds the lock stays valid without renewal.
    type: int
    default: 300
  break_stale:
    description: Take over an expired lock of another holder (only when that run is known to be dead).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Take the upgrade lock
  milvusops.cluster.milvus_lock:
    release: vectors
    namespace: milvus
    holder: "awx-job-{{ tower_job_id | default('manual') }}"
    purpose: upgrade to v2.6.4

- name: Release it
  milvusops.cluster.milvus_lock:
    release: vectors
    namespace: milvus
    holder: "awx-job-{{ tower_job_id | default('manual') }}"
    state: released
"""

RETURN = r"""
lease:
  description: Name of the Lease.
  returned: always
  type: str
  sample: milvusops-upgrade-vectors
holder:
  description: Who holds the lock after the task (null when released).
  returned: always
  type: str
  sample: controller-1/20261201T101500/482913377
expires:
  description: When the lock runs out unless renewed (UTC, ISO 8601).
  returned: when acquired
  type: str
  sample: "2026-12-01T10:20:00+00:00"
message:
  description: What happened, e.g. that a stale lock was taken over.
  returned: always
  type: str
  sample: lock taken
"""

import datetime
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    connection_argument_spec, describe_target)
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import Conflict, Kube, KubeError
from ansible_collections.milvusops.cluster.plugins.module_utils.lock import (
    CREATE, REFUSE, RENEW, decide, expiry, holder_gone, lease_body, lease_name)
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR
from ansible_collections.milvusops.cluster.plugins.module_utils.libraries import require_libraries
from ansible_collections.milvusops.cluster.plugins.module_utils.processes import process_alive


def argument_spec():
    return connection_argument_spec(
        holder=dict(type="str", required=True),
        purpose=dict(type="str", default="milvusops.cluster upgrade"),
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        duration=dict(type="int", default=300),
        break_stale=dict(type="bool", default=False),
    )


def acquire(module, kube, name):
    params = module.params
    namespace = params["namespace"]
    existing = kube.read_lease(namespace, name)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)  # naive UTC, like the Lease times
    other = ((existing or {}).get("spec") or {}).get("holderIdentity")
    gone = holder_gone(other, params["holder"], process_alive)
    action, message = decide(existing, params["holder"], now, params["break_stale"], gone=gone)
    if action == REFUSE:
        module.fail_json(msg="%s: %s" % (describe_target(params), message), lease=name,
                         holder=existing["spec"].get("holderIdentity"))
    body = lease_body(name, params["holder"], params["purpose"], params["duration"], now, existing)
    changed = action != RENEW
    if not module.check_mode:
        if action == CREATE:
            kube.create_lease(namespace, body)
        else:
            kube.replace_lease(namespace, body)
    return dict(changed=changed, lease=name, holder=params["holder"],
                expires=expiry(body).isoformat(timespec="seconds") + "Z",
                message=message or ("lock renewed" if action == RENEW else "lock taken"))


def release(module, kube, name):
    params = module.params
    existing = kube.read_lease(params["namespace"], name)
    holder = ((existing or {}).get("spec") or {}).get("holderIdentity")
    if existing is None or holder != params["holder"]:
        return dict(changed=False, lease=name, holder=holder,
                    message="not held by this run: left as it is" if existing else "no lock to release")
    if not module.check_mode:
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


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, ("kubernetes", HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR))
    name = lease_name(module.params["release"])
    try:
        kube = Kube(module.params)
        if module.params["state"] == "acquired":
            result = with_retries(lambda: acquire(module, kube, name))
        else:
            result = with_retries(lambda: release(module, kube, name))
    except Conflict as exc:
        module.fail_json(msg="%s: another run changed the upgrade lock %s at the same moment (%s); nothing was "
                             "changed, run again to see who holds it" % (describe_target(module.params), name, exc))
    except KubeError as exc:
        hint = ""
        if "not found" in str(exc) and "namespace" in str(exc):
            hint = ": check milvus_namespace (kubectl get namespaces); nothing was changed"
        module.fail_json(msg="%s: upgrade lock %s: %s%s" % (describe_target(module.params), name, exc, hint))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.milvusops.cluster.plugins.module_utils.connection import (
    connection_argument_spec, describe_target)
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import Conflict, Kube, KubeError
from ansible_collections.milvusops.cluster.plugins.module_utils.lease import (
    LockRefused, acquire, release, with_retries)
from ansible_collections.milvusops.cluster.plugins.module_utils.lock import lease_name, lost_race_message
from ansible_collections.milvusops.cluster.plugins.module_utils.kube import HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR
from ansible_collections.milvusops.cluster.plugins.module_utils.libraries import require_libraries


def argument_spec():
    return connection_argument_spec(
        holder=dict(type="str", required=True),
        purpose=dict(type="str", default="milvusops.cluster upgrade"),
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        duration=dict(type="int", default=300),
        break_stale=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, ("kubernetes", HAS_KUBERNETES, KUBERNETES_IMPORT_ERROR))
    run(module)


def run(module):
    """The module's work, given an AnsibleModule or the action plugin's in-process stand-in."""
    name = lease_name(module.params["release"])
    try:
        kube = Kube(module.params)
        if module.params["state"] == "acquired":
            result = with_retries(lambda: acquire(module.params, module.check_mode, kube, name))
        else:
            result = with_retries(lambda: release(module.params, module.check_mode, kube, name))
    except LockRefused as exc:
        module.fail_json(msg="%s: %s" % (describe_target(module.params), exc), lease=exc.lease, holder=exc.holder)
    except Conflict as exc:
        module.fail_json(msg=lost_race_message(describe_target(module.params), name, exc))
    except KubeError as exc:
        hint = ""
        if "not found" in str(exc) and "namespace" in str(exc):
            hint = ": check milvus_namespace (kubectl get namespaces); nothing was changed"
        module.fail_json(msg="%s: upgrade lock %s: %s%s" % (describe_target(module.params), name, exc, hint))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

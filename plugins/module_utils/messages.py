# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which name an error message gives a setting: the module option, or the role's inventory variable (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Module option -> the inventory variable of roles/upgrade that sets it (roles/upgrade/tasks/*.yml).
INVENTORY_VARIABLES = {
    "release": "milvus_release",
    "namespace": "milvus_namespace",
    "kubeconfig": "milvus_kubeconfig",
    "context": "milvus_kube_context",
    "host": "milvus_kube_host",
    "api_key": "milvus_kube_api_key",
    "ca_cert": "milvus_kube_ca_cert",
    "validate_certs": "milvus_kube_validate_certs",
    "client_cert": "milvus_kube_client_cert",
    "client_key": "milvus_kube_client_key",
    "helm_binary": "milvus_helm_binary",
    "intermediate_version": "milvus_intermediate_version",
    "intermediate_chart": "milvus_intermediate_chart",
    "target_version": "milvus_target_version",
    "target_chart": "milvus_target_chart",
    "source_version": "milvus_source_version",
    "message_queue": "milvus_message_queue",
    "secret_values": "milvus_secret_values",
    "chart_ref": "milvus_chart_ref",
    "chart_repo_url": "milvus_chart_repo_url",
    "allow_statefulset_removal": "milvus_allow_statefulset_removal",
    "holder": "milvus_lock_holder",
    "break_stale": "milvus_lock_break_stale",
    "duration": "milvus_lock_seconds",
}

MESSAGE_NAMES = ("option", "inventory")


def setting_name(option, message_names="option"):
    """The name to tell the user to change: 'kubeconfig' called directly, 'milvus_kubeconfig' in a role run.

    An option with no inventory variable keeps its option name, so a message is never left without one.
    """
    if message_names == "inventory":
        return INVENTORY_VARIABLES.get(option, option)
    return option


def namer(params):
    """setting_name bound to a module's message_names option."""
    style = (params or {}).get("message_names") or "option"
    return lambda option: setting_name(option, style)

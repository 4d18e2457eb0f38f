# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options every milvusops.cluster module that talks to a cluster shares: which release, and how to reach
    # its cluster. Each module lists its own Python requirements.
    DOCUMENTATION = r"""
options:
  release:
    description:
      - Name of the Helm release of Milvus.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the Helm release.
    type: str
    required: true
  kubeconfig:
    description:
      - Path to a kubeconfig file.
      - Without it (and without O(host)) the default kubeconfig (E(KUBECONFIG) or C(~/.kube/config)) is used,
        and inside a pod the in-cluster service account. E(KUBECONFIG) may list several files separated by
        C(:), merged as kubectl merges them. With older kubernetes clients (24.2.0) the current context must be
        set in the first of them that exists, or given with O(context).
      - Users with an C(exec) credential plugin (EKS, GKE, AKS, OIDC helpers) work; the plugin runs on the
        controller for the Python client and for helm alike.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: path
  context:
    description:
      - The kubeconfig context to use. The current context when omitted.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, overriding the kubeconfig's.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token for the API server.
      - Never logged, never put on the helm command line (helm receives it through its environment).
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  ca_cert:
    description:
      - Path to a CA certificate bundle to verify the API server with.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    default: true
    aliases: [verify_ssl]
  client_cert:
    description:
      - Path to a client certificate to authenticate to the API server with (with O(client_key)).
      - Needs O(host) (helm takes a client certificate only from a kubeconfig, so helm gets a private
        kubeconfig of the module's own for O(host), O(ca_cert) and the certificate, removed when the module
        exits). With a kubeconfig, put the certificate in the kubeconfig's user instead.
      - Can also be set with the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the private key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
  cluster_name:
    description:
      - A name for this cluster in messages and reports, for example the inventory host name.
      - Defaults to the context, else the API host, else C(current-context).
    type: str
  message_names:
    description:
      - How error messages name a setting to change. V(option) names this module's options; V(inventory) names the
        inventory variables of the C(milvusops.cluster.upgrade) role instead (C(milvus_kubeconfig),
        C(milvus_message_queue), ...), which the role sets.
    type: str
    choices: [option, inventory]
    default: option
notes:
  - Modules run where the cluster API is reachable, usually the controller (C(ansible_connection=local)).
"""

    # The modules that run helm (milvus_preflight, milvus_helm_hop) add this one.
    HELM = r"""
options:
  helm_binary:
    description:
      - Path or name of the helm binary. Helm 3.14.0 or newer is required.
      - helm runs with E(GOMAXPROCS=1) unless the module's environment sets E(GOMAXPROCS). A fleet run starts
        one helm per cluster at once, and single-threaded Go spends less CPU then.
    type: path
    default: helm
requirements:
  - helm >= 3.14.0 (binary)
notes:
  - helm reaches the cluster with the same options (through its environment, never its command line).
"""

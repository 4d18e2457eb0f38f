"""What the fake nodes lack, for the test control plane: the Milvus endpoints and the volumes.

    python -m tests.controlplane.agent --kubeconfig ADMIN --volumes DIR

- Answers HTTP on :9091 for every pod IP (the namespace routes the pod network to `lo`): the API
  server's pod and service proxy reach it for `/healthz` and `/metrics`. The answer is the one the
  simulator gives (tests/kubesim/milvus.py), computed from the pod the address belongs to and its
  release's Milvus ConfigMap, so both backends answer alike.
- Binds every pending PersistentVolumeClaim to a new hostPath PersistentVolume (there is no
  provisioner without a cloud), through the real persistent-volume controller.
"""

import argparse
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.controlplane.api import Api, Store
from tests.kubesim.milvus import pod_answer

MILVUS_PORT = 9091


class PodAddresses(Store):
    """The store the simulator's Milvus answers read, and the pod behind an address."""

    def pod_at(self, ip):
        answer = self.api.get("/api/v1/pods?fieldSelector=" + urllib.parse.quote("status.podIP=" + ip))
        pods = [p for p in (answer or {}).get("items", []) if not p["metadata"].get("deletionTimestamp")]
        return pods[0] if pods else None


def make_handler(store):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            ip = self.connection.getsockname()[0]
            pod = store.pod_at(ip)
            if pod is None:
                status, content_type, body = 404, "text/plain", ("no pod has the address %s" % ip).encode()
            else:
                status, content_type, body = pod_answer(store, pod, self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def persistent_volume(claim, volumes_dir):
    """A hostPath PersistentVolume reserved for one claim."""
    meta, spec = claim["metadata"], claim["spec"]
    name = "pv-%s" % meta["uid"]
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"milvusops.test/provisioned": "true"}},
        "spec": {
            "capacity": {"storage": spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec.get("storageClassName") or "",
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "hostPath": {"path": os.path.join(volumes_dir, name)},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                         "name": meta["name"], "uid": meta["uid"]},
        },
    }


def provision_forever(api, volumes_dir):
    while True:
        try:
            listing = api.get("/api/v1/persistentvolumeclaims")
            if listing is None:
                raise OSError("cannot list claims")
            for claim in listing["items"]:
                provision(api, claim, volumes_dir)
            for event in api.watch("/api/v1/persistentvolumeclaims", listing["metadata"]["resourceVersion"]):
                if event["type"] in ("ADDED", "MODIFIED"):
                    provision(api, event["object"], volumes_dir)
        except OSError:   # the API server is away (a test stops it): list again when it is back
            time.sleep(0.5)


def provision(api, claim, volumes_dir):
    if claim.get("status", {}).get("phase") == "Pending" and not claim["spec"].get("volumeName"):
        api.ensure("/api/v1/persistentvolumes", persistent_volume(claim, volumes_dir))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--volumes", required=True)
    args = parser.parse_args(argv)
    api = Api(args.kubeconfig)
    threading.Thread(target=provision_forever, args=(api, args.volumes), daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", MILVUS_PORT), make_handler(PodAddresses(api)))
    server.daemon_threads = True
    print("agent: Milvus endpoints on :%d of every pod IP" % MILVUS_PORT, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

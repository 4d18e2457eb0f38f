"""The real Kubernetes control plane the integration suite runs on (see README.md in this folder)."""

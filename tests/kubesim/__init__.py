"""kubesim: a small Kubernetes API simulator for tests."""

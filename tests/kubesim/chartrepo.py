"""A Helm chart repository over HTTP on loopback, serving the fixture charts.

``ChartRepo(directory).start()`` serves ``directory`` (``index.yaml`` + ``milvus-<v>.tgz`` as built by
``tests/charts/build.py``) at ``repo.url``; ``ChartRepo.build(directory)`` builds them first.
Use it with ``helm repo add fixture <url>`` or ``helm install ... --repo <url>``.
"""

from __future__ import annotations

import functools
import importlib.util
import http.server
import sys
import threading
from pathlib import Path

_CHARTS_DIR = Path(__file__).resolve().parent.parent / "charts"


def build_fixture_charts(out_dir, versions=None, helm=None) -> list[Path]:
    """Build the fixture charts into ``out_dir`` (skipped when already up to date)."""
    return _build_module().build_charts(out_dir, versions=versions, helm=helm)


def _build_module():
    """tests/charts/build.py, loaded by path (tests/charts is not a package)."""
    name = "_milvusops_fixture_chart_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _CHARTS_DIR / "build.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".yaml": "application/x-yaml", ".tgz": "application/gzip"}

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)   # tests count what a run downloaded
        super().do_GET()


class ChartRepo:
    def __init__(self, directory, host: str = "127.0.0.1", port: int = 0):
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._server = None
        self._thread = None
        self._url = None

    @classmethod
    def build(cls, directory, versions=None, helm=None, **kw) -> "ChartRepo":
        build_fixture_charts(directory, versions=versions, helm=helm)
        return cls(directory, **kw)

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("chart repository not started")
        return self._url

    def start(self) -> "ChartRepo":
        if not (self.directory / "index.yaml").is_file():
            raise FileNotFoundError(f"{self.directory}/index.yaml missing: build the charts first")
        handler = functools.partial(_Handler, directory=str(self.directory))
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._server.requests = []
        self._url = f"http://{self.host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="chartrepo",
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def requests(self) -> list[str]:
        """The paths requested so far, in order (index.yaml, milvus-<version>.tgz, ...)."""
        return list(self._server.requests) if self._server is not None else []

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

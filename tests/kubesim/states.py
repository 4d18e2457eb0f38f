"""Starting states of simulated Milvus clusters (``states.yaml``) and their helm install command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

STATES_FILE = Path(__file__).resolve().parent / "states.yaml"


@dataclass(frozen=True)
class State:
    """One starting state: what to install and what the installed release must look like."""

    name: str
    chart: str
    release: str
    namespace: str
    description: str = ""
    image_repository: str | None = None
    image_tag: str | None = None
    set: tuple = ()                      # ((dotted key, value), ...) in file order
    expect: dict = field(default_factory=dict)

    def with_target(self, release: str | None = None, namespace: str | None = None) -> "State":
        """The same state installed under another release name and/or namespace."""
        return State(self.name, self.chart, release or self.release, namespace or self.namespace,
                     self.description, self.image_repository, self.image_tag, self.set, self.expect)

    def set_flags(self) -> list[str]:
        """``--set`` arguments, image first, exactly as an operator would type them."""
        flags = []
        if self.image_repository:
            flags += ["--set", f"image.all.repository={self.image_repository}"]
        if self.image_tag:
            flags += ["--set", f"image.all.tag={self.image_tag}"]
        for key, value in self.set:
            flags += ["--set", f"{key}={_flag_value(value)}"]
        return flags

    def helm_install_args(self, chart_ref: str = "fixture/milvus") -> list[str]:
        """Arguments after the helm binary for installing this state."""
        return (["install", self.release, chart_ref, "--version", self.chart,
                 "--namespace", self.namespace, "--create-namespace"] + self.set_flags())


def _flag_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_states(path: str | Path | None = None) -> dict[str, State]:
    """All states of ``states.yaml`` (or ``path``) by name, in file order."""
    data = yaml.safe_load(Path(path or STATES_FILE).read_text())
    defaults = data.get("defaults") or {}
    out = {}
    for name, spec in (data.get("states") or {}).items():
        image = spec.get("image") or {}
        out[name] = State(
            name=name,
            chart=str(spec["chart"]),
            release=str(spec.get("release") or defaults.get("release", "rel")),
            namespace=str(spec.get("namespace") or defaults.get("namespace", "milvus")),
            description=str(spec.get("description", "")).strip(),
            image_repository=image.get("repository"),
            image_tag=None if image.get("tag") is None else str(image["tag"]),
            set=tuple((str(k), v) for k, v in (spec.get("set") or {}).items()),
            expect=dict(spec.get("expect") or {}),
        )
    return out


def get_state(name: str, path: str | Path | None = None) -> State:
    states = load_states(path)
    if name not in states:
        raise KeyError(f"unknown state {name!r}; known: {', '.join(states)}")
    return states[name]

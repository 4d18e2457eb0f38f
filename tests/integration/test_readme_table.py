"""The README's "What happens when..." table and the reliability tests stay in step."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def integration_tests():
    names = {}
    for path in (ROOT / "tests" / "integration").glob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names[node.name] = path.name
    return names


def table_rows():
    text = (ROOT / "README.md").read_text()
    section = text.split("## What happens when...", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\|[^|]+\|[^|]+\| `(test_[a-z0-9_]+)` \|$", section, re.MULTILINE)


def test_every_row_names_an_existing_test():
    rows = table_rows()
    assert len(rows) >= 10
    known = integration_tests()
    assert [name for name in rows if name not in known] == []


def test_every_reliability_test_has_a_row():
    rows = set(table_rows())
    reliability = [name for name, file in integration_tests().items() if file == "test_reliability.py"]
    assert reliability and [name for name in reliability if name not in rows] == []

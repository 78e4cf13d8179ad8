"""Only ``store/`` speaks SQL (docs/architecture.md): no SQL text and no ``import duckdb``
anywhere else in the package.

The allow-list is empty: a module that ever needs an exception is named there with the reason,
and must leave the list as soon as it is clean (the test says so).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ecobasin"

#: module (relative to src/ecobasin) -> why it may hold SQL; empty since the re-layout's last step
ALLOWED: dict[str, str] = {}

#: SQL statements as people write them in this code base: upper-case keywords
_SQL = re.compile(
    r"\b(SELECT\b[\s\S]+?\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+)?(?:TABLE|VIEW|INDEX|SEQUENCE)|DROP\s+TABLE|"
    r"ALTER\s+TABLE|WITH\s+\w+\s+AS\s*\()"
)


def offences(source: str) -> list[str]:
    """What in ``source`` is SQL: ``import duckdb`` lines and string literals holding SQL.

    >>> offences("import duckdb")
    ['line 1: import duckdb']
    >>> offences("q = 'SELECT site_id FROM sites'")
    ["line 1: SQL 'SELECT site_id FROM'"]
    >>> offences("label = 'Select a city from the list'")
    []
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] == "duckdb" for a in node.names
        ):
            found.append(f"line {node.lineno}: import duckdb")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "duckdb":
            found.append(f"line {node.lineno}: from duckdb import …")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _SQL.search(node.value)
            if match:
                found.append(f"line {node.lineno}: SQL {match.group(0)[:60]!r}")
    return found


def _modules() -> dict[str, list[str]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("store/"):
            continue
        hits = offences(path.read_text(encoding="utf-8"))
        if hits:
            found[name] = hits
    return found


def test_no_sql_outside_store() -> None:
    unexpected = {name: hits for name, hits in _modules().items() if name not in ALLOWED}
    assert unexpected == {}, "SQL outside store/: move it into a store module"


def test_allow_list_only_shrinks() -> None:
    clean = sorted(set(ALLOWED) - set(_modules()))
    assert clean == [], f"no SQL left in {clean}: remove them from ALLOWED"


@pytest.mark.parametrize(
    "source",
    [
        "import duckdb",
        "import duckdb.typing",
        "from duckdb import DuckDBPyConnection",
        "con.execute('SELECT count(*) FROM observations')",
        "con.execute(f'DELETE FROM {table} WHERE id = ?')",
        "sql = '''\nINSERT INTO sites (site_id)\nVALUES (?)'''",
    ],
)
def test_the_check_sees_sql(source: str) -> None:
    assert offences(source)

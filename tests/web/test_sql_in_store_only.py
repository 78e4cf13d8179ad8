"""The web modules whose SQL moved to ``store/`` hold none again (no query text, no
``execute``/``sql`` calls on a cursor); the store modules are where it lives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ecobasin

PACKAGE = Path(ecobasin.__file__).parent
#: Web modules that read the store only through services and store functions.
WITHOUT_SQL = ("web/api/live.py", "web/pages/dashboard.py", "web/pages/forecast.py",
               "web/air.py", "web/pages/noise.py", "web/api/noise.py")  # fmt: skip
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\s+.*\b(FROM|INTO|SET)\b|\.execute\(|\.sql\(")


@pytest.mark.parametrize("module", WITHOUT_SQL)
def test_module_holds_no_sql(module: str) -> None:
    text = (PACKAGE / module).read_text(encoding="utf-8")
    assert SQL.findall(text) == []


def test_the_pattern_finds_the_sql_of_a_store_module() -> None:
    # the check can fail: the same pattern finds the moved queries where they now live
    assert SQL.findall((PACKAGE / "store" / "live.py").read_text(encoding="utf-8"))

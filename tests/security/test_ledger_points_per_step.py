"""Issue 13, item 4: behaviour rule sets take the points-per-step shape other schemes publish
(碳碳星球, Wuhan: 0.02 points per step, 1 point = 1 g; carbon brief §3) beside grams per block of N
steps, in the rules and in the conformance kind ``behaviour_reduction`` (rule keys
``points_per_step`` and ``g_per_point`` beside ``g_per_<N>_steps``)."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecobasin.carbon import rules
from ecobasin.carbon.ledger import Event
from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.store import ledger as store_ledger
from store_files import new_store_file

WUHAN = """
id = "wuhan-style"
version = "1"
valid_from = "2024-01-01"
[points]
rounding = "floor"
[behaviours.walking]
method = "steps"
unit = "step"
points_per_step = "0.02"          # 碳碳星球: 0.02 pt per step
g_per_point = "1"                 # 1 pt = 1 g
daily_cap_points = "400"
dedupe = "daily"
evidence = ["phone_steps"]
"""


def test_conformance_kind_takes_both_step_shapes(tmp_path: Path) -> None:
    cases = [
        {"kind": "behaviour_reduction",
         "input": {"behaviour": "walking", "steps": 12345,
                   "rule": {"points_per_step": 0.02, "g_per_point": 1}}},
        {"kind": "behaviour_reduction",
         "input": {"behaviour": "walking", "steps": 12000,
                   "rule": {"g_per_500_steps": 8.2, "points_per_500_steps": 1}}},
    ]  # fmt: skip
    file = tmp_path / "steps.jsonl"
    file.write_text("\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["conformance", str(file)])
    assert result.exit_code == 0, result.output
    outputs = [json.loads(x)["output"] for x in result.stdout.splitlines() if x.startswith("{")]
    # 12 345 × 0.02 = 246.9 → 246 whole points; 246.9 g
    assert outputs[0] == {"reduction_gCO2": 246.9, "points": 246}
    assert outputs[1] == {"reduction_gCO2": 196.8, "points": 24}


def test_points_per_step_rule_set_credits_the_ledger(tmp_path: Path) -> None:
    chosen = rules.parse_rule_set(tomllib.loads(WUHAN))
    walking = chosen.rule("walking")
    credit = walking.credit(Decimal(12345))
    assert (credit.points, credit.grams) == (Decimal(246), Decimal("246.900"))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with Store(new_store_file(tmp_path / "steps.duckdb")) as store:  # as a new file opens
        store_ledger.add_account(store, "alice", "person", "Alice")
        done = store_ledger.record_events(
            store,
            [
                Event("s1", "alice", "walking", yesterday, Decimal(12345), "phone_steps"),
                Event("s2", "bob", "walking", yesterday, Decimal(30000), "phone_steps"),
            ],
            chosen,
        )
        assert [e.points for e in done.entries] == [Decimal(246)]
        assert [r.code for r in done.rejections] == ["unknown_account"]
        assert store_ledger.balance(store, "alice").grams == Decimal("246.9")
        assert store_ledger.verify(store).ok
    mixed = WUHAN.replace('g_per_point = "1"', 'g_per_point = "1"\ng_per_block = "8.2"')
    with pytest.raises(rules.RuleError, match="not both shapes"):
        rules.parse_rule_set(tomllib.loads(mixed))

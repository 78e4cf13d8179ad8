"""``GET /api/v1/aqi/levels`` carries the health effects and recommended measures of each AQI
level word for word as HJ 633-2012 Table 2 gives them, and HJ 633-2026 Table 1's wording (issue
15, persona 3; ../shared/reference/air_standards.md §1.6). The texts below are typed from the
standard, not read from the catalogue the API serves."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from ecobasin.web import create_app

from .conftest import build_store

#: HJ 633-2012 Table 2, 对健康影响情况 and 建议采取的措施, levels 1–6.
EFFECTS_2012 = (
    "空气质量令人满意，基本无空气污染",
    "空气质量可接受，但某些污染物可能对极少数异常敏感人群健康有较弱影响",
    "易感人群症状有轻度加剧，健康人群出现刺激症状",
    "进一步加剧易感人群症状，可能对健康人群心脏、呼吸系统有影响",
    "心脏病和肺病患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状",
    "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病",
)
ADVICE_2012 = (
    "各类人群可正常活动",
    "极少数异常敏感人群应减少户外活动",
    "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼",
    "儿童、老年人及心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻练，一般人群适量减少户外运动",
    "儿童、老年人和心脏病、肺病患者应停留在室内，停止户外运动，一般人群减少户外运动",
    "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动",
)
#: HJ 633-2026 Table 1: the effects that changed (易感人群 → 敏感人群; the heart → the
#: cardiovascular system), as the first words of each.
EFFECTS_2026_START = {
    3: "敏感人群症状有轻度加剧",
    4: "进一步加剧敏感人群症状，可能对健康人群心血管系统、呼吸系统有影响",
    5: "心血管系统和呼吸系统患者",
}


def _advice_2026(advice_2012: str) -> str:
    """HJ 633-2026 Table 1's measures: 儿童 → 青少年儿童, 心脏病 → 心血管系统疾病."""
    return advice_2012.replace("儿童", "青少年儿童").replace("心脏病", "心血管系统疾病")


def test_levels_carry_the_health_texts_of_both_generations(tmp_path: Path) -> None:
    with TestClient(create_app(build_store(tmp_path / "levels.duckdb"))) as client:
        answer = client.get("/api/v1/aqi/levels")
    assert answer.status_code == 200, answer.text
    levels = answer.json()["levels"]
    assert [lv["level"] for lv in levels] == [1, 2, 3, 4, 5, 6]
    assert [lv["health_zh"] for lv in levels] == list(EFFECTS_2012)
    assert [lv["advice_zh"] for lv in levels] == list(ADVICE_2012)
    assert [lv["advice_zh_2026"] for lv in levels] == [_advice_2026(a) for a in ADVICE_2012]
    for lv in levels:
        start = EFFECTS_2026_START.get(lv["level"])
        if start is None:
            assert lv["health_zh_2026"] == lv["health_zh"], lv["level"]
        else:
            assert lv["health_zh_2026"].startswith(start), lv["level"]
            assert lv["health_zh_2026"] != lv["health_zh"]
    # every level has its English text too (the page shows it in English)
    assert all(lv["health_en"] and lv["advice_en"] for lv in levels)

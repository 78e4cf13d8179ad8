"""Demo content of rectification cases and key tasks (issue 18), so every supervision page and
route has content: tasks of the six campaigns in every state (overdue, due soon, in public
notice, closed), a published petition, a joint case on the Minjiang between Meishan and Leshan
linking both sides' sections, and a key-task plan with a consultation decision among its tasks.

Illustrative: the problems, units and plan are invented for the demo (no real case). Every step
goes through :mod:`ecobasin.services.cases` with the role the policy would name, as the API's do;
the demo users (``demo_so``, ``demo_cd_lead``, ``demo_ms_jo``, ``demo_ls_jo`` …) hold the case
roles and the demo administrator holds the supervision office and province roles to browse.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import openpyxl

from ecobasin.services import cases as service
from ecobasin.services import inspections as inspections_service
from ecobasin.services import keytasks as keytasks_service
from ecobasin.store import cases as store_cases
from ecobasin.store.database import Store
from ecobasin.workflow.cases import ACCEPTANCE_CRITERIA, Link, categories

__all__ = ["ROLES", "install"]

#: Demo case roles: (user, role, city, unit)
ROLES = (
    ("admin", "supervision_office", None, ""),
    ("admin", "province", None, ""),
    ("demo_so", "supervision_office", None, ""),
    ("demo_prov", "province", None, ""),
    ("demo_cd_office", "city_office", 510100, ""),
    ("demo_cd_lead", "lead_unit", 510100, "成都市生态环境局"),
    ("demo_ms_jo", "joint_office", 511400, ""),
    ("demo_ls_jo", "joint_office", 511100, ""),
    ("demo_ms_lead", "lead_unit", 511400, "眉山市生态环境局"),
    ("demo_ls_lead", "lead_unit", 511100, "乐山市生态环境局"),
    ("demo_ms_office", "city_office", 511400, ""),
    ("demo_ls_office", "city_office", 511100, ""),
)
_PROBLEMS = (
    ("vocs", "某工业园区涂装企业VOCs收集不到位", 510100),
    ("noise_cooking_fumes", "商业街餐饮油烟净化设施未正常运行", 510100),
    ("clean_energy_substitution", "城郊燃煤小锅炉未按期淘汰", 510600),
    ("construction_sites", "地铁工地裸土未覆盖、渣土车未密闭", 510100),
    ("urban_rural_fringe", "城乡结合部露天焚烧秸秆和散乱污作坊", 510700),
    ("mobile_sources", "非道路移动机械冒黑烟、未编码登记", 510900),
)


def _png(color: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, format="PNG")
    return out.getvalue()


def _task_to(store: Store, category: str, title: str, city: int, stop: str, at: datetime) -> str:
    """Register a task and run it up to ``stop`` (transferred … closed)."""
    case = service.register(
        store, "task",
        {"source_type": "inspection_feedback", "title": title, "problem_text": f"督察反馈：{title}。",
         "category": category, "city_code": city, "inspection": "省级第三轮第四批（演示）",
         "location_text": f"{city} 演示点位"},
        "demo_so", "supervision_office", at,
    )  # fmt: skip
    lead = f"{city} 牵头单位"
    steps: list[tuple[str, str, dict[str, object]]] = [
        ("transfer", "supervision_office", {"lead_unit": lead, "acceptance_level": "city",
         "rectify_due": (at + timedelta(days=40)).date(), "term_type": "限期"}),
        ("accept", "lead_unit", {"contact": "演示联系人"}),
        ("submit_plan", "lead_unit", {"measures": [{"text": "完成整改", "owner": lead,
         "due": (at + timedelta(days=30)).date(), "deliverable": "整改前后照片"}], "target": "问题清零"}),
        ("approve_plan", "supervision_office", {}),
        ("report_progress", "lead_unit", {"narrative": "已完成整改", "percents": {0: 100}}),
        ("request_acceptance", "lead_unit", {"self_check": "自查合格"}),
        ("start_check", "city_office", {"team": "市级验收组", "check_date": (at + timedelta(days=35)).date()}),
        ("pass", "city_office", {"opinion": "整改到位，同意销号", "criteria": [(c, True, "") for c in ACCEPTANCE_CRITERIA],
         "onsite_record": "现场核查：问题已整改", "signatures": ["验收组长", "成员"]}),
        ("close", "city_office", {}),
    ]  # fmt: skip
    order = [s[0] for s in steps]
    day = at
    for action, role, facts in steps[: order.index(stop) + 1]:
        day += timedelta(days=1 if action != "close" else 20)
        if action == "request_acceptance":
            for i, kind in enumerate(categories()[category].evidence):
                phase = "before" if kind == "photo_before" else "after"
                content = _png(("#8a6", "#6a8", "#68a", "#a86", "#86a")[i % 5])
                service.attach(
                    store,
                    case.case_id,
                    content + kind.encode(),
                    f"{kind}.png",
                    kind,
                    phase,
                    "demo",
                    "lead_unit",
                    day,
                )
        service.act(store, case.case_id, action, "demo", role, dict(facts), day)
    return case.case_id


def _joint(store: Store, at: datetime) -> str:
    """The Minjiang boundary case between Meishan (upstream) and Leshan, both sections linked."""
    links = []
    for city in (511400, 511100):
        sections = store.sites(kinds=["water_section"], cities=[city])
        if not sections.empty:
            site = str(sections["site_id"].iloc[0])
            links.append(Link("water_section", site, f"/water/section/{site}"))
    joint = service.register(
        store, "joint",
        {"source_type": "joint_inspection", "title": "岷江眉山—乐山交界断面总磷超标",
         "problem_text": "联动督察发现交界断面总磷浓度超过III类标准，两地沿河排口整治不到位。",
         "category": "other", "jurisdictions": [511400, 511100],
         "standard": "交界断面月均总磷稳定达到III类（≤0.2 mg/L），沿河排口全部整治销号", "links": tuple(links)},
        "demo_ms_jo", "joint_office", at,
    )  # fmt: skip
    for user, city in (("demo_ms_jo", 511400), ("demo_ls_jo", 511100)):
        service.act(store, joint.case_id, "sign_transfer", user, "joint_office", {"city": city}, at)
    service.act(
        store, joint.case_id, "transfer", "demo_ms_jo", "joint_office",
        {"rectify_due": (at + timedelta(days=120)).date(),
         "leads": {511400: "眉山市生态环境局", 511100: "乐山市生态环境局"}}, at,
    )  # fmt: skip
    side = store_cases.cases(store, parent=joint.case_id, city=511400)[0]
    service.act(
        store, side.case_id, "accept", "demo_ms_lead", "lead_unit", {"contact": "眉山联系人"}, at
    )
    return joint.case_id


def _petition(store: Store, at: datetime) -> str:
    p = service.register(
        store, "petition",
        {"source_type": "petition", "title": "小区楼下烧烤油烟扰民", "problem_text": "群众来电反映（演示）",
         "category": "noise_cooking_fumes", "city_code": 510100},
        "demo_so", "supervision_office", at,
    )  # fmt: skip
    for action, role, facts in (
        ("transfer", "supervision_office", {"lead_unit": "成都市生态环境局", "batch": "第1批"}),
        ("verify", "lead_unit", {"verdict": "属实"}),
        ("handle", "lead_unit", {"narrative": "已责令安装油烟净化器"}),
        ("publish", "supervision_office", {}),
    ):
        service.act(store, p.case_id, action, "demo", role, dict(facts), at)
    return p.case_id


def _key_tasks(store: Store, year: int, at: datetime) -> int:
    keytasks_service.create_plan(
        store, f"cdp-{year}", year, f"成都平原经济区{year}年生态环境联防联控重点任务（演示）",
        "八市联席会议", "illustrative demo list, not an official document",
    )  # fmt: skip
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["方面", "编号", "任务", "牵头单位", "配合单位", "成果", "完成时限"])
    rows = [
        (
            "共治跨界污染",
            "1",
            "岷江、沱江交界断面联合监测",
            "成都市、眉山市",
            "乐山市",
            "月度通报",
            date(year, 12, 31),
        ),
        (
            "共治跨界污染",
            "2",
            "大气重污染联合预警会商",
            "成都市",
            "德阳市、绵阳市",
            "会商纪要",
            date(year, 6, 30),
        ),
        ("推进绿色转型", "3", "清洁生产审核", "德阳市", "", "审核报告", date(year, 9, 30)),
        (
            "推进绿色转型",
            "4",
            "非道路移动机械统一编码登记",
            "遂宁市",
            "资阳市",
            "登记台账",
            date(year, 3, 31),
        ),
        (
            "共建生态屏障",
            "5",
            "龙泉山城市森林公园生态修复",
            "成都市",
            "资阳市",
            "修复方案",
            date(year, 11, 30),
        ),
    ]
    for row in rows:
        sheet.append(list(row))
    sheet.append(["共建生态屏障", "", "缺少编号的行（演示：被隔离）", "雅安市", "", "", "明年"])
    data = io.BytesIO()
    book.save(data)
    result = keytasks_service.import_xlsx(
        store, data.getvalue(), f"cdp-{year}", at, "demo_tasks.xlsx"
    )
    keytasks_service.from_decision(
        store, f"cdp-{year}", "consultation_decision", "monthly-demo",
        "/api/v1/consultation/sessions", "会商议定：重污染期间开展跨市联合执法检查", ["德阳市"],
        date(year, 4, 30), at,
    )  # fmt: skip
    keytasks_service.report(
        store, f"cdp-{year}/2", "report_progress", "demo", at, 60, "已开展两次联合会商", []
    )
    return int(result["imported"]) + 1


def _inspection(store: Store, linked_case: str, at: datetime) -> int:
    """An illustrative provincial inspection of Chengdu and Deyang with its feedback problems:
    two open tasks, one links a case already open, one row (a city not inspected) kept aside."""
    made = inspections_service.create_inspection(store, {
        "title": "示例省级督察第三轮 illustrative provincial round", "kind": "provincial",
        "inspector": "示例省督察组 demo inspection team", "started_on": at.date(),
        "ended_on": at.date() + timedelta(days=10), "cities": [510100, 510600]},
        "demo_so", at, [510100, 510600, 510700, 510900, 511100, 511400, 511800, 512000])  # fmt: skip
    inspections_service.add_problems(store, made["inspection_id"], [
        {"item_no": "1", "city": 510100, "category": "vocs", "text": "示例：汽修喷涂废气未收集处理"},
        {"item_no": "2", "city": 510600, "category": "construction_sites",
         "text": "示例：工地裸土未覆盖、车辆未冲洗"},
        {"item_no": "3", "city": 510100, "category": "mobile_sources",
         "text": "示例：与已交办案件同一问题", "case_id": linked_case},
        {"item_no": "4", "city": 511100, "category": "vocs", "text": "示例：非本轮督察城市（另存）"},
    ], "demo_so", "supervision_office", at, source="demo")  # fmt: skip
    return int(made["inspection_id"])


def install(store: Store, now: datetime | None = None) -> dict[str, object]:
    """Install the demo cases and key tasks around ``now`` (default: the current instant)."""
    at = (now or datetime.now(UTC)) - timedelta(days=60)
    if store_cases.cases(store):
        return {}
    for user, role, city, unit in ROLES:
        store_cases.grant_role(store, user, role, city, unit, "demo", at)
    stops = ("transferred", "in_progress", "public_notice", "closed")
    stop_action = {
        "transferred": "transfer",
        "in_progress": "report_progress",
        "public_notice": "pass",
        "closed": "close",
    }
    made = []
    today = now or datetime.now(UTC)
    # days before today each task starts: overdue plan, overdue rectification, in its notice,
    # closed, plan due soon, rectification running (the board shows every kind of row)
    starts = (50, 45, 10, 70, 37, 30)
    for i, (category, title, city) in enumerate(_PROBLEMS):
        stop = stops[i % len(stops)]
        start = today - timedelta(days=starts[i])
        made.append(_task_to(store, category, title, city, stop_action[stop], start))
    joint = _joint(store, today - timedelta(days=20))
    petition = _petition(store, at)
    tasks = _key_tasks(store, at.year, at)
    inspection = _inspection(store, made[0], at)
    return {"tasks": len(made), "joint": joint, "petition": petition, "key_tasks": tasks,
            "inspection": inspection}  # fmt: skip

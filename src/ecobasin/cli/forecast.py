"""``ecobasin forecast``: train, run, backtest, verify, adjust, warnings and hourly."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape

from ecobasin.cli.common import (
    DbOption,
    RegionOption,
    console,
    fail,
    fail_with,
    load_region,
    open_store,
    settings,
    table,
)
from ecobasin.errors import InputError, NotFound
from ecobasin.forecast import issue
from ecobasin.forecast import models as fm
from ecobasin.forecast.backtest import backtest as run_backtest
from ecobasin.forecast.guidance import blend_members
from ecobasin.services import forecast as forecast_service
from ecobasin.services import forecast_hourly as hourly_service
from ecobasin.services import forecast_verification as verification_service
from ecobasin.store import Store
from ecobasin.store import met_forecast as smf

app = typer.Typer(
    help="Air-quality forecasts and heavy-pollution warnings 空气质量预报与重污染预警.",
    no_args_is_help=True,
)

NoMet = Annotated[
    bool, typer.Option("--no-met", help="Ignore meteorology 不使用气象数据.", show_default=False)
]
ModelName = Annotated[str, typer.Option("--model", help="Saved model name 模型名称.")]


class MetMode(StrEnum):
    """Which meteorology a backtest uses."""

    forecast = "forecast"  # met forecasts as issued, only those known on the issue day
    observed = "observed"  # the observed weather as a perfect forecast
    none = "none"


MetOption = Annotated[
    MetMode,
    typer.Option(
        "--met",
        help="Meteorology: forecasts as issued (met_forecasts), observed (as a perfect forecast) "
        "or none 气象输入：当时发布的预报、实况或不用.",
    ),
]


def met_inputs(
    store: Store, mode: MetMode, *, end: date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """City daily pollutants and the meteorology of ``mode``; forecasts only as issued up to
    the issue time of ``end`` (they are read as known on each issue day anyway)."""
    try:
        return forecast_service.model_inputs(store, mode.value, end)
    except NotFound as error:
        raise fail_with(error) from None


MET_NOTES: dict[str, str] = {
    "forecast": "with meteorological forecasts as issued 使用当时可得的气象预报",
    "observed": "with observed meteorology as a perfect forecast 以实况气象代替完美预报",
    "none": "without meteorology 不使用气象数据",
}


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{what} {text!r} is not a date YYYY-MM-DD 日期格式错误") from None


def _required_day(text: str, what: str) -> date:
    day = _day(text, what)
    assert day is not None
    return day


def _scores_view(scores: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "model",
        "lead",
        "n",
        "level_acc",
        "within_one",
        "range_hit",
        "primary_acc",
        "pm25_rmse",
        "o3_rmse",
        "aqi_rmse",
        "aqi_bias",
        "ts_100",
        "ts_200",
        "skill_pm25_persistence",
        "skill_pm25_climatology",
    ]
    return scores[[c for c in cols if c in scores]].round(3)


@app.command()
def train(
    name: Annotated[str, typer.Option(help="Name to save the model under 模型名称.")] = "default",
    train_from: Annotated[
        str | None, typer.Option("--from", help="First issue day 起始日.")
    ] = None,
    train_to: Annotated[str | None, typer.Option("--to", help="Last target day 截止日.")] = None,
    met_mode: MetOption = MetMode.observed,
    no_met: NoMet = False,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Train persistence, climatology and LightGBM and the issued blend of them (weights
    learnt on the latest 20 % of the training days) and save them 训练模型（含融合权重）."""
    config = settings(db, region)
    mode = MetMode.none if no_met else met_mode
    cfg = fm.GBMConfig(use_met=mode != MetMode.none)
    with open_store(config) as store:
        daily, met = met_inputs(store, mode)
        if daily.empty:
            raise fail("no daily air-quality data in the store: import observations first")
        end = _day(train_to, "--to") or pd.Timestamp(daily["day"].max()).date()
        console.print(f"training 训练 on {len(daily):,} city-days up to {end} …")
        days = pd.DatetimeIndex(sorted(daily["day"].unique()))
        guidance, guide = forecast_service.guidance_inputs(store, daily, days, list(cfg.leads))
        try:
            models, meta = fm.train_bundle(
                daily,
                met,
                train_end=end,
                train_start=_day(train_from, "--from"),
                config=cfg,
                guidance=blend_members(guidance),
            )
        except ValueError as error:
            raise fail(str(error)) from None
        meta["guidance"] = guide  # the model's runs it blends (None: no guidance stored)
        forecast_service.save_model(store, name, models, meta)
    if not meta["with_meteorology"]:
        console.print("[yellow]no meteorology: the model runs without it 无气象数据[/]")
    held = pd.DataFrame(
        [
            {
                "pollutant|lead": k,
                **{c: x for c, x in v.items() if c != "weights"},
                **{f"w_{m}": w for m, w in v.get("weights", {}).items()},  # the blend's weights
            }
            for k, v in meta.get("scores", {}).items()
        ]
    )
    if not held.empty:
        console.print(table(held.round(3), "held-out (latest 20 % of training days) 验证集"))
    console.print(
        f"[green]saved 已保存[/] model {name!r}: {meta['trained_from']} → {meta['trained_to']}, "
        f"cities {', '.join(meta['cities'])}, pollutants {', '.join(meta['pollutants'])}"
    )


def _load(store: Store, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return forecast_service.load_model(store, name)
    except NotFound as error:
        raise fail_with(error) from None


@app.command()
def run(
    day: Annotated[str, typer.Option("--date", help="Issue day (data up to it) 发布日.")],
    model: ModelName = "default",
    author: Annotated[str | None, typer.Option(help="Who runs it 发布人.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Forecast day +1 … +7 for every city from data up to --date, store it with warnings and
    the 72-hour hourly forecast (when the hours allow one) 预报（含预警和逐小时预报）."""
    config = settings(db, region)
    issue_day = _required_day(day, "--date")
    who = author or getpass.getuser()
    with open_store(config) as store:
        models, meta = _load(store, model)
        saved = meta.get("met_mode", "observed" if meta["with_meteorology"] else "none")
        daily, met = met_inputs(store, MetMode(saved), end=issue_day)
        if daily.empty or pd.Timestamp(daily["day"].max()).date() < issue_day - timedelta(days=2):
            raise fail(f"no air-quality data up to {issue_day}: nothing to forecast from")
        if meta["with_meteorology"] and (
            met is None or pd.Timestamp(met["day"].max()).date() <= issue_day
        ):
            console.print(
                "[yellow]model trained with meteorology, but no meteorological forecast after "
                f"{issue_day} is stored: it runs with them missing 缺少气象预报[/]"
            )
        guidance = None
        if meta.get("guidance"):
            guidance, _ = forecast_service.guidance_inputs(
                store, daily, pd.DatetimeIndex([issue_day]), list(meta["leads"]), meta["guidance"]
            )
        forecasts, warnings = issue.forecast_frames(
            models,
            meta,
            daily,
            met,
            issue_day,
            model,
            who,
            issued_at=datetime.now(UTC),
            guidance=guidance,
        )
        forecast_service.publish(store, forecasts, warnings, issue_day, model)
        _issue_hourly(store, issue_day)
    aqi = forecasts[(forecasts["parameter"] == "AQI") & forecasts["model"].str.startswith("light")]
    view = pd.DataFrame(
        {
            "city 城市": aqi["scope_id"],
            "day 日期": pd.to_datetime(aqi["target_day"]).dt.strftime("%Y-%m-%d"),
            "lead 时效": aqi["lead"],
            "AQI": aqi["value"].round(0),
            "range 范围": [
                f"{lo:.0f}–{hi:.0f}" for lo, hi in zip(aqi["lower"], aqi["upper"], strict=True)
            ],
            "level 级别": aqi["level"].astype("Int64"),
            "primary 首要污染物": aqi["primary_pollutant"],
        }
    )
    console.print(table(view, f"AQI forecast 空气质量预报 issued {issue_day}"))
    for w in warnings.to_dict("records") if not warnings.empty else []:
        console.print(f"[bold red]{w['scope_id']}[/]: {w['reason_zh']} / {w['reason_en']}")
    typer.echo(forecasts.to_csv(index=False), nl=False)


def _issue_hourly(store: Store, issue_day: date) -> int:
    """Store the hourly forecast of the issue (every city); a note, not a failure, when the
    hours are too few to fit one."""
    try:
        written = hourly_service.issue_hourly(store, issue_day)
    except NotFound as error:
        console.print(
            f"[yellow]no hourly forecast stored 未存储逐小时预报: {escape(str(error))}[/]"
        )
        return 0
    console.print(f"[green]hourly forecast stored 逐小时预报已存储:[/] {written:,} values")
    return written


@app.command()
def backtest(
    test_from: Annotated[str, typer.Option("--from", help="First target day 起始日.")],
    test_to: Annotated[str, typer.Option("--to", help="Last target day 截止日.")],
    train_from: Annotated[
        str | None, typer.Option("--train-from", help="First training day 训练起始日.")
    ] = None,
    refit_every: Annotated[
        int | None, typer.Option(help="Re-train every N days (rolling origin) 滚动重训天数.")
    ] = None,
    met_mode: MetOption = MetMode.observed,
    no_met: NoMet = False,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Rolling-origin backtest of persistence, climatology and LightGBM 回测检验."""
    config = settings(db, region)
    mode = MetMode.none if no_met else met_mode
    with open_store(config, read_only=True) as store:
        daily, met = met_inputs(store, mode)
    try:
        result = run_backtest(
            daily,
            met,
            test_from=_day(test_from, "--from"),
            test_to=_day(test_to, "--to"),
            train_from=_day(train_from, "--train-from"),
            config=replace(fm.GBMConfig(), use_met=mode != MetMode.none),
            refit_every=refit_every,
        )
    except ValueError as error:
        raise fail(str(error)) from None
    met_note = MET_NOTES[str(result.metadata["met_mode"])]
    console.print(
        table(_scores_view(result.scores), f"backtest 回测 {test_from} → {test_to}, {met_note}")
    )
    typer.echo(result.scores.to_csv(index=False), nl=False)


@app.command()
def adjust(
    day: Annotated[str, typer.Option("--date", help="Issue day 发布日.")],
    city: Annotated[str, typer.Option(help="City code 城市代码.")],
    target: Annotated[str, typer.Option("--target", help="Target day 预报日.")],
    aqi: Annotated[str, typer.Option(help="AQI or range, e.g. 80 or 75-105 指数或范围.")],
    reason: Annotated[str, typer.Option(help="Why 调整原因.")],
    model: ModelName = "default",
    primary: Annotated[str | None, typer.Option(help="Primary pollutant 首要污染物.")] = None,
    author: Annotated[str | None, typer.Option(help="Forecaster 预报员.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Adjust a model's AQI forecast; the model's value is kept beside it 人工订正."""
    parts = aqi.replace("–", "-").split("-")
    try:
        nums = [float(p) for p in parts if p.strip()]
    except ValueError:
        raise fail(f"--aqi {aqi!r}: give a number or a range like 75-105") from None
    if not 1 <= len(nums) <= 2 or len(reason.strip()) < 3:
        raise fail("--aqi needs one number or a range, --reason at least 3 characters")
    lo, hi = min(nums), max(nums)
    config = settings(db, region)
    with open_store(config) as store:
        n = forecast_service.adjust_aqi(
            store,
            issue_day=_required_day(day, "--date"),
            city=city,
            target_day=_required_day(target, "--target"),
            model=f"lightgbm:{model}",
            lower=lo,
            upper=hi,
            primary=primary,
            author=author or getpass.getuser(),
            reason=reason.strip(),
        )
    if not n:
        raise fail(f"no stored AQI forecast of {city} for {target} issued {day} by {model!r}")
    console.print(
        f"[green]adjusted 已订正[/] {city} {target}: AQI {lo:.0f}–{hi:.0f} ({escape(reason)})"
    )


@app.command()
def warnings(
    day: Annotated[str | None, typer.Option("--date", help="Issue day 发布日.")] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """List stored heavy-pollution warnings 重污染天气预警列表."""
    config = settings(db, region)
    d = _day(day, "--date")
    with open_store(config, read_only=True) as store:
        rows = forecast_service.warnings(store, start=d, end=d)
    view = (
        rows[["issue_day", "scope", "scope_id", "level", "start_time", "end_time", "reason_en"]]
        if not rows.empty
        else rows
    )
    console.print(table(view, "warnings 预警"))
    typer.echo(json.dumps(rows.astype(str).to_dict("records"), ensure_ascii=False))


@app.command()
def hourly(
    day: Annotated[str, typer.Option("--date", help="Issue day (hours up to its end) 发布日.")],
    city: Annotated[
        list[str] | None, typer.Option("--city", help="City code (repeatable) 城市.")
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Hourly forecast for the 72 hours after --date: PM2.5, PM10, O3, NO2, CO, SO2, O3 8-h and
    the hourly AQI of both rule generations, with ranges; fitted for every city, stored (a rerun
    replaces it) and printed for --city 未来72小时逐小时预报，存储并输出 (CSV on stdout)."""
    config = settings(db, region)
    issue_day = _required_day(day, "--date")
    with open_store(config) as store:
        if _issue_hourly(store, issue_day) == 0:
            raise fail(f"hourly forecast of {issue_day}: too little history (see above)")
        answer = hourly_service.stored(store, issue_day, city)
    if answer is None:
        raise fail(f"no hourly forecast of {issue_day} for {', '.join(city or [])} 无该城市数据")
    values, aqi = answer.values, answer.aqi
    hours = values[["city", "lead_hour", "local_day", "local_hour"]].drop_duplicates()
    new = aqi[aqi["rule_set"] == "HJ633-2026"].merge(hours, on=["city", "lead_hour"])
    every_third = new[new["lead_hour"] % 3 == 0]
    view = pd.DataFrame(
        {
            "city 城市": every_third["city"],
            "hour 时次 (CST)": [
                f"{d} {h:02d}:00"
                for d, h in zip(every_third["local_day"], every_third["local_hour"], strict=True)
            ],
            "lead 时效 [h]": every_third["lead_hour"],
            "AQI (HJ 633-2026)": every_third["aqi"],
            "range 范围": [
                f"{lo}–{hi}"
                for lo, hi in zip(every_third["aqi_lower"], every_third["aqi_upper"], strict=True)
            ],
            "primary 首要污染物": every_third["primary"],
        }
    )
    console.print(table(view, f"hourly AQI 逐小时AQI after {issue_day} (every 3 h 每3小时)"))
    typer.echo(values.to_csv(index=False), nl=False)


@app.command()
def verify(
    city: Annotated[str, typer.Option("--city", help="City code 城市代码.")],
    verify_from: Annotated[
        str | None, typer.Option("--from", help="First target day 起始日 (default: 90 days).")
    ] = None,
    verify_to: Annotated[
        str | None, typer.Option("--to", help="Last target day 截止日 (default: the last).")
    ] = None,
    lang: Annotated[str, typer.Option(help="Labels: zh or en 标签语言.")] = "zh",
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Verify the issued forecasts of a city: scores by lead beside persistence and
    climatology, and the stored hourly forecasts by hour of day 预报检验 (CSV on stdout)."""
    config = settings(db, region)
    cities = [str(c) for c in load_region(config).cities]
    first, last = _day(verify_from, "--from"), _day(verify_to, "--to")
    with open_store(config, read_only=True) as store:
        try:
            result = verification_service.verify(store, city, first, last, cities)
        except InputError as error:
            raise fail_with(error) from None
    title = f"verification 预报检验 {city} {result.start} → {result.end}, {result.issues} issues"
    if result.leads.empty:
        console.print(
            f"[yellow]{title}: no issued forecast paired with observations 无可检验预报[/]"
        )
        return
    for view in _verification_views(result.leads, lang):
        console.print(table(view, title))
    if not result.hours.empty:
        hours = result.hours.round(3).rename(
            columns=_label_map(verification_service.HOUR_LABELS, lang)
        )
        console.print(
            table(
                hours, f"hourly by hour of day 逐小时预报分时次检验 ({result.hourly_issues} issues)"
            )
        )
    typer.echo(result.leads.to_csv(index=False), nl=False)


def _label_map(labels: dict[str, tuple[str, str]], lang: str) -> dict[str, str]:
    return {k: zh if lang == "zh" else en for k, (zh, en) in labels.items()}


#: The two console tables of ``verify``: levels and events, then errors and skill; a group of
#: columns is one cell ("a / b / c").
_VERIFY_TABLES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("n",), ("level_acc",), ("within_one",), ("range_hit",), ("primary_acc",),
     ("pod_100", "far_100", "ts_100"), ("pod_200", "far_200", "ts_200")),
    (("aqi_rmse", "aqi_mae", "aqi_bias"), ("pm25_rmse", "pm25_mae", "pm25_bias"),
     ("o3_rmse", "o3_mae", "o3_bias"), ("skill_pm25_persistence",), ("skill_pm25_climatology",),
     ("skill_aqi_persistence",), ("skill_aqi_climatology",)),
)  # fmt: skip


def _cell(row: Mapping[Any, Any], keys: tuple[str, ...]) -> str:
    """Values of ``keys`` joined by " / " (blank for NaN; skills only on the issued row)."""
    digits = 1 if any(k.endswith(("rmse", "mae", "bias")) for k in keys) else 2
    out = []
    for key in keys:
        value = row.get(key)
        hidden = key.startswith("skill_") and row["model"] != "issued"
        if hidden or value is None or pd.isna(value):
            out.append("—")
        else:
            out.append(str(int(value)) if key == "n" else f"{value:.{digits}f}")
    return " / ".join(out)


def _verification_views(leads: pd.DataFrame, lang: str) -> list[pd.DataFrame]:
    """The console tables by member and lead, headers in ``lang`` (zh or en)."""
    labels = _label_map(verification_service.SCORE_LABELS, lang)
    members = _label_map(verification_service.MEMBER_LABELS, lang)
    zh = lang == "zh"
    views = []
    for groups in _VERIFY_TABLES:
        rows = []
        for row in leads.to_dict("records"):
            cells = {
                "时效" if zh else "lead": f"+{row['lead']}",
                "成员" if zh else "member": members[row["model"]],
            }
            for keys in groups:
                cells[" / ".join(labels[k] for k in keys)] = _cell(row, keys)
            rows.append(cells)
        views.append(pd.DataFrame(rows))
    return views


@app.command("models")
def list_models(db: DbOption = None, region: RegionOption = None) -> None:
    """List saved models with their training span 已保存的模型."""
    config = settings(db, region)
    with open_store(config, read_only=True) as store:
        rows = forecast_service.saved_models(store)
    out = []
    for r in rows.to_dict("records"):
        meta = json.loads(r["metadata"])
        out.append(
            {
                "name": r["name"],
                "created_at": str(r["created_at"]),
                "trained": f"{meta['trained_from']} → {meta['trained_to']}",
                "cities": ",".join(meta["cities"]),
                "pollutants": ",".join(meta["pollutants"]),
                "meteorology": meta["with_meteorology"],
            }
        )
    console.print(table(pd.DataFrame(out), "models 模型"))
    typer.echo(json.dumps(out, ensure_ascii=False))


def import_met_forecast(
    files: Annotated[list[Path], typer.Argument(help="CSV or NetCDF files CSV 或 NetCDF 文件.")],
    db: DbOption = None,
    region: RegionOption = None,
) -> None:
    """Import meteorological forecasts (tidy CSV or CF NetCDF, docs/formats.md) 导入气象预报."""
    from ecobasin.ingest.met_forecast import read_met_forecast

    config = settings(db, region)
    totals: dict[str, int] = {"rows": 0, "inserted": 0, "replaced": 0, "unchanged": 0}
    reasons: dict[str, int] = {}
    failed: list[str] = []
    with open_store(config) as store:
        cities = [int(c) for c in store.cities(region_only=True)["code"]]
        for path in files:
            if not path.exists():
                raise fail(f"no such file 文件不存在: {path}")
            batch = store.begin_batch("met_forecast", path.name)
            try:
                parsed = read_met_forecast(path, cities)
            except (ValueError, OSError) as error:
                failed.append(f"{path.name}: {error}")
                store.finish_batch(batch, {"failed": str(error)})
                continue
            counts = smf.write_met_forecasts(store, parsed.rows, path.name)
            store.reject(parsed.rejects, batch)
            for code in parsed.rejects["reason_code"]:
                reasons[code] = reasons.get(code, 0) + 1
            totals["rows"] += len(parsed.rows)
            for key, n in counts.as_dict().items():
                totals[key] = totals.get(key, 0) + n
            store.finish_batch(batch, {**counts.as_dict(), "rejected": len(parsed.rejects)})
    view = [{"count 计数": k, "value 数值": v} for k, v in totals.items()]
    view += [{"count 计数": f"rejected 拒收: {k}", "value 数值": v} for k, v in reasons.items()]
    console.print(table(pd.DataFrame(view), "met forecasts imported 气象预报导入"))
    if reasons:
        console.print("see the reasons with 查看原因: [bold]ecobasin rejected[/]")
    for line in failed:
        console.print(f"[red]file not imported 文件未导入:[/] {line}")
    if failed:
        raise typer.Exit(1)

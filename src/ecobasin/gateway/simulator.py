"""Simulated HJ 212 field devices: a deterministic fleet and the packets it sends (pure, no I/O).

A fleet is drawn from a seed: enterprise stack-gas CEMS (``gas_outlet``, ST=31), wastewater
outlets (``water_outlet``, ST=32) and ambient air stations (``air_station``, ST=22), placed in the
region's cities, a few of the outlets speaking HJ/T 212-2005 (old factor codes, no QN, Flag=1).
Each :class:`SimDevice` yields its uploads in time order (:meth:`SimDevice.packets`): real-time
2011 every ``interval_s`` (30–60 s), 2051 ten-minute, 2061 hourly and 2031 daily data (HJ 212-2017
表C.14–C.18), with diurnal patterns, data flags (表8: N normal, D fault, M maintenance), occasional
over-limit episodes and duplicate sends. Packets longer than the device's CP limit are split into
sub-packets (Flag.D=1, PNUM/PNO, 表C.49). The network side is :mod:`ecobasin.gateway.loadgen`.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pandas as pd

from ecobasin import catalog
from ecobasin.ingest.hj212 import MAX_SEGMENT, build_segment, encode_frame
from ecobasin.timebase import CST

__all__ = [
    "DEVICE_COLUMNS",
    "KIND_DOMAINS",
    "METER_FACTORS",
    "Control",
    "Factor",
    "Packet",
    "SimDevice",
    "build_fleet",
    "fleet_frames",
    "simulated_fleet",
]

#: Columns of the device frame, as ``ecobasin.gateway.register_devices`` takes it.
DEVICE_COLUMNS = ("mn", "password", "site_id", "protocol", "crc_mode", "enabled", "interval_s")
#: Parameter domains of each simulated site kind (``ecobasin.catalog.parameter_for_code``).
KIND_DOMAINS: dict[str, tuple[str, ...]] = {
    "gas_outlet": ("flue_gas",),
    "water_outlet": ("water",),
    "air_station": ("air", "met"),
}
#: System code ST of each kind (HJ 212-2017 §6.6.1 表5: 31 air emission source, 32 water
#: pollution source, 22 ambient air quality).
KIND_ST = {"gas_outlet": "31", "water_outlet": "32", "air_station": "22"}
_KIND_LETTER = {"gas_outlet": "G", "water_outlet": "W", "air_station": "A"}
_KIND_DIGIT = {"gas_outlet": 1, "water_outlet": 2, "air_station": 3}
#: Kinds in a repeating pattern, so any fleet of 3 or more has every kind (5 : 3 : 2).
_KIND_PATTERN = (
    "gas_outlet",
    "water_outlet",
    "air_station",
    "gas_outlet",
    "water_outlet",
    "gas_outlet",
    "gas_outlet",
    "water_outlet",
    "air_station",
    "gas_outlet",
)
#: Reference O2 for converted (折算) flue-gas concentrations [%]: 6 % for coal-fired boilers of
#: thermal power plants (GB 13223-2011 §4.3 and 表1 note), used with Zs = C·(21−O2ref)/(21−O2)
#: (HJ 75-2017 附录 C).
O2_REFERENCE = 6.0
#: Hourly chance that an episode starts at a device, and its length range [h].
P_OVER_LIMIT, OVER_LIMIT_HOURS = 0.004, (1, 4)
P_FAULT, FAULT_HOURS = 0.002, (1, 6)
P_MAINTENANCE, MAINTENANCE_HOURS = 0.003, (1, 2)
_MAX_EPISODE = max(OVER_LIMIT_HOURS[1], FAULT_HOURS[1], MAINTENANCE_HOURS[1])
#: Chance that a device sends an upload twice (a retry after a lost ack, a history re-send).
P_DUPLICATE = 0.005
#: Largest CP data area (HJ 212-2017 §6.3.2 表3: 0 ≤ n ≤ 950).
MAX_CP = 950
#: Delay after a period ends before its 2051 / 2061 / 2031 upload [s].
_PERIOD_DELAY = {"2051": 5.0, "2061": 15.0, "2031": 45.0}
_PERIOD_SECONDS = {"2051": 600, "2061": 3600, "2031": 86400}
_CST_OFFSET = 8 * 3600


@dataclass(frozen=True, slots=True)
class Factor:
    """One monitored factor of a simulated device.

    Attributes
    ----------
    code : str
        HJ 212-2017 factor code (表B.1/B.2; a05024 as stations send it).
    code_2005 : str or None
        The HJ/T 212-2005 code (原编码), or None when 2005 had none.
    base : float
        Typical level [canonical unit of the parameter registry].
    amplitude : float
        Relative diurnal amplitude (0.2 = ±20 %).
    peak_hour : float
        China Standard Time hour of the diurnal maximum.
    noise : float
        Relative standard deviation of a real-time sample.
    decimals : int
        Decimals sent.
    limit : float or None
        The limit an over-limit episode exceeds [same unit], or None.
    converted : bool
        Flue-gas concentration sent also converted to the reference O2 (``-ZsRtd``, ``-ZsAvg``).
    flow : bool
        A flow: interval packets carry ``-Cou``, the amount [m³].
    scales : bool
        Scaled by the size of the enterprise or the pollution of the city.
    excess : float
        How far over its limit an episode takes it, relative to the episode's factor (pH
        goes a little over 9, concentrations to 1.3–2.2 times their limit).
    """

    code: str
    code_2005: str | None
    base: float
    amplitude: float
    peak_hour: float
    noise: float
    decimals: int
    limit: float | None = None
    converted: bool = False
    flow: bool = False
    scales: bool = True
    excess: float = 1.0


#: Stack-gas CEMS (HJ 75-2017). Limits: ultra-low emission (超低排放) of coal-fired power units,
#: SO2 35, NOx 50, particulates 10 mg/m³ (环发〔2015〕164号), on converted values.
GAS_FACTORS = (
    Factor("a21026", "02", 22.0, 0.25, 11.0, 0.08, 2, limit=35.0, converted=True),
    Factor("a21002", "03", 30.0, 0.20, 10.0, 0.06, 1, limit=50.0, converted=True),
    Factor("a34013", "01", 4.0, 0.30, 12.0, 0.12, 2, limit=10.0, converted=True),
    Factor("a19001", "S01", 8.5, 0.05, 3.0, 0.02, 1, scales=False),
    Factor("a01012", "S03", 52.0, 0.05, 14.0, 0.01, 1, scales=False),
    Factor("a01011", "S02", 11.5, 0.15, 11.0, 0.03, 2, scales=False),
    Factor("a00000", "B02", 140.0, 0.15, 11.0, 0.03, 1, flow=True),
)
#: Sub-meters of a listed enterprise (分表计电, emergency.md §2.2) [kW], sent by its stack's logger
#: with ecobasin's extension codes (parameters.csv: HJ 212-2017 has none): production line and
#: treatment unit. Only devices with ``meters`` send them, with hourly pollutant ``-Cou`` [kg].
METER_FACTORS = (
    Factor("xe0101", None, 900.0, 0.05, 11.0, 0.02, 1, scales=False),
    Factor("xe0201", None, 160.0, 0.03, 11.0, 0.02, 1, scales=False),
)
_PRODUCTION_CODES = frozenset({"a00000", "xe0101"})  # scale with the output kept
_TREATMENT_CODE = "xe0201"


@dataclass(frozen=True, slots=True)
class Control:
    """What a listed enterprise does in a warning window [s since the epoch, simulated time]:
    keeps ``output`` of its production (flow and production power scale, concentrations stay),
    switches its treatment unit off, sends ``flag`` (表8, e.g. M) or sends nothing (``silent``)."""

    start: float
    end: float
    output: float = 1.0
    treatment_off: bool = False
    flag: str | None = None
    silent: bool = False

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


#: Wastewater outlets (HJ 353-2019). Limits: GB 18918-2002 class 1A (COD 50, NH3-N 5, TP 0.5,
#: TN 15 mg/L) and the pH range 6–9 (upper bound).
WATER_FACTORS = (
    Factor("w01018", "011", 28.0, 0.25, 14.0, 0.06, 1, limit=50.0),
    Factor("w21003", "060", 1.8, 0.30, 15.0, 0.08, 3, limit=5.0),
    Factor("w21011", "101", 0.22, 0.25, 15.0, 0.08, 3, limit=0.5),
    Factor("w21001", "065", 8.5, 0.20, 15.0, 0.06, 2, limit=15.0),
    Factor("w00000", "B01", 24.0, 0.40, 13.0, 0.05, 2, flow=True),
    Factor("w01001", "001", 7.2, 0.02, 14.0, 0.01, 2, limit=9.0, scales=False, excess=0.5),
)
#: Ambient air stations (HJ 193-2013); µg/m³ except CO mg/m³. Limits: GB 3095-2012 class 2,
#: 24-h PM2.5 75 and PM10 150, 1-h O3 200 µg/m³ (haze and ozone episodes).
AIR_FACTORS = (
    Factor("a34004", None, 42.0, 0.25, 22.0, 0.10, 0, limit=75.0),
    Factor("a34002", None, 68.0, 0.25, 21.0, 0.10, 0, limit=150.0),
    Factor("a21026", "02", 8.0, 0.20, 10.0, 0.10, 0),
    Factor("a21004", None, 32.0, 0.35, 20.0, 0.10, 0),
    Factor("a05024", None, 70.0, 0.55, 15.0, 0.10, 0, limit=200.0),
    Factor("a21005", "04", 0.7, 0.20, 21.0, 0.08, 3),
)
_KIND_FACTORS = {
    "gas_outlet": GAS_FACTORS,
    "water_outlet": WATER_FACTORS,
    "air_station": AIR_FACTORS,
}


@cache
def _ranges(kind: str) -> dict[str, tuple[float, float]]:
    """Plausible range of each factor code of a kind, from the parameter registry."""
    registry = catalog.parameters()
    out = {}
    extra = METER_FACTORS if kind == "gas_outlet" else ()
    for factor in (*_KIND_FACTORS[kind], *extra):
        parameter = catalog.parameter_for_code(factor.code, KIND_DOMAINS[kind])
        low, high = registry.loc[parameter, ["min_value", "max_value"]].to_numpy(dtype=float)
        out[factor.code] = (float(low), float(high))
    return out


#: Item suffixes that are observations, per command (HJ 212-2017 表4: -Rtd in real-time data,
#: -Avg in interval data, each with its converted -Zs form).
_VALUE_SUFFIXES = {
    "2011": frozenset({"Rtd", "ZsRtd"}),
    "2051": frozenset({"Avg", "ZsAvg"}),
    "2061": frozenset({"Avg", "ZsAvg"}),
    "2031": frozenset({"Avg", "ZsAvg"}),
}


@dataclass(frozen=True, slots=True)
class Packet:
    """One upload of a device, as one frame or several sub-packet frames.

    Attributes
    ----------
    time : float
        When the device sends it [s since the epoch, simulated time].
    cn : str
        Command code (2011, 2051, 2061, 2031).
    data_time : datetime
        DataTime (China Standard Time): the instant for 2011, the period start otherwise.
    frames : tuple of bytes
        The frames to send (several when split into sub-packets, 表C.49).
    qns : tuple of str or None
        Each frame's QN (None for a device that sends none), which its 9014 echoes.
    flag : str
        The data flag of the packet (表8): N, D or M.
    over_limit : bool
        Inside an over-limit episode.
    duplicate : bool
        The device sends it a second time after the first is acknowledged.
    values : int
        Values it carries (``-Rtd`` / ``-Avg`` and their converted ``-Zs`` items, 表4): the
        observations the store must hold once it is acknowledged.
    """

    time: float
    cn: str
    data_time: datetime
    frames: tuple[bytes, ...]
    qns: tuple[str | None, ...]
    flag: str
    over_limit: bool
    duplicate: bool
    values: int = 0


@dataclass(frozen=True, slots=True)
class _Episode:
    kind: str  # "over", "D" (fault) or "M" (maintenance)
    hours: int
    factor: float


@dataclass(eq=False)
class SimDevice:
    """A simulated field device (数采仪) of one site.

    Attributes
    ----------
    index : int
        Position in the fleet.
    seed : int
        The fleet's seed.
    mn : str
        Device id MN, 24 hex characters (HJ 212-2017 表3).
    password : str
        Access password PW (6 digits).
    site_id : str
        The site it belongs to.
    kind : str
        ``gas_outlet``, ``water_outlet`` or ``air_station``.
    city_code : int
        GB/T 2260 city code.
    protocol : str
        ``"2017"`` (HJ 212-2017) or ``"2005"`` (HJ/T 212-2005 codes, no QN, Flag=1).
    interval_s : int
        Real-time (2011) interval [s].
    scale : float
        Size of the enterprise / pollution of the city, applied to scaling factors.
    max_cp : int
        Largest CP data area the device sends before splitting into sub-packets [bytes].
    duplicate_rate : float
        Chance that it sends an upload a second time.
    meters : bool
        Also sends its sub-meters (:data:`METER_FACTORS`) and hourly pollutant ``-Cou``.
    controls : tuple of Control
        What it does in warning windows (cut, treatment off, flags, silence).
    episodes : bool
        Random over-limit, fault and maintenance episodes (False: only the controls act).
    """

    index: int
    seed: int
    mn: str
    password: str
    site_id: str
    kind: str
    city_code: int
    protocol: str
    interval_s: int
    scale: float
    max_cp: int = MAX_CP
    duplicate_rate: float = P_DUPLICATE
    meters: bool = False
    controls: tuple[Control, ...] = ()
    episodes: bool = True
    _draws: dict[int, _Episode | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def st(self) -> str:
        """System code ST (表5)."""
        return KIND_ST[self.kind]

    @property
    def factors(self) -> tuple[Factor, ...]:
        """The factors the device reports."""
        return _KIND_FACTORS[self.kind] + (METER_FACTORS if self.meters else ())

    def control_at(self, t: float) -> Control | None:
        """The warning-time control running at ``t``, if any."""
        return next((c for c in self.controls if c.covers(t)), None)

    @property
    def domains(self) -> tuple[str, ...]:
        """Parameter domains of its site."""
        return KIND_DOMAINS[self.kind]

    # -- values -----------------------------------------------------------------------------
    def _draw(self, hour: int) -> _Episode | None:
        """The episode starting in this hour (deterministic in seed, device and hour)."""
        if not self.episodes:
            return None  # a scripted device (emergency loop): only its controls change it
        if hour in self._draws:
            return self._draws[hour]
        if len(self._draws) > 4096:
            self._draws.clear()
        rng = random.Random((self.seed * 1_000_003 + self.index) * 10_000_019 + hour)
        r = rng.random()
        episode: _Episode | None = None
        if r < P_OVER_LIMIT:
            episode = _Episode("over", rng.randint(*OVER_LIMIT_HOURS), rng.uniform(1.3, 2.2))
        elif r < P_OVER_LIMIT + P_FAULT:
            episode = _Episode("D", rng.randint(*FAULT_HOURS), rng.uniform(0.0, 0.1))
        elif r < P_OVER_LIMIT + P_FAULT + P_MAINTENANCE:
            episode = _Episode("M", rng.randint(*MAINTENANCE_HOURS), rng.uniform(0.8, 1.2))
        self._draws[hour] = episode
        return episode

    def episode_at(self, t: float) -> _Episode | None:
        """The episode running at simulated time ``t`` [s], if any."""
        hour = math.floor(t / 3600)
        for back in range(_MAX_EPISODE):
            episode = self._draw(hour - back)
            if episode is not None and episode.hours > back:
                return episode
        return None

    def level(self, factor: Factor, t: float) -> float:
        """The noiseless level of a factor at time ``t`` [registry unit]: base × size ×
        diurnal cycle × episode."""
        hour = ((t + _CST_OFFSET) % 86400) / 3600
        value = factor.base * (
            1 + factor.amplitude * math.cos(2 * math.pi * (hour - factor.peak_hour) / 24)
        )
        if factor.scales:
            value *= self.scale
        episode = self.episode_at(t)
        if episode is not None:
            if episode.kind == "over" and factor.limit is not None:
                value = max(value, factor.limit) * (1 + (episode.factor - 1) * factor.excess)
            elif episode.kind == "D":
                value *= episode.factor  # a faulty analyser reads near zero
        control = self.control_at(t)
        if control is not None:
            if factor.code in _PRODUCTION_CODES:
                value *= control.output
            elif factor.code == _TREATMENT_CODE and control.treatment_off:
                value = 0.0
        return value

    def _clip(self, factor: Factor, value: float) -> float:
        low, high = _ranges(self.kind)[factor.code]
        return min(max(value, low), high)

    def _fmt(self, factor: Factor, value: float) -> str:
        return f"{self._clip(factor, value):.{factor.decimals}f}"

    def _code(self, factor: Factor) -> str:
        if self.protocol == "2005" and factor.code_2005 is not None:
            return factor.code_2005
        return factor.code

    def _zs(self, o2: float) -> float:
        """Conversion factor to the reference O2: (21 − O2ref) / (21 − O2) (HJ 75-2017 附录 C)."""
        return (21.0 - O2_REFERENCE) / max(21.0 - o2, 1.0)

    def _o2(self, values: dict[str, float]) -> float:
        return values.get("a19001", O2_REFERENCE)

    # -- packets ----------------------------------------------------------------------------
    def realtime_items(self, t: float, rng: random.Random) -> list[tuple[str, str]]:
        """CP items of a 2011 real-time upload at ``t`` (表C.14): ``-Rtd``, ``-ZsRtd``,
        ``-Flag``."""
        flag = self.flag_at(t)
        values = {
            f.code: self._clip(f, self.level(f, t) * (1 + rng.gauss(0, f.noise)))
            for f in self.factors
        }
        zs = self._zs(self._o2(values)) if self.kind == "gas_outlet" else 1.0
        items: list[tuple[str, str]] = []
        for f in self.factors:
            code = self._code(f)
            items.append((f"{code}-Rtd", self._fmt(f, values[f.code])))
            if f.converted and self.protocol == "2017":
                items.append((f"{code}-ZsRtd", self._fmt(f, values[f.code] * zs)))
            items.append((f"{code}-Flag", flag))
        return items

    def interval_items(
        self, start: float, seconds: int, rng: random.Random
    ) -> list[tuple[str, str]]:
        """CP items of a 2051 / 2061 / 2031 upload for the period from ``start`` (表C.15–C.17):
        ``-Min``, ``-Avg``, ``-Max`` (and converted ``-Zs…``), ``-Cou`` for flows, ``-Flag``."""
        mid = start + seconds / 2
        flag = self.flag_at(mid)
        spread = {600: 0.05, 3600: 0.12, 86400: 0.35}[seconds]
        averages = {
            f.code: self._clip(f, self.level(f, mid) * (1 + rng.gauss(0, f.noise / 3)))
            for f in self.factors
        }
        zs = self._zs(self._o2(averages)) if self.kind == "gas_outlet" else 1.0
        items: list[tuple[str, str]] = []
        for f in self.factors:
            code, avg = self._code(f), averages[f.code]
            low = avg * (1 - spread * rng.random() * (1 if f.scales else 0.2))
            high = avg * (1 + spread * rng.random() * (1 if f.scales else 0.2))
            triples = [("", low, avg, high)]
            if f.converted and self.protocol == "2017":
                triples.append(("Zs", low * zs, avg * zs, high * zs))
            for prefix, lo, mean, hi in triples:
                items.append((f"{code}-{prefix}Min", self._fmt(f, lo)))
                items.append((f"{code}-{prefix}Avg", self._fmt(f, mean)))
                items.append((f"{code}-{prefix}Max", self._fmt(f, hi)))
            if f.flow:  # amount over the interval: flow [m³/s or L/s] × seconds
                per_second = avg if self.kind == "gas_outlet" else avg / 1000
                items.append((f"{code}-Cou", f"{per_second * seconds:.1f}"))
            elif self.meters and f.converted and seconds == 3600:
                # hourly mass [kg] = C [mg/m³] × flow [m³/s] × 3600 s × 10⁻⁶ (emergency.md §2.1)
                flow = averages.get("a00000", 0.0)
                items.append((f"{code}-Cou", f"{avg * flow * seconds * 1e-6:.3f}"))
            items.append((f"{code}-Flag", flag))
        return items

    def flag_at(self, t: float) -> str:
        """The data flag at ``t`` (表8): D during a fault, M during maintenance, N otherwise."""
        control = self.control_at(t)
        if control is not None and control.flag:
            return control.flag
        episode = self.episode_at(t)
        if episode is not None and episode.kind in ("D", "M"):
            return episode.kind
        return "N"

    def frames_for(
        self,
        cn: str,
        data_time: datetime,
        items: list[tuple[str, str]],
        *,
        sent: datetime,
        qn_start: int = 0,
    ) -> tuple[tuple[bytes, ...], tuple[str | None, ...]]:
        """Encode an upload, split into sub-packets when its CP exceeds ``max_cp`` (表C.49).

        Each part is a complete frame with its own QN (the send time ``sent``, CST, with a
        per-device counter as milliseconds), Flag with D=1, PNUM and PNO and the same DataTime;
        one factor's items stay in one part.
        """
        cp_time = ("DataTime", f"{data_time:%Y%m%d%H%M%S}")
        groups: list[list[tuple[str, str]]] = []
        for key, value in items:
            code = key.rpartition("-")[0]
            if groups and groups[-1][0][0].rpartition("-")[0] == code:
                groups[-1].append((key, value))
            else:
                groups.append([(key, value)])
        parts: list[list[tuple[str, str]]] = [[]]
        size = len("DataTime=YYYYMMDDhhmmss")
        for group in groups:
            length = sum(len(k) + len(v) + 2 for k, v in group)
            if parts[-1] and size + length > self.max_cp:
                parts.append([])
                size = len("DataTime=YYYYMMDDhhmmss")
            parts[-1].extend(group)
            size += length
        frames: list[bytes] = []
        qns: list[str | None] = []
        for number, part in enumerate(parts, start=1):
            head: dict[str, str] = {}
            qn: str | None = None
            if self.protocol == "2017":
                qn = f"{sent:%Y%m%d%H%M%S}{(qn_start + number) % 1000:03d}"
                head["QN"] = qn
            head.update(ST=self.st, CN=cn, PW=self.password, MN=self.mn)
            version = 4 if self.protocol == "2017" else 0
            if len(parts) > 1:
                head.update(Flag=str(version | 3), PNUM=str(len(parts)), PNO=str(number))
            else:
                head["Flag"] = str(version | 1)
            segment = build_segment(head, [cp_time, *part])
            if len(segment) > MAX_SEGMENT:  # a factor group alone over the limit: a bug here
                raise ValueError(f"{self.mn}: segment of {len(segment)} bytes")
            frames.append(encode_frame(segment))
            qns.append(qn)
        return tuple(frames), tuple(qns)

    def packets(self, start: float) -> Iterator[Packet]:
        """Every upload from simulated time ``start`` [s since the epoch] on, in time order.

        Real-time 2011 every ``interval_s`` from a per-device phase; 2051, 2061 and 2031 a few
        seconds after each 10-minute, hour and day (CST) ends, for the period that ended.
        Deterministic in the fleet seed, the device and ``start``.
        """
        rng = random.Random(f"{self.seed}:{self.index}:{start}")
        phase = (self.index * 7.919) % self.interval_s
        queue: list[tuple[float, str]] = []
        first_rt = start + ((phase - start) % self.interval_s)
        queue.append((first_rt, "2011"))
        for cn, seconds in _PERIOD_SECONDS.items():
            local = start + _CST_OFFSET
            boundary = math.ceil(local / seconds) * seconds - _CST_OFFSET
            queue.append((boundary + _PERIOD_DELAY[cn], cn))
        heapq.heapify(queue)
        sequence = 0
        while True:
            t, cn = heapq.heappop(queue)
            if cn == "2011":
                heapq.heappush(queue, (t + self.interval_s, cn))
                moment = math.floor(t)
                data_time = datetime.fromtimestamp(moment, CST)
                items = self.realtime_items(moment, rng)
                flag_time = float(moment)
            else:
                seconds = _PERIOD_SECONDS[cn]
                heapq.heappush(queue, (t + seconds, cn))
                period_start = t - _PERIOD_DELAY[cn] - seconds
                data_time = datetime.fromtimestamp(period_start, CST)
                items = self.interval_items(period_start, seconds, rng)
                flag_time = period_start + seconds / 2
            control = self.control_at(flag_time)
            if control is not None and control.silent:
                continue  # a silent enterprise sends nothing in its window
            sent = datetime.fromtimestamp(math.floor(t), CST)
            frames, qns = self.frames_for(cn, data_time, items, sent=sent, qn_start=sequence)
            sequence += len(frames)
            episode = self.episode_at(flag_time)
            yield Packet(
                time=t,
                cn=cn,
                data_time=data_time,
                frames=frames,
                qns=qns,
                flag=self.flag_at(flag_time),
                over_limit=episode is not None and episode.kind == "over",
                duplicate=rng.random() < self.duplicate_rate,
                values=sum(self._stored(cn, key) for key, _ in items),
            )

    def hourly_frames(
        self, start: float, hours: int
    ) -> Iterator[tuple[datetime, tuple[bytes, ...]]]:
        """The 2061 hourly uploads of ``hours`` hours from ``start`` [s since the epoch, on an
        hour], each as (DataTime, frames); a silent control's hours are not sent."""
        rng = random.Random(f"{self.seed}:{self.index}:hourly:{start}")
        for i in range(hours):
            period_start = start + i * 3600
            control = self.control_at(period_start + 1800)
            if control is not None and control.silent:
                continue
            data_time = datetime.fromtimestamp(period_start, CST)
            items = self.interval_items(period_start, 3600, rng)
            sent = datetime.fromtimestamp(period_start + 3600 + _PERIOD_DELAY["2061"], CST)
            frames, _qns = self.frames_for("2061", data_time, items, sent=sent, qn_start=i)
            yield data_time, frames

    def _stored(self, cn: str, key: str) -> bool:
        """Whether the store keeps this item: a value, or an hourly pollutant ``-Cou``."""
        code, _, suffix = key.rpartition("-")
        if suffix in _VALUE_SUFFIXES[cn]:
            return True
        return self.meters and cn == "2061" and suffix == "Cou" and code != "a00000"


def build_fleet(count: int, seed: int = 0, region: catalog.Region | None = None) -> list[SimDevice]:
    """A deterministic fleet of simulated devices (same seed, same fleet).

    Kinds repeat the pattern gas, water, air, gas, water, gas, gas, water, air, gas (half stack
    gas, three tenths wastewater, one fifth air stations); every seventh outlet from the fourth
    on speaks HJ/T 212-2005; one in five stacks splits its interval packets into sub-packets.

    Parameters
    ----------
    count : int
        Number of devices.
    seed : int
        The seed.
    region : catalog.Region, optional
        Cities to place sites in (default: the Chengdu Plain Economic Zone).

    Returns
    -------
    list of SimDevice
    """
    if count < 0:
        raise ValueError(f"count={count} must not be negative")
    cities = (region or catalog.load_region()).cities
    rng = random.Random(seed)
    fleet = []
    for index in range(count):
        kind = _KIND_PATTERN[index % len(_KIND_PATTERN)]
        city = cities[rng.randrange(len(cities))]
        protocol = "2005" if kind != "air_station" and index % 7 == 3 else "2017"
        mn = f"{city:06d}{_KIND_DIGIT[kind]:X}{seed & 0xFFFF:04X}{index:013X}"
        fleet.append(
            SimDevice(
                index=index,
                seed=seed,
                mn=mn,
                password=f"{rng.randrange(1_000_000):06d}",
                site_id=f"SIM{seed & 0xFFFF:04X}-{_KIND_LETTER[kind]}{index:05d}",
                kind=kind,
                city_code=city,
                protocol=protocol,
                interval_s=rng.choice((30, 30, 40, 60, 60)),
                scale=rng.uniform(0.6, 1.3),
                max_cp=400 if kind == "gas_outlet" and index % 5 == 0 else MAX_CP,
            )
        )
    return fleet


def fleet_frames(fleet: list[SimDevice]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sites and devices of a fleet, for ``Store.upsert_sites`` and ``register_devices``.

    Returns
    -------
    sites : pandas.DataFrame
        site_id, kind, level, city_code, name_zh, name_en, lon [°E], lat [°N], attributes.
    devices : pandas.DataFrame
        ``DEVICE_COLUMNS``: mn, password, site_id, protocol, crc_mode, enabled, interval_s.
    """
    cities = catalog.cities()
    centres = {
        int(code): (float(lon), float(lat))
        for code, lon, lat in cities[["code", "lon", "lat"]].itertuples(index=False)
    }
    site_rows: list[dict[str, Any]] = []
    device_rows: list[dict[str, Any]] = []
    for device in fleet:
        city = cities.loc[device.city_code]
        jitter = random.Random(f"site:{device.seed}:{device.index}")
        number = device.index + 1
        if device.kind == "air_station":
            name_zh = f"{city['name_zh']}模拟空气站{number}"
            name_en = f"{city['name_en']} simulated air station {number}"
            level = "city"
        else:
            outlet_zh, outlet_en = (
                ("废气排放口", "stack")
                if device.kind == "gas_outlet"
                else ("废水总排口", "wastewater outlet")
            )
            name_zh = f"{city['name_zh']}模拟企业{number}{outlet_zh}"
            name_en = f"{city['name_en']} simulated enterprise {number} {outlet_en}"
            level = "enterprise"
        site_rows.append(
            {
                "site_id": device.site_id,
                "kind": device.kind,
                "level": level,
                "city_code": device.city_code,
                "name_zh": name_zh,
                "name_en": name_en,
                "lon": round(centres[device.city_code][0] + jitter.uniform(-0.2, 0.2), 5),
                "lat": round(centres[device.city_code][1] + jitter.uniform(-0.15, 0.15), 5),
                "attributes": {"simulated": True, "mn": device.mn, "protocol": device.protocol},
            }
        )
        device_rows.append(
            {
                "mn": device.mn,
                "password": device.password,
                "site_id": device.site_id,
                "protocol": device.protocol,
                "crc_mode": "hj212",
                "enabled": True,
                "interval_s": device.interval_s,
            }
        )
    sites = pd.DataFrame(site_rows)
    devices = pd.DataFrame(device_rows, columns=list(DEVICE_COLUMNS))
    devices["interval_s"] = devices["interval_s"].astype("int64")
    devices["enabled"] = devices["enabled"].astype(bool)
    return sites, devices


def simulated_fleet(
    count: int, seed: int = 0, region: catalog.Region | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A deterministic simulated fleet as (sites, devices) frames (see :func:`build_fleet`).

    Parameters
    ----------
    count : int
        Number of devices.
    seed : int
        The seed: the same seed gives the same fleet.
    region : catalog.Region, optional
        Cities to place sites in (default: the Chengdu Plain Economic Zone).

    Returns
    -------
    sites : pandas.DataFrame
        For ``Store.upsert_sites``.
    devices : pandas.DataFrame
        For ``ecobasin.gateway.register_devices``.
    """
    return fleet_frames(build_fleet(count, seed, region))

"""Carbon sinks 碳汇: forest stock difference and gain-loss, area × rate for green space.

Methods (carbon brief §2; IPCC 2006 Vol.4 Ch.2 and Ch.4; NDRC provincial guideline, LUCF):

* biomass carbon of a stem volume: C [t] = V [m³] × SVD [t/m³] × BEF × (1 + R) × CF [t C/t];
* stock difference: ΔC = (C_t2 − C_t1) / (t2 − t1) [t C/a];
* gain-loss: gain = V × GR × chain, loss = (V × consumption rate, or the harvested volume, plus
  disturbance) × chain; ΔC = gain − loss;
* green space without a tree inventory (Tier 1): removal = area [ha] × rate [t CO2/ha/a];
* removal [t CO2] = ΔC × 44/12, reported as a negative emission and kept apart from gross
  emissions (net = gross − sink is a derived view only).

Parameters (CF, illustrative chains and rates) are data in ``catalog/data/carbon/parameters.toml``.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ecobasin.carbon import factors as fx
from ecobasin.carbon.inventory import C_TO_CO2

__all__ = [
    "BiomassChain",
    "SinkResult",
    "area_rate",
    "chain_from_parameters",
    "gain_loss",
    "stock_difference",
]

METHODS = ("stock_difference", "gain_loss", "area_rate")


@dataclass(frozen=True)
class BiomassChain:
    """Stem volume → carbon: SVD [t dm/m³], BEF (stem → above-ground), R (root:shoot), CF
    [t C/t dm]."""

    svd: Decimal
    bef: Decimal
    root_shoot: Decimal
    cf: Decimal
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("svd", "bef", "root_shoot", "cf"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def carbon_per_m3(self) -> Decimal:
        """[t C per m³ of stem volume]."""
        return self.svd * self.bef * (1 + self.root_shoot) * self.cf


@dataclass(frozen=True)
class SinkResult:
    """A sink estimate: ``delta_c_t`` [t C/a] (None for area × rate), ``removal_tco2`` [t CO2/a,
    positive = removal], with the formula and the parts (gain, loss) used."""

    method: str
    removal_tco2: Decimal
    delta_c_t: Decimal | None
    formula: str
    parts: dict[str, Decimal] = field(default_factory=dict)

    @property
    def emission_tco2(self) -> Decimal:
        """The removal as a (negative) emission."""
        return -self.removal_tco2

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "removal_tco2": self.removal_tco2,
            "delta_c_t": self.delta_c_t,
            "formula": self.formula,
            **{k: v for k, v in self.parts.items()},
        }


def chain_from_parameters(name: str = "illustrative") -> BiomassChain:
    """A biomass chain of ``parameters.toml`` ``[sinks.chains.NAME]``.

    Raises
    ------
    KeyError
        Unknown chain.
    """
    chains = fx.parameters()["sinks"]["chains"]
    if name not in chains:
        raise KeyError(f"unknown biomass chain {name!r} (one of {', '.join(chains)})")
    p = chains[name]
    return BiomassChain(
        fx.decimal(p["svd_t_per_m3"]),
        fx.decimal(p["bef"]),
        fx.decimal(p["root_shoot"]),
        fx.decimal(p["cf_t_per_t"]),
        str(p.get("source", "")),
    )


def stock_difference(
    v_start_m3: Decimal, v_end_m3: Decimal, years: Decimal, chain: BiomassChain
) -> SinkResult:
    """Stock-difference method (IPCC 2006 Vol.4 Eq. 2.8; brief §2).

    Parameters
    ----------
    v_start_m3, v_end_m3 : Decimal
        Stem volume at t1 and t2 [m³].
    years : Decimal
        t2 − t1 [a], > 0.
    chain : BiomassChain

    Returns
    -------
    SinkResult
        ΔC [t C/a] = (V2 − V1) × chain / years; removal [t CO2/a] = ΔC × 44/12.
    """
    if years <= 0:
        raise ValueError("years between the two inventories must be positive")
    delta_c = (v_end_m3 - v_start_m3) * chain.carbon_per_m3 / years
    removal = delta_c * C_TO_CO2
    formula = (
        f"ΔC = ({v_end_m3} − {v_start_m3}) m³ × {chain.svd} × {chain.bef} × (1 + "
        f"{chain.root_shoot}) × {chain.cf} / {years} a; removal = ΔC × 44/12"
    )
    return SinkResult("stock_difference", removal, delta_c, formula)


def gain_loss(
    standing_volume_m3: Decimal,
    growth_rate: Decimal,
    chain: BiomassChain,
    *,
    consumption_rate: Decimal | None = None,
    harvest_volume_m3: Decimal | None = None,
    disturbance_volume_m3: Decimal = Decimal(0),
) -> SinkResult:
    """Gain-loss method (IPCC 2006 Vol.4 Eq. 2.7; provincial guideline 活立木蓄积量 growth and
    consumption; brief §2).

    Parameters
    ----------
    standing_volume_m3 : Decimal
        Standing stem volume [m³].
    growth_rate : Decimal
        Annual volume growth rate [1/a].
    chain : BiomassChain
    consumption_rate : Decimal, optional
        Annual consumption (harvest) rate of the standing volume [1/a]; or
    harvest_volume_m3 : Decimal, optional
        Volume harvested [m³/a] (used when no rate is given).
    disturbance_volume_m3 : Decimal
        Volume lost to fire, pests, storms [m³/a].

    Returns
    -------
    SinkResult
        parts ``gain_tc``, ``loss_tc``; ΔC = gain − loss; removal = ΔC × 44/12.
    """
    per = chain.carbon_per_m3
    gain = standing_volume_m3 * growth_rate * per
    if consumption_rate is not None:
        lost_volume = standing_volume_m3 * consumption_rate
    else:
        lost_volume = harvest_volume_m3 or Decimal(0)
    loss = (lost_volume + disturbance_volume_m3) * per
    delta_c = gain - loss
    formula = (
        f"gain = {standing_volume_m3} m³ × {growth_rate} × {per} tC/m³; loss = "
        f"({lost_volume} + {disturbance_volume_m3}) m³ × {per} tC/m³; (gain − loss) × 44/12"
    )
    return SinkResult(
        "gain_loss", delta_c * C_TO_CO2, delta_c, formula, {"gain_tc": gain, "loss_tc": loss}
    )


def area_rate(area_ha: Decimal, rate_tco2_per_ha_yr: Decimal) -> SinkResult:
    """Area × rate (Tier 1) for green space and greenways without a tree inventory.

    Parameters
    ----------
    area_ha : Decimal
        [ha]
    rate_tco2_per_ha_yr : Decimal
        A documented local removal rate [t CO2/ha/a].
    """
    if area_ha < 0:
        raise ValueError("area must not be negative")
    removal = area_ha * rate_tco2_per_ha_yr
    return SinkResult("area_rate", removal, None, f"{area_ha} ha × {rate_tco2_per_ha_yr} tCO2/ha/a")

"""Sensitivity analysis: a tornado of the drivers, and their shares of the Monte Carlo variance.

Tornado
-------
Each driver is set to its low and to its high value with the others at the
base (the deterministic plan: pace 1, no delay, no index shocks, no risk
events, the scenario's rates), and the portfolio is revalued
deterministically (:func:`grex.montecarlo.value_settings`). The settings:

``pace``
    The market pace factor at the low and the high of its triangle
    (``montecarlo.market_pace``) for every complex, the complex factor at 1.
``delay``
    The start delay of plot sales at each complex's low and high
    (``montecarlo.delay`` or its per-complex override). [years]
``costs``, ``prices``
    A shock on the cost (land price) index rate of minus and plus the
    95% point of its distribution in every year from V on: the AR(1) shock of
    year ``V + t`` has standard deviation ``sd * sqrt((1 - p**(2(t+1))) / (1 - p**2))``
    (``sd``, ``p`` of ``montecarlo.cost_shock`` / ``price_shock``), and the
    setting is ``∓ 1.645`` times it (the 5% and 95% points).
``interest``, ``discount``
    The interest rate (rekenrente) and the discount rate minus and plus
    :data:`RATE_STEP` (one percentage point).
``risks``
    Low: no event of the risk register (the base); high: every event
    happens at the high of its impact triangle.

Variance shares
---------------
From the Monte Carlo (same seed and draws for every run): the variance of
the portfolio present value with only one driver varying (``pace, delay,
costs, prices, interest, risks``; :func:`grex.montecarlo.simulate` with
``drivers={driver}``), divided by the sum of those variances, so the shares
add up to 1. The variance with all drivers together is reported beside
them; ``interaction`` = 1 - (sum of the single-driver variances) / (variance
with all drivers) is the part that comes from the drivers moving together
(correlation and interplay); it can be negative. The discount rate is not
drawn in the Monte Carlo (the BBV sets it) and has no share; interest has
one only where ``montecarlo.interest`` has a spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grex import __version__
from grex.drivers import DRIVERS
from grex.formatting import format_value
from grex.montecarlo import simulate, value_settings
from grex.portfolio import Portfolio
from grex.scenario import RatePath, Scenario
from grex.valuation import value_portfolio, with_parameters

__all__ = [
    "RATE_STEP",
    "TORNADO_DRIVERS",
    "Sensitivity",
    "sensitivity",
    "tornado",
    "variance_shares",
]

#: Step of the interest and discount rates in the tornado. [decimal per year]
RATE_STEP = 0.01
#: The 95% point of the standard normal distribution.
Z95 = 1.6448536269514722
#: Drivers of the tornado, in their fixed order.
TORNADO_DRIVERS = ("pace", "delay", "costs", "prices", "interest", "discount", "risks")

#: Dutch and English labels: (driver, low setting, high setting).
LABELS = {
    "nl": {
        "pace": ("Uitgiftetempo (markt)", "laagste tempo {low}", "hoogste tempo {high}"),
        "delay": ("Vertraging start uitgifte", "laagste vertraging", "hoogste vertraging"),
        "costs": ("Kostenstijging", "schok P5 elk jaar", "schok P95 elk jaar"),
        "prices": ("Grondprijsstijging", "schok P5 elk jaar", "schok P95 elk jaar"),
        "interest": ("Rekenrente", "{low}", "{high}"),
        "discount": ("Disconteringsvoet", "{low}", "{high}"),
        "risks": ("Risico's", "geen gebeurtenis", "alle gebeurtenissen, hoogste impact"),
        "title": "Gevoeligheid contante waarde portefeuille",
        "axis": "contante waarde portefeuille (mln euro)",
        "low": "lage waarde",
        "high": "hoge waarde",
        "base": "basis",
    },
    "en": {
        "pace": ("Sale pace (market)", "lowest pace {low}", "highest pace {high}"),
        "delay": ("Start delay of sales", "lowest delay", "highest delay"),
        "costs": ("Cost index", "shock P5 every year", "shock P95 every year"),
        "prices": ("Land price index", "shock P5 every year", "shock P95 every year"),
        "interest": ("Interest rate", "{low}", "{high}"),
        "discount": ("Discount rate", "{low}", "{high}"),
        "risks": ("Risks", "no event", "every event, highest impact"),
        "title": "Sensitivity of the portfolio present value",
        "axis": "present value of the portfolio (EUR million)",
        "low": "low value",
        "high": "high value",
        "base": "base",
    },
}


def _shifted(rate: float | RatePath, step: float) -> float | RatePath:
    """A rate, or every year of a rate path, moved by ``step``."""
    if isinstance(rate, RatePath):
        return RatePath(rate.default + step, {year: value + step for year, value in rate.by_year.items()})
    return rate + step


def _rate_text(rate: float | RatePath, step: float, lang: str) -> str:
    """A rate of the tornado as text; a rate per year as its shift (``+1.0% every year``, issue 14)."""
    if not isinstance(rate, RatePath):
        return format_value(rate, "percent", lang)
    sign = "+" if step >= 0 else "−"
    return f"{sign}{format_value(abs(step), 'percent', lang)} {'elk jaar' if lang == 'nl' else 'every year'}"


def shock_band(sd: float, persistence: float, years: int) -> NDArray[np.float64]:
    """The 95% point of the AR(1) index shock in each year from V on. [decimal per year]

    Examples
    --------
    >>> shock_band(0.01, 0.0, 3).round(5).tolist()
    [0.01645, 0.01645, 0.01645]
    """
    t = np.arange(years)
    return Z95 * sd * np.sqrt((1.0 - persistence ** (2 * (t + 1))) / (1.0 - persistence**2))


def tornado(scenario: Scenario, portfolio: Portfolio, *, lang: str = "nl") -> pd.DataFrame:
    """The tornado table: portfolio present value with each driver at its low and its high.

    Returns
    -------
    DataFrame
        One row per driver of :data:`TORNADO_DRIVERS`, the widest first:
        ``driver``, ``label``, ``low_setting``, ``high_setting`` (text),
        ``present_value_low``, ``present_value_high``, ``effect_low``,
        ``effect_high`` (against ``base``), ``range`` (``|high - low|``) and
        ``base``, the deterministic present value. [EUR]
    """
    words = LABELS[lang]
    base_inputs = value_portfolio(scenario, portfolio)
    C = base_inputs.inputs.n_complexes
    R = len(scenario.risks)
    years = max(base_inputs.inputs.n_years, 1) + 1
    mc = scenario.montecarlo
    projects = list(base_inputs.inputs.projects)
    delay_low = np.array([mc.delay_of(p).low for p in projects])
    delay_high = np.array([mc.delay_of(p).high for p in projects])
    cost_band = shock_band(mc.cost_shock.sd, mc.cost_shock.persistence, years)
    price_band = shock_band(mc.price_shock.sd, mc.price_shock.persistence, years)
    high_impact = np.array([r.impact.high for r in scenario.risks])

    # settings: 0 base, then low/high of pace, delay, costs, prices, risks
    rows = ["base", "pace", "pace", "delay", "delay", "costs", "costs", "prices", "prices", "risks", "risks"]
    S = len(rows)
    pace = np.ones((S, C))
    delay = np.zeros((S, C))
    cost_shock = np.zeros((S, years))
    price_shock = np.zeros((S, years))
    risk = np.zeros((S, R))
    pace[1], pace[2] = mc.market_pace.low, mc.market_pace.high
    delay[3], delay[4] = delay_low, delay_high
    cost_shock[5], cost_shock[6] = -cost_band, cost_band
    price_shock[7], price_shock[8] = -price_band, price_band
    risk[10] = high_impact
    values = value_settings(
        scenario, portfolio, pace=pace, delay=delay, cost_shock=cost_shock, price_shock=price_shock, risk=risk
    )["present_value"].sum(axis=1)
    base = float(values[0])
    results = {
        d: (float(values[1 + 2 * i]), float(values[2 + 2 * i]))
        for i, d in enumerate(("pace", "delay", "costs", "prices", "risks"))
    }

    def revalue(**changes: Any) -> float:
        changed = with_parameters(scenario, **changes)
        out = value_settings(
            changed,
            portfolio,
            pace=np.ones((1, C)),
            delay=np.zeros((1, C)),
            cost_shock=np.zeros((1, 1)),
            price_shock=np.zeros((1, 1)),
            risk=np.zeros((1, R)),
        )
        return float(out["present_value"].sum())

    params = scenario.parameters
    rates = {
        "interest": (_shifted(params.interest_rate, -RATE_STEP), _shifted(params.interest_rate, RATE_STEP)),
        "discount": (params.discount_rate - RATE_STEP, params.discount_rate + RATE_STEP),
    }
    results["interest"] = (revalue(interest_rate=rates["interest"][0]), revalue(interest_rate=rates["interest"][1]))
    results["discount"] = (revalue(discount_rate=rates["discount"][0]), revalue(discount_rate=rates["discount"][1]))
    formats = {
        "pace": {
            "low": format_value(mc.market_pace.low, "ratio", lang),
            "high": format_value(mc.market_pace.high, "ratio", lang),
        }
    }
    formats.update(
        {
            k: {"low": _rate_text(lo, -RATE_STEP, lang), "high": _rate_text(hi, RATE_STEP, lang)}
            for k, (lo, hi) in rates.items()
        }
    )
    table = []
    for driver in TORNADO_DRIVERS:
        label, low_text, high_text = words[driver]
        low, high = results[driver]
        fmt = formats.get(driver, {})
        table.append(
            {
                "driver": driver,
                "label": label,
                "low_setting": low_text.format(**fmt),
                "high_setting": high_text.format(**fmt),
                "present_value_low": low,
                "present_value_high": high,
                "effect_low": low - base,
                "effect_high": high - base,
                "range": abs(high - low),
                "base": base,
            }
        )
    frame = pd.DataFrame(table)
    order = np.lexsort((np.arange(len(frame)), -frame["range"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


def variance_shares(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    draws: int,
    seed: int,
    lang: str = "nl",
    runs: Mapping[str, Any] | None = None,
    engine: str | None = None,
    threads: int | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Each Monte Carlo driver's share of the variance of the portfolio present value.

    ``runs`` may hold simulations already made with the same ``draws`` and
    ``seed``: ``"all"`` (every driver) and one per driver with only that driver
    varying (as ``grex report`` makes them); the missing ones are simulated
    (with ``engine`` and ``threads`` as for :func:`grex.montecarlo.simulate`).

    Returns
    -------
    shares : DataFrame
        One row per driver of :data:`grex.drivers.DRIVERS`: ``driver``,
        ``label``, ``variance`` [EUR²] and ``standard_deviation`` [EUR] of
        the portfolio present value with only that driver varying, and
        ``share`` = its variance / the sum of the single-driver variances.
    totals : dict
        ``variance_all_drivers`` [EUR²], ``sum_of_single_variances`` [EUR²]
        and ``interaction`` [decimal] (module docstring).
    """
    words = LABELS[lang]
    names = {d: words[d][0] for d in DRIVERS}
    runs = dict(runs or {})
    for key, simulation in runs.items():
        if (simulation.draws, simulation.seed) != (draws, seed):
            raise ValueError(
                f"run {key!r} has {simulation.draws} draws and seed {simulation.seed}, not {draws} and {seed}"
            )

    def run(key: str) -> Any:
        if key not in runs:
            drivers = None if key == "all" else {key}
            runs[key] = simulate(
                scenario, portfolio, draws=draws, seed=seed, drivers=drivers, engine=engine, threads=threads
            )
        return runs[key]

    everything = run("all")
    variance = {d: float(np.var(run(d).portfolio_present_value)) for d in DRIVERS}
    total_single = sum(variance.values())
    frame = pd.DataFrame(
        {
            "driver": list(DRIVERS),
            "label": [names[d] for d in DRIVERS],
            "variance": [variance[d] for d in DRIVERS],
            "standard_deviation": [float(np.sqrt(variance[d])) for d in DRIVERS],
            "share": [variance[d] / total_single if total_single > 0 else 0.0 for d in DRIVERS],
        }
    )
    total = float(np.var(everything.portfolio_present_value))
    totals = {
        "variance_all_drivers": total,
        "sum_of_single_variances": total_single,
        "interaction": 1.0 - total_single / total if total > 0 else 0.0,
    }
    return frame, totals


@dataclass(frozen=True)
class Sensitivity:
    """A sensitivity analysis of one scenario (:func:`sensitivity`).

    Attributes
    ----------
    scenario : Scenario
    input_hash : str
    draws, seed : int
        Of the Monte Carlo runs behind the variance shares.
    tornado : DataFrame
        :func:`tornado`. [EUR]
    variance_shares : DataFrame
        :func:`variance_shares`.
    variance_totals : dict
    lang : str
        Language of the labels.
    """

    scenario: Scenario
    input_hash: str
    draws: int
    seed: int
    tornado: pd.DataFrame
    variance_shares: pd.DataFrame
    variance_totals: dict[str, float]
    lang: str = "nl"

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` holds."""
        return {
            "scenario": self.scenario.name,
            "grex_version": __version__,
            "valuation_year": self.scenario.valuation_year,
            "illustrative": self.scenario.illustrative,
            "input_hash": self.input_hash,
            "draws": self.draws,
            "seed": self.seed,
            "base_present_value": float(self.tornado["base"].iloc[0]),
            "rate_step": RATE_STEP,
            "tornado": self.tornado.drop(columns=["base"]).to_dict(orient="records"),
            "variance_shares": self.variance_shares.to_dict(orient="records"),
            **self.variance_totals,
        }


def sensitivity(
    scenario: Scenario,
    portfolio: Portfolio,
    *,
    draws: int,
    seed: int,
    lang: str = "nl",
    runs: Mapping[str, Any] | None = None,
    engine: str | None = None,
    threads: int | None = None,
) -> Sensitivity:
    """The tornado and the variance shares of a scenario (module docstring for the settings).

    Parameters
    ----------
    draws : int, keyword-only
        Draws of each of the six Monte Carlo runs (all drivers, and each alone).
    seed : int, keyword-only
    lang : {"nl", "en"}, keyword-only
        Language of the labels in the tables and the chart.
    runs : mapping, keyword-only
        Simulations already made with these draws and seed (:func:`variance_shares`).
    engine, threads : keyword-only
        As for :func:`grex.montecarlo.simulate`.
    """
    if lang not in LABELS:
        raise ValueError(f"lang must be one of {', '.join(LABELS)}, not {lang!r}")
    valuation = value_portfolio(scenario, portfolio)
    shares, totals = variance_shares(
        scenario, portfolio, draws=draws, seed=seed, lang=lang, runs=runs, engine=engine, threads=threads
    )
    return Sensitivity(
        scenario=scenario,
        input_hash=valuation.input_hash,
        draws=int(draws),
        seed=int(seed),
        tornado=tornado(scenario, portfolio, lang=lang),
        variance_shares=shares,
        variance_totals=totals,
        lang=lang,
    )

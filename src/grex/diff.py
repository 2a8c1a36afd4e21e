"""Difference analysis (verschillenanalyse): why the result moved since the last MPG.

:func:`diff` takes two versions of the portfolio, BEFORE (the previous MPG) and
AFTER (this one), and splits the change of each complex's end value (eindwaarde)
and present value (contante waarde) into ordered effects. It starts from BEFORE
and changes one input at a time towards AFTER, revaluing the whole state with the
engine (:func:`grex.valuation.value_portfolio`) after each step. The effect of a
step is the change of value it causes, so the effects add up to the total change
by construction (telescoping). Amounts are kept in whole cents: every state's
value is rounded to the cent before differencing, so the effects of a complex add
up to its total change exactly, and the portfolio figures are the sums of the
complexes' figures.

Complexes are matched by id. A complex in only one of the two versions is new
(``new``: its whole AFTER value) or closed (``closed``: minus its whole BEFORE
value); it takes part in no other step. A matched complex whose name differs is
refused as bad input.

The effects (:data:`EFFECTS`) and what each step changes, for matched complexes:

``valuation_date`` (verschuiving peildatum)
    The valuation year moves from V_b to V_a. The flows of the years V_b … V_a-1
    leave the grex and the book value becomes the *planned* book value at
    1-1-V_a: the state's own balance at 31-12-(V_a - 1), the past flows and
    interest as BEFORE planned them. The remaining estimates are restated from
    BEFORE's price level to AFTER's with the state's own index rates, which
    changes no value. The end value therefore stays the same (unless the planned
    end year lies before V_a); the present value grows by the years of
    discounting that have passed.
``realisation`` (realisatie)
    The planned book value is replaced by the actual one of AFTER (and the
    realised costs, revenues and profit taken by AFTER's): whatever was spent or
    sold in the past year other than planned, the uncertainty margin of the past
    year that was not needed, and the interest actually charged. It must come
    after ``valuation_date`` in the order.
``interest``, ``discount``
    Rekenrente and disconteringsvoet of AFTER. ``interest`` takes AFTER's whole
    path where the rekenrente is a table of rates per year; ``discount`` also
    takes AFTER's ``discount_periods`` and ``present_value_method``.
``cost_index``, ``revenue_index``
    AFTER's index path and the per-complex override (``cost_index`` /
    ``revenue_index`` columns); ``cost_index`` also takes AFTER's
    ``cost_index_by_category`` (one effect for every kostensoort's index);
    ``revenue_index`` also takes ``max_duration``
    and ``index_revenues_after_max_duration``. Because the price level moves
    with the valuation date, the rates of the years between the two price levels
    count too: BEFORE's estimates are restated to AFTER's price level with the
    state's path, so the rate over the past year as AFTER has it (the realised
    index) replaces the rate BEFORE expected.
``uncertainty_margin``
    AFTER's margin, the scenario's and the per-complex column.
``phasing`` (fasering)
    The same amounts in other years, and AFTER's ``end_year``.
``cost_<category>``, ``revenue_<category>`` (one per kostensoort and revenue category)
    The remaining amounts of that category as AFTER estimates them.
``closed``, ``new``
    Complexes in only one version.

Phasing and amounts are separated per complex and category on the remaining
flows (years from V_a), both expressed at AFTER's price level. With ``b`` and
``a`` the yearly amounts of BEFORE and AFTER, ``d = a - b`` and the change of
the total ``D = sum(d)``, the amount change is placed in the years whose amounts
moved in its direction: ``D * s`` with ``s`` the positive parts of ``d`` (for
``D > 0``) or its negative parts (for ``D < 0``), as shares. Applying the amount
effect first gives ``b + D s``, applying phasing first gives ``a - D s``, both
give ``a``. So one amount changed in one year is wholly an amount effect, an
amount moved to another year wholly phasing, and a plot sale moved a year later
and priced lower is phasing for the amount that moved and an amount effect for
the price.

The order is a parameter (:data:`DEFAULT_ORDER`, ``--order`` on the command
line): the attribution between effects depends on it, the total does not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grex.errors import InputError
from grex.portfolio import COST_CATEGORIES, REVENUE_CATEGORIES, Portfolio
from grex.scenario import Parameters, RatePath, Scenario
from grex.valuation import Valuation, value_portfolio

__all__ = [
    "AMOUNT_EFFECTS",
    "DEFAULT_ORDER",
    "EFFECTS",
    "EFFECT_LABELS",
    "MEASURES",
    "TOTAL_ID",
    "DiffResult",
    "diff",
    "resolve_order",
]

#: Amount effects: one per cost category (kostensoort) and revenue category.
AMOUNT_EFFECTS = tuple(f"cost_{c}" for c in COST_CATEGORIES) + tuple(f"revenue_{c}" for c in REVENUE_CATEGORIES)
#: The parameter effects and the scenario fields each one switches to AFTER's values.
PARAMETER_EFFECTS = {
    "interest": ("interest_rate",),
    "discount": ("discount_rate", "discount_periods", "present_value_method"),
    "cost_index": ("cost_index", "cost_index_by_category"),
    "revenue_index": ("revenue_index", "max_duration", "index_revenues_after_max_duration"),
    "uncertainty_margin": ("uncertainty_margin",),
}
#: Per-complex override columns each parameter effect switches too.
_PARAMETER_COLUMNS = {
    "cost_index": "cost_index",
    "revenue_index": "revenue_index",
    "uncertainty_margin": "uncertainty_margin",
}
#: Default order of the effects.
DEFAULT_ORDER = (
    "valuation_date",
    "realisation",
    *PARAMETER_EFFECTS,
    "phasing",
    *AMOUNT_EFFECTS,
    "closed",
    "new",
)
#: Every effect name.
EFFECTS = DEFAULT_ORDER
#: Names that stand for several effects in an order.
EFFECT_GROUPS = {
    "amounts": AMOUNT_EFFECTS,
    "costs": tuple(e for e in AMOUNT_EFFECTS if e.startswith("cost_")),
    "revenues": tuple(e for e in AMOUNT_EFFECTS if e.startswith("revenue_")),
}
_CATEGORY_LABELS = {
    "verwerving": "verwerving",
    "sloop": "sloop",
    "bodem": "bodem",
    "bouwrijp": "bouwrijp maken",
    "woonrijp": "woonrijp maken",
    "plankosten": "plankosten",
    "bijdragen": "bijdragen",
    "overig": "overig",
    "wonen_sociaal": "sociale woningbouw",
    "wonen_betaalbaar": "betaalbare woningbouw",
    "wonen_vrij": "vrije sector",
    "bedrijven": "bedrijven",
    "maatschappelijk": "maatschappelijk",
    "subsidie": "subsidie",
}
#: Dutch labels of the effects, for tables and charts.
EFFECT_LABELS = {
    "valuation_date": "Verschuiving peildatum",
    "realisation": "Realisatie",
    "interest": "Rente",
    "discount": "Disconteringsvoet",
    "cost_index": "Kostenstijging",
    "revenue_index": "Opbrengstenstijging",
    "uncertainty_margin": "Voorziene onzekerheden",
    "phasing": "Fasering",
    **{f"cost_{c}": f"Kosten {_CATEGORY_LABELS[c]}" for c in COST_CATEGORIES},
    **{f"revenue_{c}": f"Opbrengst {_CATEGORY_LABELS[c]}" for c in REVENUE_CATEGORIES},
    "closed": "Afgesloten complexen",
    "new": "Nieuwe complexen",
}
#: The two measures: eindwaarde and contante waarde. [EUR, positive = profit]
MEASURES = ("end_value", "present_value")
#: Project id of the portfolio total rows in :meth:`DiffResult.table`.
TOTAL_ID = "(total)"


def resolve_order(order: str | Iterable[str] | None = None) -> tuple[str, ...]:
    """Check an order of effects and complete it.

    Parameters
    ----------
    order : str or iterable of str or None
        Effect names (:data:`EFFECTS`), or a comma-separated string of them.
        ``amounts``, ``costs`` and ``revenues`` stand for all amount effects, the
        cost ones or the revenue ones, in their default order. Effects not named
        follow in the default order. ``None``: :data:`DEFAULT_ORDER`.

    Returns
    -------
    tuple of str
        Every effect once.

    Raises
    ------
    InputError
        An unknown or repeated name, or ``realisation`` before ``valuation_date``.

    Examples
    --------
    >>> resolve_order("discount,interest")[:4]
    ('discount', 'interest', 'valuation_date', 'realisation')
    """
    if order is None:
        return DEFAULT_ORDER
    names = [n.strip() for n in order.split(",")] if isinstance(order, str) else [str(n).strip() for n in order]
    names = [n for n in names if n]
    out: list[str] = []
    for name in names:
        expanded = EFFECT_GROUPS.get(name, (name,))
        for effect in expanded:
            if effect not in EFFECTS:
                raise InputError(
                    None,
                    "--order",
                    f"unknown effect {effect!r}; expected names from: {', '.join((*EFFECTS, *EFFECT_GROUPS))}",
                )
            if effect in out:
                raise InputError(None, "--order", f"effect {effect!r} is named twice")
            out.append(effect)
    out += [e for e in DEFAULT_ORDER if e not in out]
    if out.index("realisation") < out.index("valuation_date"):
        raise InputError(
            None,
            "--order",
            "'realisation' must come after 'valuation_date': the actual book value replaces the planned one at the new date",
        )
    return tuple(out)


@dataclass(frozen=True)
class DiffResult:
    """The difference analysis of two valuations.

    Attributes
    ----------
    before, after : Valuation
        The previous and the present valuation, each under its own scenario.
    order : tuple of str
        The effects in the order applied (:data:`EFFECTS`).
    projects, names : tuple of str
        The complexes, AFTER's order first, then the closed ones.
    change : tuple of str
        Per complex ``"matched"``, ``"new"`` or ``"closed"``.
    before_value, after_value : dict of str to ndarray, shape (C,)
        Per measure (:data:`MEASURES`) the value of each complex before and
        after; zero where the complex is absent. [EUR, cents, positive = profit]
    effects : dict of str to ndarray, shape (n_effects, C)
        Per measure the effect of each step on each complex, in the order of
        ``order``. [EUR, cents] ``before + effects.sum(axis=0) == after``
        exactly in cents.
    """

    before: Valuation
    after: Valuation
    order: tuple[str, ...]
    projects: tuple[str, ...]
    names: tuple[str, ...]
    change: tuple[str, ...]
    before_value: dict[str, NDArray[np.float64]]
    after_value: dict[str, NDArray[np.float64]]
    effects: dict[str, NDArray[np.float64]]

    def table(self) -> pd.DataFrame:
        """Wide table: one row per complex and measure, plus the portfolio total rows.

        Columns ``project, name, change, measure, before``, one column per effect
        in the order applied, ``after, total_change``. The total rows have
        ``project`` :data:`TOTAL_ID` and ``change`` ``"total"``. [EUR, positive
        = profit; an effect positive = the result improved]
        """
        frames = []
        for measure in MEASURES:
            effects = self.effects[measure]
            frame = pd.DataFrame(
                {
                    "project": list(self.projects),
                    "name": list(self.names),
                    "change": list(self.change),
                    "measure": measure,
                    "before": self.before_value[measure],
                    **{effect: effects[k] for k, effect in enumerate(self.order)},
                    "after": self.after_value[measure],
                }
            )
            frame["total_change"] = _cents(frame["after"].to_numpy() - frame["before"].to_numpy())
            total = {"project": TOTAL_ID, "name": "Totaal portefeuille", "change": "total", "measure": measure}
            total.update({c: _cents(frame[c].sum()) for c in frame.columns[4:]})
            frames.append(pd.concat([frame, pd.DataFrame([total])], ignore_index=True))
        return pd.concat(frames, ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """The wide table (same as :meth:`table`)."""
        return self.table()

    def long(self) -> pd.DataFrame:
        """Long table: ``project, name, change, measure, effect, amount``, the total rows included."""
        wide = self.table()
        return wide.melt(
            id_vars=["project", "name", "change", "measure"],
            value_vars=["before", *self.order, "after", "total_change"],
            var_name="effect",
            value_name="amount",
        )

    def provisions(self) -> pd.DataFrame:
        """The loss provisions (verliesvoorzieningen) of both versions and AFTER's dotation.

        One row per complex (AFTER's order, closed ones last) and a total row:
        ``project, name, change``, ``provision_before`` (the provision BEFORE
        required), ``provision_balance`` (AFTER's balance at 31-12-(V_a − 1),
        the ``provision_balance`` column), ``provision`` (the provision AFTER
        requires) and ``dotation`` = provision − provision_balance (positive:
        added, negative: released, vrijval). [EUR, cents]
        """
        before = self.before.complexes().set_index("project")
        after = self.after.complexes().set_index("project")

        def column(frame: pd.DataFrame, name: str) -> NDArray[np.float64]:
            return np.array([_cents(frame[name].get(p, 0.0)) for p in self.projects])

        frame = pd.DataFrame(
            {
                "project": list(self.projects),
                "name": list(self.names),
                "change": list(self.change),
                "provision_before": column(before, "provision"),
                "provision_balance": column(after, "provision_balance"),
                "provision": column(after, "provision"),
                "dotation": column(after, "dotation"),
            }
        )
        total = {"project": TOTAL_ID, "name": "Totaal portefeuille", "change": "total"}
        total.update({c: _cents(frame[c].sum()) for c in frame.columns[3:]})
        return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)

    def portfolio(self, measure: str = "present_value") -> pd.Series:
        """Effect → amount for the whole portfolio, in the order applied. [EUR]"""
        _check_measure(measure)
        return pd.Series(_cents(self.effects[measure].sum(axis=1)), index=list(self.order), name=measure)

    def complex(self, project: str, measure: str = "present_value") -> pd.Series:
        """Effect → amount for one complex, in the order applied. [EUR]"""
        _check_measure(measure)
        if project not in self.projects:
            raise KeyError(f"no complex {project!r} in this difference analysis")
        i = self.projects.index(project)
        return pd.Series(self.effects[measure][:, i], index=list(self.order), name=project)

    def total(self, measure: str = "present_value", project: str | None = None) -> tuple[float, float]:
        """``(before, after)`` of one complex or (``None``) of the portfolio. [EUR]"""
        _check_measure(measure)
        if project is None:
            return _cents(self.before_value[measure].sum()), _cents(self.after_value[measure].sum())
        i = self.projects.index(project)
        return float(self.before_value[measure][i]), float(self.after_value[measure][i])

    def largest(self, n: int = 5, measure: str = "present_value", *, matched_only: bool = True) -> list[str]:
        """The ``n`` complexes whose value changed most (absolute change), largest first."""
        _check_measure(measure)
        change = np.abs(self.after_value[measure] - self.before_value[measure])
        candidates = [i for i, c in enumerate(self.change) if c == "matched" or not matched_only]
        ranked = sorted(candidates, key=lambda i: (-change[i], self.projects[i]))
        return [self.projects[i] for i in ranked[:n] if change[i] > 0]

    def portfolio_frame(self) -> pd.DataFrame:
        """:meth:`portfolio` of both measures as a table: one row per effect, columns ``end_value`` and
        ``present_value``. [EUR]"""
        return pd.DataFrame({m: self.portfolio(m) for m in MEASURES}).rename_axis("effect")

    @property
    def effect_labels(self) -> dict[str, str]:
        """Dutch label of each effect (:data:`EFFECT_LABELS`)."""
        return EFFECT_LABELS

    @property
    def illustrative(self) -> bool:
        """Either valuation is of an illustrative scenario."""
        return self.before.scenario.illustrative or self.after.scenario.illustrative

    def __repr__(self) -> str:
        from grex.display import diff_repr

        return diff_repr(self)

    def _repr_html_(self) -> str:
        from grex.display import diff_html

        return diff_html(self)


def diff(
    before: tuple[Scenario, Portfolio],
    after: tuple[Scenario, Portfolio],
    *,
    order: str | Iterable[str] | None = DEFAULT_ORDER,
) -> DiffResult:
    """Split the change of each complex's value between two MPGs into ordered effects.

    Parameters
    ----------
    before, after : (Scenario, Portfolio)
        The previous and the present version. AFTER's valuation year must not
        lie before BEFORE's.
    order : str or iterable of str, keyword-only
        The order of the effects (:func:`resolve_order`); default
        :data:`DEFAULT_ORDER`.

    Returns
    -------
    DiffResult

    Raises
    ------
    InputError
        Same id with different names, AFTER's valuation year before BEFORE's,
        a bad order, or bad input in either version.

    Notes
    -----
    The effects are defined in the module docstring. Each state between BEFORE
    and AFTER is a full scenario and portfolio, valued by
    :func:`grex.valuation.value_portfolio`; effect k is value(state k) −
    value(state k−1), with values rounded to the cent, so the effects add up to
    the change exactly.
    """
    order = resolve_order(order)
    before_scenario, before_portfolio = before
    after_scenario, after_portfolio = after
    if after_scenario.valuation_year < before_scenario.valuation_year:
        raise InputError(
            after_scenario.source,
            "key valuation_year",
            f"{after_scenario.valuation_year} lies before the valuation year {before_scenario.valuation_year} "
            f"of {before_scenario.source or before_scenario.name}: give the earlier MPG first",
        )
    before_valuation = value_portfolio(before_scenario, before_portfolio)
    after_valuation = value_portfolio(after_scenario, after_portfolio)

    before_names = dict(zip(before_portfolio.projects["project"], before_portfolio.projects["name"], strict=True))
    after_names = dict(zip(after_portfolio.projects["project"], after_portfolio.projects["name"], strict=True))
    for project, name in after_names.items():
        if project in before_names and before_names[project] != name:
            raise InputError(
                after_portfolio.projects_source,
                f"project {project!r}",
                f"is named {name!r} here but {before_names[project]!r} in {before_portfolio.projects_source}: "
                "complexes are matched by id, so one id must name the same complex in both versions",
            )
    matched = [p for p in after_names if p in before_names]
    new = [p for p in after_names if p not in before_names]
    closed = [p for p in before_names if p not in after_names]
    # AFTER's file order for matched and new complexes, closed ones last
    projects = [p for p in after_names] + closed
    change = [
        "matched" if p in before_names and p in after_names else "new" if p in after_names else "closed"
        for p in projects
    ]
    names = [after_names[p] if p in after_names else before_names[p] for p in projects]

    def values(valuation: Valuation) -> dict[str, dict[str, float]]:
        r = valuation.result
        ids = valuation.inputs.projects
        return {m: dict(zip(ids, getattr(r, m), strict=True)) for m in MEASURES}

    before_values, after_values = values(before_valuation), values(after_valuation)
    column = {p: i for i, p in enumerate(projects)}
    n_effects, n = len(order), len(projects)
    effects = {m: np.zeros((n_effects, n)) for m in MEASURES}
    before_value = {m: np.array([_cents(before_values[m].get(p, 0.0)) for p in projects]) for m in MEASURES}
    after_value = {m: np.array([_cents(after_values[m].get(p, 0.0)) for p in projects]) for m in MEASURES}
    for m in MEASURES:
        for p in new:
            effects[m][order.index("new"), column[p]] = after_value[m][column[p]]
        for p in closed:
            effects[m][order.index("closed"), column[p]] = -before_value[m][column[p]]

    if matched:
        chain = _Chain(before_scenario, before_portfolio, after_scenario, after_portfolio, matched)
        steps = [e for e in order if e not in ("new", "closed")]
        path = chain.run(steps)  # len(steps) + 1 valuations of the matched complexes
        columns = [column[p] for p in matched]
        for m in MEASURES:
            cents = np.array([[_to_cents(getattr(v.result, m)[i]) for i in range(len(matched))] for v in path])
            # the ends are the real valuations (the chain reproduces them up to rounding)
            first = np.array([_to_cents(before_values[m][p]) for p in matched])
            last = np.array([_to_cents(after_values[m][p]) for p in matched])
            for label, chained, real in (("BEFORE", cents[0], first), ("AFTER", cents[-1], last)):
                if np.any(np.abs(chained - real) > 100):  # pragma: no cover - a guard on the chain itself
                    raise RuntimeError(f"difference analysis: the chain does not reproduce {label} ({m})")
            cents[0], cents[-1] = first, last
            steps_cents = np.diff(cents, axis=0)
            for k, effect in enumerate(steps):
                effects[m][order.index(effect), columns] = steps_cents[k] / 100 + 0.0
    return DiffResult(
        before=before_valuation,
        after=after_valuation,
        order=order,
        projects=tuple(projects),
        names=tuple(names),
        change=tuple(change),
        before_value=before_value,
        after_value=after_value,
        effects=effects,
    )


# -- the chain of states -------------------------------------------------------------------------


class _Chain:
    """The states between BEFORE and AFTER for the matched complexes.

    A state is the set of effects applied so far (plus the planned book value
    taken when the valuation date moved); :meth:`state` builds its scenario and
    portfolio.
    """

    def __init__(
        self,
        before_scenario: Scenario,
        before_portfolio: Portfolio,
        after_scenario: Scenario,
        after_portfolio: Portfolio,
        matched: Sequence[str],
    ) -> None:
        self.bs, self.as_ = before_scenario, after_scenario
        self.vb, self.va = before_scenario.valuation_year, after_scenario.valuation_year
        self.matched = list(matched)
        bp = before_portfolio.projects.set_index("project").loc[self.matched]
        ap = after_portfolio.projects.set_index("project").loc[self.matched]
        self.bp, self.ap = bp, ap
        self.price_before = bp["price_level"].fillna(self.vb).astype(int)
        self.price_after = ap["price_level"].fillna(self.va).astype(int)
        bf = before_portfolio.flows[before_portfolio.flows["project"].isin(self.matched)]
        af = after_portfolio.flows[after_portfolio.flows["project"].isin(self.matched)]
        self.past = bf[bf["year"] < self.va]
        self.keys = _Keys(bf[bf["year"] >= self.va], af)

    def parameters(self, applied: set[str]) -> Parameters:
        changes: dict[str, Any] = {}
        for effect, names in PARAMETER_EFFECTS.items():
            if effect in applied:
                changes.update({name: getattr(self.as_.parameters, name) for name in names})
        return replace(self.bs.parameters, **changes)

    def column(self, applied: set[str], effect: str) -> pd.Series:
        source = self.ap if effect in applied else self.bp
        return source[_PARAMETER_COLUMNS[effect]].astype(float)

    def restatement(self, applied: set[str]) -> dict[Any, pd.Series]:
        """Factor that brings BEFORE's price level to AFTER's, per complex and flow type
        (and per kostensoort with its own index, keyed ``("cost", category)``),
        with the state's index path (never frozen: the years lie around V)."""
        params = self.parameters(applied)
        out: dict[Any, pd.Series] = {}
        for kind, path, effect in (
            ("cost", params.cost_index, "cost_index"),
            ("revenue", params.revenue_index, "revenue_index"),
            *((("cost", c), p, "cost_index") for c, p in params.cost_index_by_category.items()),
        ):
            override = self.column(applied, effect)
            out[kind] = pd.Series(
                [
                    _restatement_factor(path, override[p], self.price_before[p], self.price_after[p])
                    for p in self.matched
                ],
                index=self.matched,
            )
        return out

    def state(self, applied: set[str], planned_book_value: pd.Series | None) -> tuple[Scenario, Portfolio]:
        shifted = "valuation_date" in applied
        year = self.va if shifted else self.vb
        factor = self.restatement(applied)
        flows = self.keys.flows(applied, factor, at_after_price_level=shifted)
        if not shifted:
            flows = pd.concat([self.past[flows.columns], flows], ignore_index=True)
        flows = flows[flows["amount"] != 0].reset_index(drop=True)
        flows["row"] = [f"state row {i + 1}" for i in range(len(flows))]

        if "realisation" in applied:
            history = self.ap
            book_value = self.ap["book_value"].astype(float)
        else:
            history = self.bp
            if shifted:
                assert planned_book_value is not None  # taken when the valuation date moved (_Chain.run)
                book_value = planned_book_value
            else:
                book_value = self.bp["book_value"].astype(float)
        end_source = self.ap if "phasing" in applied else self.bp
        last_flow = flows.groupby("project")["year"].max()
        end_year: list[Any] = []
        for p in self.matched:
            given: Any = end_source.at[p, "end_year"]
            if pd.isna(given):
                end_year.append(pd.NA)
            else:
                end_year.append(max(int(given), year, int(last_flow.get(p, year))))
        projects = pd.DataFrame(
            {
                "project": self.matched,
                "name": self.ap["name"].to_numpy(),
                "status": self.ap["status"].to_numpy(),
                "book_value": np.asarray(book_value, dtype=np.float64),
                "realised_costs": history["realised_costs"].to_numpy(dtype=np.float64),
                "realised_revenues": history["realised_revenues"].to_numpy(dtype=np.float64),
                "profit_taken": history["profit_taken"].to_numpy(dtype=np.float64),
                "end_year": pd.array(end_year, dtype="Int64"),
                "price_level": pd.array((self.price_after if shifted else self.price_before).to_numpy(), dtype="Int64"),
                "uncertainty_margin": self.column(applied, "uncertainty_margin").to_numpy(),
                "cost_index": self.column(applied, "cost_index").to_numpy(),
                "revenue_index": self.column(applied, "revenue_index").to_numpy(),
                "provision_balance": _optional(history, "provision_balance", 0.0),
                "realised_interest": _optional(history, "realised_interest", np.nan),
                "row": [f"state complex {p}" for p in self.matched],
            }
        )
        scenario = replace(
            self.bs,
            name=f"{self.bs.name}->{self.as_.name}",
            valuation_year=year,
            parameters=self.parameters(applied),
        )
        # derived by grex from two checked portfolios: not checked again
        return scenario, Portfolio.checked(projects, flows, "difference analysis state", "difference analysis state")

    def run(self, steps: Sequence[str]) -> list[Valuation]:
        applied: set[str] = set()
        planned: pd.Series | None = None
        path = [value_portfolio(*self.state(applied, planned))]
        for effect in steps:
            if effect == "valuation_date":
                planned = self.planned_book_value(path[-1])
            applied.add(effect)
            path.append(value_portfolio(*self.state(applied, planned)))
        return path

    def planned_book_value(self, valuation: Valuation) -> pd.Series:
        """The book value at 1-1-V_a as the state plans it: its balance at 31-12-(V_a − 1). [EUR]"""
        years = self.va - self.vb
        if years == 0:
            values = valuation.inputs.book_value
        else:
            balance = valuation.result.balance
            values = balance[:, min(years - 1, balance.shape[1] - 1)]
        return pd.Series(values, index=list(valuation.inputs.projects)).loc[self.matched]


class _Keys:
    """The remaining flows (years from V_a) of both versions, per complex, type and category."""

    def __init__(self, before: pd.DataFrame, after: pd.DataFrame) -> None:
        key = ["project", "type", "category"]
        self.groups: list[
            tuple[tuple[str, str, str], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], bool]
        ] = []
        b = before.groupby([*key, "year"])["amount"].sum()
        a = after.groupby([*key, "year"])["amount"].sum()
        linked = pd.concat([before, after]).groupby(key)["sales_linked"].any()
        both = pd.concat([b.rename("before"), a.rename("after")], axis=1).fillna(0.0).sort_index()
        for group, part in both.groupby(level=[0, 1, 2], sort=False):
            k = cast(tuple[str, str, str], group)
            years = part.index.get_level_values("year").to_numpy(dtype=np.int64)
            self.groups.append(
                (
                    k,
                    years,
                    part["before"].to_numpy(dtype=np.float64),
                    part["after"].to_numpy(dtype=np.float64),
                    bool(linked[k]),
                )
            )

    def flows(self, applied: set[str], factor: dict[Any, pd.Series], *, at_after_price_level: bool) -> pd.DataFrame:
        rows: list[tuple[str, int, str, str, float, bool]] = []
        phased = "phasing" in applied
        for (project, kind, category), years, b, a, linked in self.groups:
            amounts_applied = f"{kind}_{category}" in applied
            f = float(factor.get((kind, category), factor[kind])[project])
            if not amounts_applied and not phased:
                x = b * f if at_after_price_level else b
            elif amounts_applied and phased:
                x = a if at_after_price_level else a / f
            else:
                restated = b * f
                d = a - restated
                total = d.sum()
                share = np.zeros_like(d)
                part = np.clip(d, 0, None) if total > 0 else np.clip(-d, 0, None) if total < 0 else share
                if part.sum() > 0:
                    share = part / part.sum()
                x = restated + total * share if amounts_applied else a - total * share
                if (b >= 0).all() and (a >= 0).all():
                    x = np.clip(x, 0.0, None)  # guard against a rounding residue below zero
                # with corrections (negative amounts) an intermediate amount may be negative
                if not at_after_price_level:
                    x = x / f
            rows += [(project, int(y), kind, category, float(v), linked) for y, v in zip(years, x, strict=True)]
        return pd.DataFrame(rows, columns=["project", "year", "type", "category", "amount", "sales_linked"]).astype(
            {"year": "int64", "amount": "float64", "sales_linked": "bool"}
        )


def _optional(frame: pd.DataFrame, column: str, default: float) -> NDArray[np.float64]:
    """A column of an optional input as floats, ``default`` where it is absent."""
    if column not in frame.columns:
        return np.full(len(frame), default)
    return frame[column].to_numpy(dtype=np.float64, na_value=default)


def _restatement_factor(path: RatePath, override: float, price_from: int, price_to: int) -> float:
    """``prod (1 + rate_s)`` for s from ``price_from`` to ``price_to − 1`` (inverse if earlier). [factor]"""
    if price_from == price_to:
        return 1.0
    years = np.arange(min(price_from, price_to), max(price_from, price_to))
    rates = np.full(len(years), override) if not math.isnan(override) else path.values(years)
    factor = float(np.prod(1.0 + rates))
    return factor if price_to > price_from else 1.0 / factor


def _to_cents(value: float) -> int:
    return int(round(float(value) * 100))


def _cents(value: Any) -> Any:
    """Round an amount or an array to the cent. [EUR]"""
    if np.ndim(value) == 0:
        return round(float(value), 2) + 0.0  # + 0.0: no negative zero
    return np.round(np.asarray(value, dtype=np.float64), 2) + 0.0


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, not {measure!r}")

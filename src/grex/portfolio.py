"""The portfolio: the complexes of the grondbedrijf and their flows.

Two tables (DOMAIN.md section 2 for the names):

``projects``
    one row per complex: ``project`` (id), ``name``, ``status``,
    ``book_value``, ``realised_costs``, ``realised_revenues``,
    ``profit_taken``; optional ``end_year``, ``price_level``,
    ``uncertainty_margin``, ``cost_index``, ``revenue_index``.
``flows``
    ``project``, ``year``, ``type`` (cost | revenue), ``category``,
    ``amount`` [EUR, price level, ≥ 0], optional ``sales_linked``.

Reading and checking the files is :func:`grex.io.read_portfolio`; this
module holds the checked tables and the checks that need the valuation year.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from grex.errors import InputError
from grex.limits import check_amounts

__all__ = [
    "COST_CATEGORIES",
    "FLOW_COLUMNS",
    "FLOW_TYPES",
    "PROJECT_COLUMNS",
    "REVENUE_CATEGORIES",
    "STATUSES",
    "Portfolio",
]

#: Complex statuses (DOMAIN.md section 1).
STATUSES = ("vastgesteld", "voorbereiding", "strategisch")
#: Flow types.
FLOW_TYPES = ("cost", "revenue")
#: Cost categories, kostensoorten (Bro art. 6.2.3–6.2.5; DOMAIN.md section 7).
COST_CATEGORIES = ("verwerving", "sloop", "bodem", "bouwrijp", "woonrijp", "plankosten", "bijdragen", "overig")
#: Revenue categories (DOMAIN.md section 7).
REVENUE_CATEGORIES = (
    "wonen_sociaal",
    "wonen_betaalbaar",
    "wonen_vrij",
    "bedrijven",
    "maatschappelijk",
    "overig",
    "subsidie",
)
#: Columns of ``projects``: required, then optional.
PROJECT_COLUMNS = {
    "required": ("project", "name", "status", "book_value", "realised_costs", "realised_revenues", "profit_taken"),
    "optional": ("end_year", "price_level", "uncertainty_margin", "cost_index", "revenue_index"),
}
#: Columns of ``flows``: required, then optional.
FLOW_COLUMNS = {
    "required": ("project", "year", "type", "category", "amount"),
    "optional": ("sales_linked",),
}


@dataclass(frozen=True)
class Portfolio:
    """Checked portfolio tables.

    Attributes
    ----------
    projects : DataFrame
        One row per complex in file order, the columns of
        :data:`PROJECT_COLUMNS` (optional ones filled with NA), plus ``row``:
        where the row stands in its file, for messages.
    flows : DataFrame
        One row per flow, the columns of :data:`FLOW_COLUMNS`
        (``sales_linked`` filled with False), plus ``row``.
    projects_source, flows_source : str
        The files (or ``file[sheet]``) the tables came from.
    """

    projects: pd.DataFrame
    flows: pd.DataFrame
    projects_source: str = "projects"
    flows_source: str = "flows"

    def __post_init__(self) -> None:
        check_amounts(self)  # an amount above 10^12 EUR in one row is a unit mistake (grex.limits)

    @property
    def ids(self) -> list[str]:
        return self.projects["project"].tolist()

    def check_years(self, valuation_year: int) -> None:
        """The checks that need the valuation year V.

        Raises :class:`InputError` for a flow before V, an ``end_year``
        before V or before the complex's last flow, and a ``price_level``
        more than 50 years from V.
        """
        early = self.flows[self.flows["year"] < valuation_year]
        if len(early):
            first = early.iloc[0]
            raise InputError(
                self.flows_source,
                f"{first['row']}, column 'year'",
                f"flow in {first['year']} lies before the valuation year {valuation_year}: "
                "past flows belong in book_value, realised_costs and realised_revenues",
            )
        projects = self.projects
        last_flow = projects["project"].map(self.flows.groupby("project")["year"].max())
        end_year = projects["end_year"]
        checks = (
            (
                end_year.notna() & (end_year < valuation_year),
                "end_year",
                lambda c: f"end_year {c['end_year']} lies before the valuation year {valuation_year}",
            ),
            (
                end_year.notna() & last_flow.notna() & (end_year < last_flow),
                "end_year",
                lambda c: (
                    f"end_year {c['end_year']} lies before the last flow of {c['project']!r} in {int(c['last_flow'])}"
                ),
            ),
            (
                projects["price_level"].notna() & ((projects["price_level"] - valuation_year).abs() > 50),
                "price_level",
                lambda c: (
                    f"price level {c['price_level']} is more than 50 years from the valuation year {valuation_year}"
                ),
            ),
        )
        for failed, column, message in checks:
            failed = failed.fillna(False).to_numpy(dtype=bool)
            if failed.any():
                complex_ = projects.assign(last_flow=last_flow)[failed].iloc[0]
                raise InputError(self.projects_source, f"{complex_['row']}, column '{column}'", message(complex_))

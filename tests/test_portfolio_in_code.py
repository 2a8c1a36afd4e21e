"""One validation path: a portfolio built in code is checked as one read from files."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLE
from grex.errors import InputError
from grex.io import read_portfolio, read_scenario
from grex.portfolio import Portfolio, check_tables
from grex.valuation import input_hash, value_portfolio


@pytest.fixture(scope="module")
def example():
    scenario = read_scenario(EXAMPLE)
    return scenario, read_portfolio(scenario.portfolio)


def frames():
    projects = pd.DataFrame(
        {
            "project": ["a", "b"],
            "name": ["Alpha", "Beta"],
            "status": ["vastgesteld", "strategisch"],
            "book_value": [1000.0, 500.0],
            "realised_costs": [0.0, 0.0],
            "realised_revenues": [0.0, 0.0],
            "profit_taken": [0.0, 0.0],
        }
    )
    flows = pd.DataFrame(
        {
            "project": ["a", "a"],
            "year": [2024, 2025],
            "type": ["cost", "revenue"],
            "category": ["bouwrijp", "wonen_vrij"],
            "amount": [100.0, 500.0],
        }
    )
    return projects, flows


def test_built_in_code_equals_read_from_files(example):
    scenario, portfolio = example
    projects = portfolio.projects.drop(columns="row")
    flows = portfolio.flows.drop(columns="row")
    built = Portfolio(projects, flows)
    pd.testing.assert_frame_equal(built.projects.drop(columns="row"), projects)
    pd.testing.assert_frame_equal(built.flows.drop(columns="row"), flows)
    assert input_hash(scenario, built) == input_hash(scenario, portfolio)
    pd.testing.assert_frame_equal(
        value_portfolio(scenario, built).complexes(), value_portfolio(scenario, portfolio).complexes()
    )
    # a checked table keeps naming rows as its file did
    again = Portfolio(portfolio.projects, portfolio.flows)
    assert list(again.projects["row"]) == list(portfolio.projects["row"])


def test_optional_columns_filled_and_types_given():
    portfolio = Portfolio.from_frames(*frames())
    assert portfolio.projects["end_year"].dtype == "Int64" and portfolio.projects["end_year"].isna().all()
    assert portfolio.flows["year"].dtype == "int64" and not portfolio.flows["sales_linked"].any()
    assert list(portfolio.projects["row"]) == ["index 0", "index 1"]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (
            lambda p, f: p.assign(realised_costs=[0.0, -5.0]),
            ["projects table: index 1, column 'realised_costs'", "negative"],
        ),
        (lambda p, f: p.assign(book_value=[np.nan, 1.0]), ["projects table: index 0, column 'book_value'", "empty"]),
        (lambda p, f: p.assign(book_value=["veel", 1.0]), ["index 0, column 'book_value'", "'veel' is not a number"]),
        (lambda p, f: p.assign(book_value=[np.inf, 1.0]), ["index 0, column 'book_value'", "finite"]),
        (lambda p, f: p.assign(book_value=[True, 1.0]), ["index 0, column 'book_value'", "True is not a number"]),
        (lambda p, f: p.assign(project=["a", "a"]), ["projects table: index 1, column 'project'", "duplicate"]),
        (lambda p, f: p.assign(status=["adopted", "strategisch"]), ["column 'status'", "'adopted'"]),
        (lambda p, f: p.assign(cost_index=[2.0, np.nan]), ["index 0, column 'cost_index'", "percentage"]),
        (
            lambda p, f: p.rename(columns={"book_value": "bookvalue"}),
            ["column 'bookvalue'", "did you mean 'book_value'"],
        ),
        (lambda p, f: p.drop(columns="name"), ["projects table: column 'name'", "required column is missing"]),
        (lambda p, f: p.iloc[:0], ["projects table", "has no complexes"]),
    ],
)
def test_bad_projects_refused_naming_table_row_and_column(change, fragments):
    projects, flows = frames()
    with pytest.raises(InputError) as error:
        Portfolio(change(projects, flows), flows)
    for fragment in fragments:
        assert fragment in str(error.value)


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda f: f.assign(project=["a", "x"]), ["flows table: index 1, column 'project'", "unknown project 'x'"]),
        (lambda f: f.assign(amount=[100.0, "honderd"]), ["flows table: index 1, column 'amount'", "not a number"]),
        (lambda f: f.assign(year=[2024.5, 2025]), ["index 0, column 'year'", "not a year"]),
        (lambda f: f.assign(type=["kost", "revenue"]), ["index 0, column 'type'", "'kost'"]),
        (lambda f: f.assign(category=["wonen_vrij", "wonen_vrij"]), ["index 0, column 'category'", "cost category"]),
        (lambda f: f.assign(sales_linked=["maybe", None]), ["index 0, column 'sales_linked'", "true or false"]),
    ],
)
def test_bad_flows_refused_naming_table_row_and_column(change, fragments):
    projects, flows = frames()
    with pytest.raises(InputError) as error:
        Portfolio(projects, change(flows))
    for fragment in fragments:
        assert fragment in str(error.value)


def test_sources_and_row_column_name_the_place():
    projects, flows = frames()
    flows = flows.assign(amount=[1.0, "NaN"], row=["sheet 3 line 7", "sheet 3 line 8"])
    with pytest.raises(InputError, match=r"^my flows: sheet 3 line 8, column 'amount'"):
        Portfolio.from_frames(projects, flows, flows_source="my flows")


def test_replace_checks_again(example):
    _, portfolio = example
    bad = portfolio.flows.assign(amount=portfolio.flows["amount"].astype(object).where(portfolio.flows.index > 0, "x"))
    with pytest.raises(InputError, match="column 'amount'"):
        replace(portfolio, flows=bad)


def test_check_tables_leaves_the_given_frames_alone():
    projects, flows = frames()
    before = projects.copy()
    checked, _ = check_tables(projects, flows)
    pd.testing.assert_frame_equal(projects, before)
    assert projects.attrs == {} and "row" in checked.columns

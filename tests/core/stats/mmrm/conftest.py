"""Shared loaders for the MMRM tests: the committed reference data sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[3] / "reference" / "mmrm"

SPECS: dict[str, dict[str, Any]] = {
    "trial": dict(
        file="trial_seeded.csv",
        subject="subject",
        group="arm",
        time="visit",
        outcome="caps5",
        covariates=(),
        group_order=("ketamine", "midazolam"),
        time_order=("baseline", "week1", "week2"),
    ),
    "dropout": dict(
        file="dropout_seeded.csv",
        subject="subject",
        group="arm",
        time="visit",
        outcome="caps5",
        covariates=("age", "sex"),
        group_order=("ketamine", "midazolam"),
        time_order=("v0", "v1", "v2", "v3"),
    ),
    "orthodont": dict(
        file="orthodont.csv",
        subject="Subject",
        group="Sex",
        time="age",
        outcome="distance",
        covariates=(),
        group_order=("Female", "Male"),
        time_order=("age8", "age10", "age12", "age14"),
    ),
    "fev": dict(
        file="fev_data.csv",
        subject="USUBJID",
        group="ARMCD",
        time="AVISIT",
        outcome="FEV1",
        covariates=("RACE", "SEX"),
        group_order=("TRT", "PBO"),
        time_order=("VIS1", "VIS2", "VIS3", "VIS4"),
    ),
}


def _load(name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    spec = dict(SPECS[name])
    path = Path(spec.pop("file"))
    return pd.read_csv(REF / path), spec


@pytest.fixture(scope="session")
def r_reference() -> dict[str, Any]:
    with open(REF / "r_reference.json") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="session")
def mmrm_data() -> Callable[[str], tuple[pd.DataFrame, dict[str, Any]]]:
    """``mmrm_data(name)`` -> (frame, fit_mmrm keyword arguments)."""
    return _load

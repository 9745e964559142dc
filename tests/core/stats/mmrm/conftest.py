"""Shared loaders for the MMRM tests: the committed reference data sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd.core.stats.mmrm.design import ClassVar, Term, build_design
from ketamine_ptsd.core.stats.mmrm.fit import CoreFit, fit_arrays
from ketamine_ptsd.core.stats.mmrm.inference import InferenceContext, make_context

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


_ARMCD_CACHE: dict[tuple[str, str], tuple[CoreFit, InferenceContext]] = {}


def _armcd_context(covariance: str, method: str) -> tuple[CoreFit, InferenceContext]:
    """fev_data, ``FEV1 = ARMCD`` (PBO reference, β = [intercept, TRT − PBO]), REPEATED
    AVISIT: the model of the SAS listings in design/KR and design/ddfm_covtype."""
    key = (covariance, method)
    if key not in _ARMCD_CACHE:
        frame = pd.read_csv(REF / "fev_data.csv").dropna(subset=["FEV1"])

        def cv(col: str, levels: list[str] | None = None) -> ClassVar:
            levs = tuple(levels or sorted(frame[col].unique()))
            codes = frame[col].map({v: i for i, v in enumerate(levs)}).to_numpy(dtype=np.intp)
            return ClassVar(col, codes, levs)

        arm = cv("ARMCD", ["PBO", "TRT"])
        design = build_design((Term("ARMCD", ("ARMCD",)),), {"ARMCD": arm}, {}, len(frame))
        subject = cv("USUBJID").codes
        y = frame["FEV1"].to_numpy()
        fit = fit_arrays(subject, cv("AVISIT").codes, design.x, y, 4, covariance)
        _ARMCD_CACHE[key] = (fit, make_context(fit, design, subject, method))
    return _ARMCD_CACHE[key]


@pytest.fixture(scope="session")
def armcd_context() -> Callable[[str, str], tuple[CoreFit, InferenceContext]]:
    """``armcd_context(covariance, method)`` -> (fit, inference context), memoised."""
    return _armcd_context

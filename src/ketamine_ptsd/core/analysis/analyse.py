"""The §9 analysis plan on an analysis dataset (see the package docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import ResponseDefinition
from ketamine_ptsd.core.stats.mmrm import MMRMResult, fit_mmrm
from ketamine_ptsd.core.stats.ordinal import OrdinalFit, fit_ordinal
from ketamine_ptsd.core.stats.survival import kaplan_meier, logrank_test

from .adverse_events import summarise_adverse_events
from .blinding import assess_blinding
from .model import (
    DEFAULT_OUTCOMES,
    RCT_ALPHA_NOTE,
    RCT_NOMINAL_ALPHA,
    AnalysisDataset,
    AnalysisResults,
    Durability,
    OutcomeSpec,
    outcomes_from_plan,
    response_spec,
)
from .sensitivity import jump_to_reference_sensitivity
from .summaries import (
    consort_counts,
    count_responders,
    relabel,
    safety_summary,
    table_one,
)


def analyse(
    dataset: AnalysisDataset,
    *,
    plan: Any = None,
    outcomes: tuple[OutcomeSpec, ...] | None = None,
    blinded: bool = False,
    arm_codes: Mapping[str, str] | None = None,
    rng: np.random.Generator | None = None,
    response: ResponseDefinition | None = None,
    ongoing: frozenset[str] = frozenset(),
    alpha: float | None = None,
) -> AnalysisResults:
    """Run the §9 analysis on ``dataset``; see the module docstring.

    ``plan``: the protocol's analysis plan (``protocol.analysis``); its outcomes, time points,
    models and alpha are used unless ``outcomes``/``alpha`` are given explicitly. Without a plan,
    :data:`DEFAULT_OUTCOMES` and :data:`RCT_NOMINAL_ALPHA`. ``alpha`` (the trial's
    Pocock-adjusted nominal level) is reported beside p-values with its source
    (``alpha_note``); nothing is hidden behind it. ``response``: the protocol's
    response definition (``protocol.response``; without one, the RCT's §8). ``ongoing``: the
    subjects still within their primary window (CONSORT counts them apart from the lost).
    """
    responder_spec = response_spec(plan, response)
    if outcomes is None:
        outcomes = DEFAULT_OUTCOMES if plan is None else outcomes_from_plan(plan)
    alpha_note = ""
    if alpha is None:
        alpha = RCT_NOMINAL_ALPHA if plan is None else float(plan.alpha)
        alpha_note = RCT_ALPHA_NOTE if plan is None else str(plan.alpha_note)
    arms = dataset.arms
    frames: Mapping[str, pd.DataFrame] = dataset.frames
    notes: list[str] = []
    if blinded:
        if arm_codes is None:
            if rng is None:
                raise InvalidInput(
                    "arm_codes",
                    "a blinded analysis needs the arm codes or a generator to draw them",
                )
            letters = [chr(ord("A") + i) for i in range(len(arms))]
            order = rng.permutation(len(arms))
            arm_codes = {arm: letters[int(j)] for arm, j in zip(arms, order, strict=True)}
        if set(arm_codes) != set(arms):
            raise InvalidInput("arm_codes", "must code every arm", sorted(arm_codes))
        frames = relabel(frames, arm_codes)
        arms = tuple(sorted(arm_codes.values()))
        notes.append("Arms are coded; the key is held by the independent statistician (§3).")
    missing: list[str] = []
    mmrm: dict[str, tuple[OutcomeSpec, MMRMResult]] = {}
    ordinal: dict[str, tuple[OutcomeSpec, OrdinalFit]] = {}
    out = frames["outcomes"]
    two_arms = len(arms) == 2
    group_order = list(arms) if blinded else list(reversed(arms))
    if two_arms:
        difference_label = f"{group_order[0]} − {group_order[1]}"
    else:
        difference_label = "not applicable (one arm)"
    for spec in outcomes:
        data = out[(out["measure"] == spec.name) & out["time"].isin(spec.time_points)]
        if data.empty:
            missing.append(f"{spec.label}: no data")
            continue
        if not two_arms:
            missing.append(f"{spec.label}: arm comparison needs two arms")
            continue
        try:
            if spec.model == "mmrm":
                mmrm[spec.name] = (
                    spec,
                    fit_mmrm(
                        data,
                        subject="subject",
                        group="arm",
                        time="time",
                        outcome="value",
                        time_order=list(spec.time_points),
                        group_order=group_order,
                    ),
                )
            else:
                ordinal[spec.name] = (
                    spec,
                    fit_ordinal(
                        data["subject"].tolist(),
                        data["arm"].tolist(),
                        data["time"].tolist(),
                        [int(v) for v in data["value"]],
                        group_order=group_order,
                        time_order=list(spec.time_points),
                        scale=range(1, 8),
                    ),
                )
        except InvalidInput as exc:
            missing.append(f"{spec.label}: {exc}")
    responders = count_responders(out, frames["subjects"], arms, responder_spec)
    dur = frames["durability"]
    curves = tuple(
        kaplan_meier(g["time_days"].tolist(), g["event"].tolist(), group=str(arm))
        for arm in arms
        if not (g := dur[dur["arm"] == arm]).empty
    )
    logrank = None
    if len(curves) >= 2:
        logrank = logrank_test(
            dur["time_days"].tolist(), dur["event"].tolist(), dur["arm"].astype(str).tolist()
        )
    sensitivity = None
    primary = next((s for s in outcomes if s.model == "mmrm" and s.name in mmrm), None)
    if two_arms and not blinded and primary is not None:
        try:
            sensitivity = jump_to_reference_sensitivity(
                out, primary, (arms[0], arms[1]), alpha=alpha
            )
        except (InvalidInput, ValueError) as exc:
            missing.append(f"{primary.label}: reference-based sensitivity analysis: {exc}")
    return AnalysisResults(
        title=dataset.title,
        arms=arms,
        blinded=blinded,
        difference_label=difference_label,
        alpha=alpha,
        consort=consort_counts(frames, arms, responder_spec, ongoing),
        table1=table_one(frames["subjects"], arms),
        mmrm=mmrm,
        ordinal=ordinal,
        responders=responders,
        durability=Durability(curves=curves, logrank=logrank, data=dur.copy()),
        safety=safety_summary(frames, arms),
        missing=tuple(missing),
        notes=tuple(notes),
        sensitivity=sensitivity,
        blinding=assess_blinding(frames.get("blinding_guesses"), arms),
        alpha_note=alpha_note,
        ae_summary=summarise_adverse_events(
            frames["adverse_events"],
            frames["subjects"],
            arms,
            codings=frames.get("adverse_event_codings"),
        ),
    )

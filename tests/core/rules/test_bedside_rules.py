"""The bedside completed (issue 12): the vitals window, respiration and sedation, and the
protocol validator's checks of them (PROTOCOL.md §6, §11, §12)."""

from __future__ import annotations

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol, validate
from ketamine_ptsd.core.rules import (
    VitalSigns,
    check_vitals_window,
    missing_vitals_minutes,
    vital_sign_alerts,
)


@pytest.mark.parametrize(
    ("minute", "elapsed", "ok"),
    [
        (120, 1, False),  # issue 12: "120 min" one minute after the start
        (120, 117.9, False),
        (120, 118, True),
        (120, 130, True),
        (120, 130.1, False),
        (5, 3, True),
        (5, 2.9, False),
        (0, 500, True),  # the baseline has no window after the start
    ],
)
def test_a_reading_is_entered_within_its_window(
    rct: Protocol, minute: int, elapsed: float, ok: bool
) -> None:
    if ok:
        check_vitals_window(rct, minute, elapsed)
        return
    with pytest.raises(InvalidInput) as refused:
        check_vitals_window(rct, minute, elapsed)
    assert refused.value.field == "minute" and "PROTOCOL.md §6" in refused.value.message


def test_missing_minutes_are_the_due_ones_neither_taken_nor_explained(rct: Protocol) -> None:
    assert missing_vitals_minutes(rct, "ketamine", 12, {0, 5}, set()) == (10,)
    assert missing_vitals_minutes(rct, "ketamine", 12, {0, 5}, {10}) == ()
    every = missing_vitals_minutes(rct, "ketamine", 130, set(), set())
    assert every == (0, 5, 10, 15, 20, 25, 30, 35, 40, 55, 70, 85, 100, 115, 120)


@pytest.mark.parametrize(
    ("rr", "moaas", "parameters"),
    [
        (8, 3, []),
        (7, 3, ["respiratory_rate_per_min"]),
        (24, 3, []),
        (25, 3, ["respiratory_rate_per_min"]),
        (14, 2, ["moaas"]),
        (14, 0, ["moaas"]),
        (None, None, []),
    ],
)
def test_respiration_and_sedation_alert_beyond_the_protocols_bounds(
    rct: Protocol, rr: int | None, moaas: int | None, parameters: list[str]
) -> None:
    alerts = vital_sign_alerts(VitalSigns(126, 80, 72, 98, rr, moaas), rct.monitoring.alerts)
    assert [a.parameter for a in alerts] == parameters
    assert all("(PROTOCOL.md §6)" in a.message for a in alerts)


@pytest.mark.parametrize(
    ("field", "value"),
    [("respiratory_rate_per_min", 81), ("moaas", 6), ("moaas", -1), ("moaas", True)],
)
def test_implausible_respiration_or_sedation_is_a_named_input_error(
    field: str, value: object
) -> None:
    with pytest.raises(InvalidInput) as refused:
        VitalSigns(**{field: value})  # type: ignore[arg-type]
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("alerts", "respiratory_rate_low_per_min"), 30, "respiratory_rate_low_per_min"),
        (("alerts", "moaas_alert_at_or_below"), 5, "moaas_alert_at_or_below"),
        (("vitals_window", "late_minutes"), 40, "vitals_window"),
        (("vitals_window", "early_minutes"), -1, "vitals_window"),
    ],
)
def test_the_validator_refuses_unusable_bedside_parameters(
    rct: Protocol, path: tuple[str, str], value: int, words: str
) -> None:
    section, name = path
    monitoring = rct.monitoring
    changed = getattr(monitoring, section).model_copy(update={name: value})
    protocol = rct.model_copy(
        update={"monitoring": monitoring.model_copy(update={section: changed})}
    )
    assert any(words in p for p in validate(protocol))
    assert not any(words in p for p in validate(rct))


def test_the_validator_refuses_a_worsening_limit_not_rated_after_the_start(rct: Protocol) -> None:
    dis = rct.monitoring.discharge
    limit = dis.worsening_limits[0].model_copy(update={"instrument": "madrs"})
    changed = dis.model_copy(update={"worsening_limits": (limit, limit)})
    protocol = rct.model_copy(
        update={"monitoring": rct.monitoring.model_copy(update={"discharge": changed})}
    )
    problems = validate(protocol)
    assert any("must be rated at minute 0 and after the start" in p for p in problems)
    assert any("listed twice" in p for p in problems)


def test_the_baseline_before_infusion_1_comes_from_the_protocol(
    rct: Protocol, clinical: Protocol
) -> None:
    """Issue 12 item 12: the response instrument and the outcomes modelled from the baseline to
    the primary time point (RCT: CAPS-5, MADRS; the clinic: CAPS-5), not literals."""
    from ketamine_ptsd.core.rules import baseline_instruments, missing_baseline

    assert baseline_instruments(rct) == ("baseline", ("caps5_past_week", "madrs"))
    assert baseline_instruments(clinical) == ("baseline", ("caps5_past_week",))
    assert missing_baseline(rct, {"caps5_past_week", "cgi_s"}) == ("madrs",)
    assert missing_baseline(rct, {"caps5_past_week", "madrs"}) == ()
    assert rct.analysis is not None
    only_caps = rct.analysis.model_copy(
        update={"outcomes": tuple(o for o in rct.analysis.outcomes if o.instrument != "madrs")}
    )
    assert baseline_instruments(rct.model_copy(update={"analysis": only_caps}))[1] == (
        "caps5_past_week",
    )


@pytest.mark.parametrize(
    ("update", "words"),
    [
        ({"routes": ("IVV",)}, "routes"),
        ({"usual_dose_mg": 30.0}, "usual_dose_mg <= max_single_dose_mg"),
        ({"max_daily_dose_mg": 10.0}, "max_single_dose_mg <= max_daily_dose_mg"),
        ({"usual_dose_mg": 0.0}, "0 < usual_dose_mg"),
        ({"indication": " "}, "indication"),
    ],
)
def test_the_validator_refuses_an_unusable_rescue_formulary(
    rct: Protocol, update: dict[str, object], words: str
) -> None:
    formulary = rct.monitoring.rescue_formulary
    changed = (formulary[0].model_copy(update=update), *formulary[1:])
    protocol = rct.model_copy(
        update={"monitoring": rct.monitoring.model_copy(update={"rescue_formulary": changed})}
    )
    assert any(words in p for p in validate(protocol))
    empty = rct.model_copy(
        update={"monitoring": rct.monitoring.model_copy(update={"rescue_formulary": ()})}
    )
    assert any("rescue_formulary" in p for p in validate(empty))


def test_an_unknown_medication_class_to_flag_is_refused(rct: Protocol) -> None:
    checks = rct.pre_infusion.model_copy(update={"flag_medication_classes": ("benzos",)})
    problems = validate(rct.model_copy(update={"pre_infusion": checks}))
    assert any("unknown class 'benzos'" in p for p in problems)

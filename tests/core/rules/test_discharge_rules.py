"""Discharge readiness (PROTOCOL.md §6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.protocol import Protocol
from ketamine_ptsd.core.rules import DischargeFindings, VitalSigns, discharge_readiness

START = dt.datetime(2024, 3, 4, 9, 0)
END = START + dt.timedelta(minutes=40)


def _findings(minutes_after_start: int) -> DischargeFindings:
    return DischargeFindings(
        infusion_start=START,
        infusion_end=END,
        now=START + dt.timedelta(minutes=minutes_after_start),
        dissociation_baseline=2,
        dissociation_latest=4,
        ambulatory_unaided=True,
        delayed_effects_checked=True,
        physician_signoff=True,
        latest_vitals=VitalSigns(132, 84, 80, 97),
        vitals_missing=(),
        rating_changes={"bprs_positive": (4, 5), "ymrs_item1": (0, 0)},
    )


def test_rct_discharge_at_120_minutes_after_start_not_before(rct: Protocol) -> None:
    early = discharge_readiness(rct, _findings(119))
    assert not early.ready
    assert "until 11:00 (1 min to go)" in early.reasons[0]
    ready = discharge_readiness(rct, _findings(120))
    assert ready.ready and ready.reasons == ()
    assert ready.earliest_discharge == START + dt.timedelta(minutes=120)


def test_clinical_discharge_two_hours_after_infusion_end(clinical: Protocol) -> None:
    assert not discharge_readiness(clinical, _findings(159)).ready
    ready = discharge_readiness(clinical, _findings(160))
    assert ready.ready and ready.earliest_discharge == END + dt.timedelta(hours=2)


def test_clinical_needs_the_infusion_end_time(clinical: Protocol) -> None:
    result = discharge_readiness(clinical, replace(_findings(300), infusion_end=None))
    assert not result.ready and "end of the infusion is not recorded" in result.reasons[0]
    assert "infusion end not recorded; observation counts from it" in result.reasons[1]


def test_the_rct_needs_the_recorded_end_too(rct: Protocol) -> None:
    """Issue 12 item 4: the RCT counts observation from the start, but a day never ended is not
    discharged (PROTOCOL.md §6, §12: the actual end time)."""
    result = discharge_readiness(rct, replace(_findings(300), infusion_end=None))
    assert result.codes == ("infusion_end",)
    assert result.reasons == ("the actual end of the infusion is not recorded (PROTOCOL.md §12)",)


@pytest.mark.parametrize(
    ("missing", "codes"), [((), ()), ((55,), ("vitals_missing",)), (None, ("vitals_missing",))]
)
def test_every_scheduled_reading_present_or_explained(
    rct: Protocol, missing: tuple[int, ...] | None, codes: tuple[str, ...]
) -> None:
    result = discharge_readiness(rct, replace(_findings(150), vitals_missing=missing))
    assert result.codes == codes
    if missing:
        assert "minute(s) 55'" in result.reasons[0]
    if missing is None:
        assert "not checked" in result.reasons[0]


@pytest.mark.parametrize(
    ("bprs", "ymrs", "decided", "held"),
    [
        ((4, 7), (0, 1), False, False),  # +3 and +1: at the margins
        ((4, 8), (0, 0), False, True),  # BPRS+ +4
        ((4, 4), (0, 2), False, True),  # YMRS item 1 +2
        ((4, 8), (0, 2), True, False),  # a physician's recorded decision
        ((None, 8), (0, 0), False, True),  # no pre-infusion score to compare with
        ((4, None), (0, 0), True, True),  # not rated after: a decision does not stand in
    ],
)
def test_emergent_psychosis_or_mania_at_the_protocols_margin(
    rct: Protocol,
    bprs: tuple[float | None, float | None],
    ymrs: tuple[float | None, float | None],
    decided: bool,
    held: bool,
) -> None:
    changes = {"bprs_positive": bprs, "ymrs_item1": ymrs}
    result = discharge_readiness(
        rct, replace(_findings(150), rating_changes=changes, worsening_decision=decided)
    )
    assert ("psychiatric" in result.codes) is held
    assert set(result.codes) <= {"psychiatric"}


@pytest.mark.parametrize(("latest", "ready"), [(6, True), (7, False)])
def test_dissociation_must_be_back_near_baseline(rct: Protocol, latest: float, ready: bool) -> None:
    result = discharge_readiness(rct, replace(_findings(150), dissociation_latest=latest))
    assert result.ready is ready
    if not ready:
        assert "dissociation not resolved: cadss 7 is 5 above baseline 2" in result.reasons[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ambulatory_unaided": False}, "walking unaided"),
        ({"delayed_effects_checked": None}, "delayed effects"),
        ({"physician_signoff": False}, "physician assessment and sign-off outstanding"),
        ({"dissociation_latest": None}, "cadss before the infusion and now are both needed"),
        ({"latest_vitals": VitalSigns(185, 95, 80, 97)}, "systolic mmHg 185 is above"),
    ],
)
def test_every_unmet_criterion_is_listed(
    rct: Protocol, change: dict[str, object], reason: str
) -> None:
    result = discharge_readiness(rct, replace(_findings(150), **change))  # type: ignore[arg-type]
    assert not result.ready
    assert any(reason in r for r in result.reasons), result.reasons
    assert all(r.endswith(("(PROTOCOL.md §6)", "(PROTOCOL.md §12)")) for r in result.reasons)


def test_several_unmet_criteria_are_all_listed(rct: Protocol) -> None:
    findings = replace(_findings(60), ambulatory_unaided=False, physician_signoff=False)
    assert len(discharge_readiness(rct, findings).reasons) == 3


def test_times_out_of_order_are_refused(rct: Protocol) -> None:
    with pytest.raises(InvalidInput) as info:
        discharge_readiness(rct, replace(_findings(0), now=START - dt.timedelta(minutes=1)))
    assert info.value.field == "now"
    with pytest.raises(InvalidInput) as info:
        discharge_readiness(rct, replace(_findings(60), infusion_end=START - dt.timedelta(1)))
    assert info.value.field == "infusion_end"

"""The esketamine session's monitoring form (issue 13; PROTOCOL.md §11): the REMS patient
monitoring form's fields as one JSON object, and the same as a one-page PDF (matplotlib, like the
trial report) for the clinic's file and for submission.

The form's fields: the patient (study id and REMS enrolment number), the setting and its
certification, the monitoring provider and prescriber, the treatment date, the concomitant
medicines by the form's classes, the dose (56 mg, 84 mg or other) and device lot, the total time
from the first device to the end of monitoring, when the patient would have been ready to leave
without the 2-hour rule, whether vital signs were acceptable before dosing and at the end, the
blood pressure before dosing, at about 40 minutes and before the end, and each sedation,
dissociation or respiratory-depression event with when it resolved.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from ketamine_ptsd.core.protocol import EsketaminePlan
from ketamine_ptsd.services.esketamine import SessionView

__all__ = ["form_data", "form_lines", "form_pdf"]

CLASS_LABELS = {
    "benzodiazepine": "Benzodiazepines",
    "non_benzodiazepine_sedative_hypnotic": "Non-benzodiazepine sedative hypnotics",
    "psychostimulant": "Psychostimulants",
    "maoi": "Monoamine oxidase inhibitors (MAOIs)",
    "opioid": "Opioids",
}


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _bp(reading: Any | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {
        "taken_at": _iso(reading.taken_at),
        "minute": reading.minute,
        "systolic": reading.systolic,
        "diastolic": reading.diastolic,
    }


def form_data(view: SessionView, plan: EsketaminePlan) -> dict[str, Any]:
    """The monitoring form as JSON-ready data (the REMS form's fields, §11)."""
    bp = [r for r in view.readings if r.systolic is not None]
    low = plan.bp_after_dose_minute - plan.bp_after_dose_window_minutes
    high = plan.bp_after_dose_minute + plan.bp_after_dose_window_minutes
    at_40 = next((r for r in bp if low <= r.minute <= high), None)
    end = view.ended_at
    before_end = (
        next(
            (
                r
                for r in reversed(bp)
                if end - dt.timedelta(minutes=plan.bp_before_end_minutes) <= r.taken_at <= end
            ),
            None,
        )
        if end is not None
        else None
    )
    hold = plan.bp_hold
    before_ok = (
        view.bp_before_systolic <= hold.systolic_above_mmhg
        and view.bp_before_diastolic <= hold.diastolic_above_mmhg
    )
    return {
        "form": "esketamine REMS patient monitoring form",
        "section": plan.section,
        "patient": {"study_id": view.study_id, "rems_patient_id": view.rems_patient_id},
        "session_number": view.session_number,
        "treatment_date": _iso(view.session_date),
        "schedule_phase": view.phase,
        "setting": {"name": view.setting_name, "rems_certified": view.setting_certified},
        "monitoring_provider": view.monitoring_provider,
        "prescriber": view.prescriber,
        "concomitant_medicines": {
            c: c in view.concomitant_classes for c in plan.concomitant_classes
        },
        "concomitant_notes": view.concomitant_notes,
        "dose": {
            "choice": view.dose_choice,
            "mg": view.dose_mg,
            "other_reason": view.other_dose_reason,
        },
        "device_lot": view.device_lot,
        "first_device_at": _iso(view.first_device_at),
        "monitoring_ended_at": _iso(view.ended_at),
        "total_monitoring_minutes": view.total_monitoring_minutes,
        "ready_to_leave_at": _iso(view.ready_to_leave_at),
        "ready_to_leave_minutes": (
            int((view.ready_to_leave_at - view.first_device_at).total_seconds() // 60)
            if view.ready_to_leave_at is not None
            else None
        ),
        "blood_pressure": {
            "before_dosing": {
                "systolic": view.bp_before_systolic,
                "diastolic": view.bp_before_diastolic,
            },
            "about_40_minutes": _bp(at_40),
            "before_end": _bp(before_end),
        },
        "vital_signs_acceptable": {
            "before_dosing": before_ok or any(d.kind == "release_bp_hold" for d in view.decisions),
            "at_end": before_end is not None and view.ended_at is not None,
        },
        "pulse_oximetry": [
            {"minute": r.minute, "spo2_percent": r.spo2_percent}
            for r in view.readings
            if r.spo2_percent is not None
        ],
        "events": {
            kind: [
                {"onset_at": _iso(e.onset_at), "resolved_at": _iso(e.resolved_at)}
                for e in view.events
                if e.kind == kind
            ]
            for kind in ("sedation", "dissociation", "respiratory_depression")
        },
        "moaas": [
            {"minute": r.minute, "score": r.moaas} for r in view.readings if r.moaas is not None
        ],
        "prescriber_decisions": [
            {"kind": d.kind, "released": d.released, "reason": d.reason, "by": d.decided_by}
            for d in view.decisions
        ],
        "discharged_at": _iso(view.discharged_at),
        "discharged_by": view.discharged_by,
        "form_due_on": _iso(view.form_due_on),
        "form_submitted_at": _iso(view.form_submitted_at),
    }


def _hm(value: str | None, zone: ZoneInfo) -> str:
    """hh:mm on the site's clock (the form is read where the session was given)."""
    return (
        "—"
        if value is None
        else dt.datetime.fromisoformat(value).astimezone(zone).strftime("%H:%M")
    )


def form_lines(data: dict[str, Any], time_zone: str = "UTC") -> list[tuple[str, str]]:
    """The form as (label, value) lines, times in ``time_zone``: the printable page and the PDF
    share them."""
    zone = ZoneInfo(time_zone)

    def _hm_(value: str | None) -> str:
        return _hm(value, zone)

    bp = data["blood_pressure"]

    def reading(r: dict[str, Any] | None) -> str:
        return (
            "not recorded"
            if r is None
            else f"{r['systolic']}/{r['diastolic']} mmHg at minute {r['minute']}"
        )

    dose = data["dose"]
    meds = [CLASS_LABELS.get(k, k) for k, v in data["concomitant_medicines"].items() if v]
    events = []
    for kind, rows in data["events"].items():
        label = kind.replace("_", " ")
        if not rows:
            events.append((label.capitalize(), "no"))
        for e in rows:
            events.append(
                (
                    label.capitalize(),
                    f"yes, {_hm_(e['onset_at'])}, resolved {_hm_(e['resolved_at'])}",
                )
            )
    acceptable = data["vital_signs_acceptable"]
    return [
        ("Patient", f"{data['patient']['study_id']} · REMS {data['patient']['rems_patient_id'] or '—'}"),
        ("Treatment date", f"{data['treatment_date']} (session {data['session_number']}, {data['schedule_phase']})"),
        ("Setting", f"{data['setting']['name']} · REMS certified: {'yes' if data['setting']['rems_certified'] else 'no'}"),
        ("Monitoring provider", data["monitoring_provider"]),
        ("Prescriber", data["prescriber"]),
        ("Concomitant medicines", ", ".join(meds) or "none of the form's classes"),
        ("Dose", f"{dose['mg']} mg" + (f" (other: {dose['other_reason']})" if dose["choice"] == "other" else "")),
        ("Device lot", data["device_lot"]),
        ("First device", _hm_(data["first_device_at"])),
        ("End of monitoring", _hm_(data["monitoring_ended_at"])),
        ("Total monitoring time", f"{data['total_monitoring_minutes']} min" if data["total_monitoring_minutes"] is not None else "—"),
        ("Ready to leave (without the 2-hour rule)", f"{_hm_(data['ready_to_leave_at'])}" + (f" (minute {data['ready_to_leave_minutes']})" if data["ready_to_leave_minutes"] is not None else "")),
        ("Blood pressure before dosing", f"{bp['before_dosing']['systolic']}/{bp['before_dosing']['diastolic']} mmHg"),
        ("Blood pressure about 40 min", reading(bp["about_40_minutes"])),
        ("Blood pressure before the end", reading(bp["before_end"])),
        ("Vital signs acceptable", f"before dosing: {'yes' if acceptable['before_dosing'] else 'no'} · at the end: {'yes' if acceptable['at_end'] else 'no'}"),
        ("Lowest SpO2", f"{min(p['spo2_percent'] for p in data['pulse_oximetry'])} %" if data["pulse_oximetry"] else "—"),
        *events,
        ("Discharged", f"{_hm_(data['discharged_at'])} by {data['discharged_by']}" if data["discharged_at"] else "not yet"),
        ("Form due", f"{data['form_due_on']}" + (f" · submitted {data['form_submitted_at'][:10]}" if data["form_submitted_at"] else " · not submitted")),
    ]  # fmt: skip


def form_pdf(data: dict[str, Any], time_zone: str = "UTC") -> bytes:
    """The form on one A4 page (text selectable: TrueType fonts; no creation date), times in
    ``time_zone``."""
    out = io.BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(out, metadata={"CreationDate": None}) as pdf,
    ):
        page = Figure(figsize=(8.27, 11.69))
        page.text(0.07, 0.95, "Esketamine REMS patient monitoring form", fontsize=15, weight="bold")
        page.text(
            0.07, 0.925, f"{data['section']} · the clinic pathway · times {time_zone}",
            fontsize=9, color="#555",
        )  # fmt: skip
        y = 0.89
        for label, value in form_lines(data, time_zone):
            page.text(0.07, y, label, fontsize=9.5, weight="bold", va="top")
            page.text(0.52, y, value, fontsize=9.5, va="top", wrap=True)
            y -= 0.031
        page.text(0.07, max(y - 0.02, 0.03), "Signature of the prescriber: ____________________",
                  fontsize=9.5)  # fmt: skip
        pdf.savefig(page)
    return out.getvalue()

"""The analysis dataset of a synthetic trial: the same tables a database extract will produce.

``analysis_frames(trial)`` flattens the per-patient records into the long-format frames that
``services.analysis.AnalysisDataset`` takes. Column contract (one table each):

- ``screening``: subject, screening_date, disposition (eligible / ineligible / declined), reason,
  override (the criteria an investigator's override named; none here).
- ``subjects`` (treated only): subject, arm, allocation_date, n_infusions, completed_infusions
  (bool), withdrawn (bool), withdrawal_reason, responder_flag (as recorded), and the Table 1
  variables age_years, sex, race, hispanic, bmi_kg_m2, ptsd_duration_years, caps5_past_month,
  madrs_baseline, comorbid_mdd, concomitant_psychotherapy, stable_psychotropics, primary_trauma.
- ``outcomes``: subject, arm, time, measure, value — measures named as the protocol's analysis
  outcomes (PROTOCOL.md §9, ``rct.yaml``): caps5_total, caps5_intrusion, caps5_avoidance,
  caps5_negative_cognitions_mood, caps5_arousal_reactivity, madrs_total, cgi_s, cgi_i,
  ies_r_24h, madrs_24h; values scored by ``core.instruments.score``.
- ``follow_up``: subject, arm, day, caps5_total.
- ``durability``: subject, arm, time_days, event (1 loss of response, 0 censored).
- ``vitals``: subject, arm, infusion, minute, systolic_mmhg, diastolic_mmhg, heart_rate_bpm,
  spo2_percent.
- ``infusion_ratings``: subject, arm, infusion, minute, measure (cadss, bprs_positive,
  ymrs_item1), value.
- ``side_effects``: subject, arm, infusion, timing (before / after_start), symptom, severity —
  only symptoms reported (not "no").
- ``interventions``: subject, arm, infusion, minute, drug, dose_mg, route, reason.
- ``adverse_events``: subject, arm, term, onset_date, infusion, severity, serious, related,
  action, outcome.
- ``cssrs``: subject, arm, time, positive, risk_level.
"""

from __future__ import annotations

import pandas as pd

from ketamine_ptsd.simulation.synthetic_trial import SyntheticTrial

__all__ = ["CAPS5_CLUSTER_MEASURES", "analysis_frames"]

CAPS5_CLUSTER_MEASURES = {
    "intrusion": "caps5_intrusion",
    "avoidance": "caps5_avoidance",
    "negative_cognitions_mood": "caps5_negative_cognitions_mood",
    "arousal_reactivity": "caps5_arousal_reactivity",
}
_TOTAL_MEASURE = {
    "caps5_past_week": "caps5_total",
    "madrs": "madrs_total",
    "cgi_s": "cgi_s",
    "cgi_i": "cgi_i",
    "ies_r": "ies_r_24h",
    "madrs_24h": "madrs_24h",
}


def analysis_frames(trial: SyntheticTrial) -> dict[str, pd.DataFrame]:
    """Flatten ``trial`` into the analysis dataset's tables (see the module docstring)."""
    screening, subjects, outcomes, follow, durability = [], [], [], [], []
    vitals, inf_ratings, side, interventions, aes, cssrs = [], [], [], [], [], []
    for p in trial.patients:
        s = p.screening
        screening.append(
            {
                "subject": p.patient_id,
                "screening_date": s.screening_date,
                "disposition": s.disposition,
                "reason": ", ".join(s.ineligible_reasons) or None,
                "override": None,  # the generator's patients are decided by the rules
            }
        )
        if p.arm is None:
            continue
        arm, d = p.arm, p.demographics
        baseline_madrs = p.assessment("madrs", "baseline")
        subjects.append(
            {
                "subject": p.patient_id,
                "arm": arm,
                "allocation_date": p.allocation_date,
                "n_infusions": len(p.infusions),
                "completed_infusions": p.withdrawal is None,
                "withdrawn": p.withdrawal is not None,
                "withdrawal_reason": p.withdrawal.reason if p.withdrawal else None,
                "responder_flag": bool(p.responder),
                "age_years": d.age_years,
                "sex": d.sex,
                "race": d.race,
                "hispanic": d.hispanic,
                "bmi_kg_m2": d.bmi_kg_m2,
                "ptsd_duration_years": d.ptsd_duration_years,
                "caps5_past_month": s.caps5_past_month.total,
                "madrs_baseline": baseline_madrs.total if baseline_madrs else None,
                "comorbid_mdd": d.comorbid_mdd,
                "concomitant_psychotherapy": d.concomitant_psychotherapy,
                "stable_psychotropics": d.stable_psychotropics,
                "primary_trauma": d.primary_trauma,
            }
        )
        for r in p.assessments:
            row = {"subject": p.patient_id, "arm": arm, "time": r.time_point}
            if r.instrument == "cssrs":
                cssrs.append(
                    {
                        **row,
                        "positive": bool(r.scored.derived["positive"]),
                        "risk_level": r.scored.derived["risk_level"],
                    }
                )
                continue
            measure = _TOTAL_MEASURE[r.instrument]
            value = r.total if r.instrument not in ("cgi_s", "cgi_i") else r.items["1"]
            outcomes.append({**row, "measure": measure, "value": float(value or 0)})
            if r.instrument == "caps5_past_week":
                for cluster, name in CAPS5_CLUSTER_MEASURES.items():
                    outcomes.append(
                        {**row, "measure": name, "value": float(r.scored.subscales[cluster])}
                    )
        for v in p.follow_up:
            follow.append(
                {"subject": p.patient_id, "arm": arm, "day": v.day, "caps5_total": v.caps5.total}
            )
        if p.loss_of_response_day is not None:
            durability.append(
                {
                    "subject": p.patient_id,
                    "arm": arm,
                    "time_days": p.loss_of_response_day,
                    "event": 1,
                }
            )
        elif p.censored_day is not None:
            durability.append(
                {"subject": p.patient_id, "arm": arm, "time_days": p.censored_day, "event": 0}
            )
        for day in p.infusions:
            base = {"subject": p.patient_id, "arm": arm, "infusion": day.number}
            for vs in day.vitals:
                vitals.append(
                    {
                        **base,
                        "minute": vs.minute,
                        "systolic_mmhg": vs.systolic_mmhg,
                        "diastolic_mmhg": vs.diastolic_mmhg,
                        "heart_rate_bpm": vs.heart_rate_bpm,
                        "spo2_percent": vs.spo2_percent,
                    }
                )
            for r in day.ratings:
                if r.instrument == "prise":
                    timing = "before" if r.minute == 0 else "after_start"
                    for symptom, level in r.items.items():
                        if level != "no":
                            side.append(
                                {**base, "timing": timing, "symptom": symptom, "severity": level}
                            )
                    continue
                inf_ratings.append(
                    {**base, "minute": r.minute, "measure": r.instrument, "value": r.total}
                )
            for given in day.interventions:
                interventions.append(
                    {
                        **base,
                        "minute": given.minute,
                        "drug": given.drug,
                        "dose_mg": given.dose_mg,
                        "route": given.route,
                        "reason": given.reason,
                    }
                )
        for ae in p.adverse_events:
            aes.append(
                {
                    "subject": p.patient_id,
                    "arm": arm,
                    "term": ae.term,
                    "onset_date": ae.onset_date,
                    "infusion": ae.infusion_number,
                    "severity": ae.severity,
                    "serious": ae.serious,
                    "related": ae.related_to_study_drug,
                    "action": ae.action,
                    "outcome": ae.outcome,
                }
            )

    def frame(rows: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=columns)

    return {
        "screening": frame(
            screening, ["subject", "screening_date", "disposition", "reason", "override"]
        ),
        "subjects": pd.DataFrame(subjects),
        "outcomes": frame(outcomes, ["subject", "arm", "time", "measure", "value"]),
        "follow_up": frame(follow, ["subject", "arm", "day", "caps5_total"]),
        "durability": frame(durability, ["subject", "arm", "time_days", "event"]),
        "vitals": frame(
            vitals,
            [
                "subject",
                "arm",
                "infusion",
                "minute",
                "systolic_mmhg",
                "diastolic_mmhg",
                "heart_rate_bpm",
                "spo2_percent",
            ],
        ),
        "infusion_ratings": frame(
            inf_ratings, ["subject", "arm", "infusion", "minute", "measure", "value"]
        ),
        "side_effects": frame(
            side, ["subject", "arm", "infusion", "timing", "symptom", "severity"]
        ),
        "interventions": frame(
            interventions,
            ["subject", "arm", "infusion", "minute", "drug", "dose_mg", "route", "reason"],
        ),
        "adverse_events": frame(
            aes,
            [
                "subject",
                "arm",
                "term",
                "onset_date",
                "infusion",
                "severity",
                "serious",
                "related",
                "action",
                "outcome",
            ],
        ),
        "cssrs": frame(cssrs, ["subject", "arm", "time", "positive", "risk_level"]),
    }

"""The synthetic trial's screening (eligible facts, screen failures) and the durability of response."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from scipy import stats

from ketamine_ptsd.simulation.synthetic_records import (
    Demographics,
    Rating,
    ScreeningRecord,
)

from .synthetic_helpers import (
    RCT_FAILING_FACT,
    caps5_past_month,
)


class ScreeningSteps:
    """The synthetic trial's screening (eligible facts, screen failures) and the durability of response."""

    def eligible_facts(self, demo: Demographics, caps_total: int) -> dict[str, Any]:
        if self.clinic:
            return {
                "age_years": demo.age_years,
                "chronic_ptsd_diagnosis": True,
                "adequate_trauma_focused_psychotherapy_trials": int(self.rng.integers(1, 4)),
                "adequate_ssri_snri_trials": int(self.rng.integers(2, 5)),
                "setting_continuous_monitoring": True,
                "consent_off_label_use": True,
                "consent_expected_dissociation": True,
                "consent_post_infusion_monitoring": True,
                "consent_limited_durability_maintenance": True,
                "maintenance_plan_documented": True,
                "uncontrolled_hypertension": False,
                "severe_cardiovascular_disease": False,
                "raised_intracranial_pressure": False,
                "active_psychosis": False,
                "acute_mania": False,
                "history_substance_use_disorder": False,
                "severe_hepatic_impairment": False,
                "pregnant": False,
                "current_benzodiazepine": False,
                "active_suicidal_intent": False,
                "safety_plan_documented": False,
            }
        return {
            "age_years": demo.age_years,
            "primary_chronic_ptsd_scid5": True,
            "ptsd_duration_months": round(demo.ptsd_duration_years * 12, 1),
            "caps5_past_month_total": caps_total,
            "independent_capacity_confirmed": True,
            "written_informed_consent": True,
            "serious_unstable_medical_illness": False,
            "active_suicidal_or_homicidal_ideation": False,
            "lifetime_psychotic_or_bipolar_disorder": False,
            "current_anorexia_or_bulimia": False,
            "substance_use_disorder_past_3_months": False,
            "recreational_ketamine_pcp_uses_lifetime": int(self.rng.choice((0, 0, 0, 1))),
            "recreational_ketamine_pcp_use_past_2_years": False,
            "current_long_acting_benzodiazepine": False,
            "current_opioid": False,
            "psychotropic_dose_changed_past_3_months": False,
        }

    def screening_record(
        self,
        demo: Demographics,
        caps_total: int,
        date: dt.date,
        disposition: str,
        reason: str | None = None,
        consent_date: dt.date | None = None,
    ) -> ScreeningRecord:
        facts = self.eligible_facts(demo, caps_total)
        if disposition == "declined":
            key = "consent_off_label_use" if self.clinic else "written_informed_consent"
            facts[key] = False
        elif reason is not None:
            if self.clinic:
                if reason == "ssri_snri_trials":
                    facts["adequate_ssri_snri_trials"] = 1
                elif reason == "trauma_focused_psychotherapy":
                    facts["adequate_trauma_focused_psychotherapy_trials"] = 0
                else:
                    facts[reason] = True
            elif reason != "caps5_severity":
                facts[RCT_FAILING_FACT[reason]] = True
        profile = self.rng.gamma(4.0, 0.25, 20)
        items = caps5_past_month(self.rng, caps_total, profile, demo.ptsd_duration_years * 12)
        return ScreeningRecord(
            screening_date=date,
            facts=facts,
            caps5_past_month=Rating("caps5_past_month", "screening", date, items),
            disposition=disposition,
            ineligible_reasons=(reason,) if reason else (),
            consent_date=consent_date,
        )

    def failure_demographics(self) -> Demographics:
        rng = self.rng
        female = bool(rng.uniform() < 0.75)
        height = float(np.clip(rng.normal(163.0 if female else 177.0, 7.0), 145, 200))
        bmi = round(float(np.clip(rng.normal(26.0, 5.3), 17, 45)), 1)
        return Demographics(
            age_years=int(np.clip(round(rng.normal(39.0, 13.0)), 18, 70)),
            sex="female" if female else "male",
            race=str(rng.choice(["Black", "Asian", "White", "Other"], p=(0.17, 0.17, 0.53, 0.13))),
            hispanic=bool(rng.uniform() < 0.1),
            height_cm=round(height, 1),
            weight_kg=round(bmi * (height / 100) ** 2, 1),
            bmi_kg_m2=bmi,
            ptsd_duration_years=round(float(rng.gamma(2.0, 7.0)) + 0.3, 1),
            comorbid_mdd=bool(rng.uniform() < 0.7),
            concomitant_psychotherapy=bool(rng.uniform() < 0.55),
            stable_psychotropics=bool(rng.uniform() < 0.45),
            primary_trauma=str(rng.choice(["sexual assault", "physical assault", "combat"])),
        )

    def loss_days(self, n_losers: int, censored_share: float) -> list[float]:
        """Stratified draws from a normal whose quantiles put the Kaplan–Meier quartiles (with
        the censored responders above every event) at the configured values."""
        q25, _, q75 = self.config.loss_quartiles_days
        scale = 1.0 / max(1.0 - censored_share, 1e-6)
        p25, p75 = min(0.25 * scale, 0.98), min(0.75 * scale, 0.99)
        z25, z75 = stats.norm.ppf(p25), stats.norm.ppf(p75)
        sd = (q75 - q25) / (z75 - z25)
        mean = q25 - z25 * sd
        u = (self.rng.permutation(n_losers) + self.rng.uniform(size=n_losers)) / max(n_losers, 1)
        return [float(max(3.0, mean + sd * stats.norm.ppf(x))) for x in u]

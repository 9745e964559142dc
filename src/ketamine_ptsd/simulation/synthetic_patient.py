"""One randomized patient of the synthetic trial: scores over the series, infusion days, follow-up."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ketamine_ptsd.simulation.synthetic_infusion import (
    make_infusion_day,
)
from ketamine_ptsd.simulation.synthetic_records import (
    AdverseEvent,
    FollowUpVisit,
    InfusionDay,
    Rating,
    ScreeningRecord,
    SyntheticPatient,
    Withdrawal,
)

from .synthetic_helpers import (
    ArmPlan,
    ArmProfile,
    FloatArray,
    caps5_items,
    cgi_i_score,
    cgi_s_score,
    cssrs_items,
    spread,
    truncnorm,
)


class TreatedPatientSteps:
    """One randomized patient of the synthetic trial: scores over the series, infusion days, follow-up."""

    def max_responder_total(self, baseline: int) -> int:
        """The highest week-2 total that is still a ≥ threshold reduction (exact arithmetic)."""
        return math.floor(baseline * (1 - self.threshold))

    def week2_total(self, baseline: int, responder: bool, profile: ArmProfile) -> int:
        cut = self.max_responder_total(baseline)
        t = float(self.threshold)
        if responder:
            m, s = profile.responder_reduction
            r = truncnorm(self.rng, m, s, t, 0.95)
            return int(min(cut, max(0, round(baseline * (1 - r)))))
        m, s = profile.nonresponder_reduction
        r = truncnorm(self.rng, m, s, -0.35, t - 0.01)
        return int(max(cut + 1, min(80, round(baseline * (1 - r)))))

    def treated_patient(
        self,
        pid: str,
        arm_index: int,
        i: int,
        plan: ArmPlan,
        screening: ScreeningRecord,
        first: dt.date,
        loss_day: float | None,
        censor_day: int | None,
    ) -> SyntheticPatient:
        rng = self.rng
        arm = self.arms[arm_index]
        drug = self.drugs[arm]
        profile = self.profiles[arm_index]
        demo = plan.demographics[i]
        responder = plan.responder[i]
        withdrawn = plan.withdrawn[i]
        infusion_dates, dates, visits = self.schedule(first)
        caps_profile = rng.gamma(4.0, 0.25, 20)
        madrs_profile = rng.gamma(3.0, 1 / 3, 10) * np.r_[np.ones(9), 0.5]
        screen_total = plan.caps5_screen[i]
        shift = profile.baseline_shift
        baseline = int(np.clip(round(screen_total + shift + rng.normal(0.0, 6.0)), 22, 80))
        # CAPS-5 week 2 first (it fixes responder status), then week 1 as a share of it.
        if withdrawn:
            r2 = None
            r1 = float(rng.normal(-0.05, 0.08))
        else:
            w2 = self.week2_total(baseline, responder, profile)
            r2 = (baseline - w2) / baseline
            r1 = profile.week1_share * r2 + float(rng.normal(0.0, 0.12))
        w1 = int(np.clip(round(baseline * (1 - r1)), 0, 80))
        r1 = (baseline - w1) / baseline
        caps_by_time: dict[str, tuple[int, float]] = {"baseline": (baseline, 0.0)}
        if not withdrawn or self.config.withdrawn_have_week1:
            caps_by_time["week1"] = (w1, r1)
        if r2 is not None:
            caps_by_time["week2"] = (w2, r2)
        ratings: list[Rating] = []
        madrs0 = plan.madrs_baseline[i]
        for tp, (total, red) in caps_by_time.items():
            day = dates[tp]
            ratings.append(
                Rating(
                    "caps5_past_week",
                    tp,
                    day,
                    caps5_items(
                        rng, total, caps_profile, red, responsiveness=profile.cluster_responsiveness
                    ),
                )
            )
            m_red = 0.0 if tp == "baseline" else 1.05 * red + float(rng.normal(0.0, 0.12))
            m_total = int(np.clip(round(madrs0 * (1 - m_red)), 0, 60))
            ratings.append(Rating("madrs", tp, day, spread(rng, m_total, 10, 6, madrs_profile)))
            ratings.append(Rating("cgi_s", tp, day, {"1": cgi_s_score(rng, total)}))
            if tp != "baseline":
                ratings.append(Rating("cgi_i", tp, day, {"1": cgi_i_score(rng, red)}))
        positive = plan.cssrs_positive[i]
        ratings.append(Rating("cssrs", "baseline", dates["baseline"], cssrs_items(rng, positive)))
        if "week2" in caps_by_time:
            still = positive and not plan.cssrs_improved[i]
            ratings.append(Rating("cssrs", "week2", dates["week2"], cssrs_items(rng, still)))
        # IES-R and MADRS (past 24 h) at baseline and 24 h after infusion 1.
        ies0 = int(np.clip(round(rng.normal(46.0, 13.0)), 12, 88))
        m24_0 = int(np.clip(round(madrs0 + rng.normal(0.0, 3.0)), 0, 60))
        hm, hs = (
            profile.h24_responder_reduction if responder else profile.h24_nonresponder_reduction
        )
        h_red = float(np.clip(rng.normal(hm, hs), -0.4, 0.95))
        m_red = float(np.clip(0.85 * h_red + rng.normal(0.0, 0.1), -0.4, 0.95))
        for tp, ies, m24 in (
            ("baseline", ies0, m24_0),
            ("h24", round(ies0 * (1 - h_red)), round(m24_0 * (1 - m_red))),
        ):
            ratings.append(Rating("ies_r", tp, dates[tp], spread(rng, int(ies), 22, 4)))
            ratings.append(Rating("madrs_24h", tp, dates[tp], spread(rng, int(m24), 10, 6)))

        # Infusion days.
        n_infusions = self.config.withdrawn_after_infusion if withdrawn else len(infusion_dates)
        base_vitals = (
            float(np.clip(rng.normal(121.0, 10.0), 98, 136)),
            float(np.clip(rng.normal(77.0, 6.0), 60, 87)),
            float(np.clip(rng.normal(72.0, 9.0), 52, 100)),
        )
        infusions: list[InfusionDay] = []
        prise_after_when = {
            s: set(
                rng.choice(
                    n_infusions, size=int(rng.integers(1, min(3, n_infusions) + 1)), replace=False
                ).tolist()
            )
            for s, chosen in plan.prise_after.items()
            if chosen[i]
        }
        later = list(range(1, n_infusions))
        prise_other_when = {
            s: set(
                rng.choice(
                    later, size=int(rng.integers(1, min(2, len(later)) + 1)), replace=False
                ).tolist()
            )
            for s, chosen in plan.prise_other.items()
            if chosen[i] and later
        }
        adverse: list[AdverseEvent] = []
        for j in range(n_infusions):
            dose, minutes = self.dose_mg(drug, demo.weight_kg)
            after = {
                s: ("distressing" if rng.uniform() < 0.15 else "tolerable")
                for s, when in prise_after_when.items()
                if j in when
            }
            before = {
                s: ("distressing" if rng.uniform() < 0.1 else "tolerable")
                for s, when in prise_other_when.items()
                if j in when
            }
            for background in ("dry_mouth", "anxiety", "difficulty_sleeping", "poor_concentration"):
                if rng.uniform() < 0.03:
                    after[background] = "tolerable"
            hypertensive = plan.hypertensive[i] and j == 4
            day = make_infusion_day(
                rng,
                number=j + 1,
                date=infusion_dates[j],
                drug=drug,
                weight_kg=demo.weight_kg,
                dose_mg=dose,
                infusion_minutes=minutes,
                vitals_minutes=self.vitals_minutes(drug),
                baseline_vitals=base_vitals,
                prise_before=before,
                prise_after=after,
                hypertensive_reaction=hypertensive,
            )
            infusions.append(day)
            for given in day.interventions:
                adverse.append(
                    AdverseEvent(
                        term="hypertension during infusion",
                        onset_date=day.date,
                        infusion_number=day.number,
                        severity="moderate",
                        serious=False,
                        related_to_study_drug="probably",
                        action=f"{given.drug} {given.dose_mg:g} mg {given.route} at minute "
                        f"{given.minute}",
                        outcome="resolved the same day",
                    )
                )
            for symptom, level in {**before, **after}.items():
                if level == "distressing":
                    adverse.append(
                        AdverseEvent(
                            term=symptom.replace("_", " "),
                            onset_date=day.date,
                            infusion_number=day.number,
                            severity="mild",
                            serious=False,
                            related_to_study_drug="possibly",
                            action="none",
                            outcome="resolved",
                        )
                    )
        withdrawal = None
        if withdrawn:
            withdrawal = Withdrawal(
                date=infusion_dates[n_infusions],
                after_infusion=n_infusions,
                by="investigator",
                reason="no improvement and concern about worsening (PROTOCOL.md §10)",
            )
        follow_up: tuple[FollowUpVisit, ...] = ()
        lost: int | None = None
        censored: int | None = None
        if responder and "week2" in caps_by_time:
            follow_up, lost, censored = self.follow_up(
                baseline,
                w2,
                caps_profile,
                dates["week2"],
                visits,
                loss_day,
                censor_day,
                profile.cluster_responsiveness,
            )
        return SyntheticPatient(
            patient_id=pid,
            screening=screening,
            demographics=demo,
            arm=arm,
            allocation_date=None if self.clinic else infusion_dates[0],
            infusions=tuple(infusions),
            assessments=tuple(ratings),
            follow_up=follow_up,
            withdrawal=withdrawal,
            adverse_events=tuple(adverse),
            responder=responder and not withdrawn,
            loss_of_response_day=lost,
            censored_day=censored,
        )

    def follow_up(
        self,
        baseline: int,
        week2: int,
        profile: FloatArray,
        primary: dt.date,
        visits: list[tuple[int, int, int]],
        loss_day: float | None,
        censor_day: int | None,
        responsiveness: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    ) -> tuple[tuple[FollowUpVisit, ...], int | None, int | None]:
        """Visits until loss of response (§8) or the end of follow-up (censoring)."""
        rng = self.rng
        cut = self.max_responder_total(baseline)
        last_hi = visits[-1][2] if visits else 180
        end = round(loss_day) if loss_day is not None else int(censor_day or last_hi)
        end = max(1, end)
        is_loss = loss_day is not None and end <= last_hi
        if not is_loss:
            end = min(end, last_hi)
        plan: list[tuple[int, bool]] = []  # (day, scheduled)
        for target, lo, hi in visits:
            if lo <= end <= hi:
                plan.append((end, True))
                break
            if hi < end:
                jitter = int(rng.integers(-1, 2))
                plan.append((int(np.clip(target + jitter, lo, min(hi, end - 1))), True))
                continue
            plan.append((end, False))
            break
        else:
            if not plan or plan[-1][0] != end:
                plan.append((end, False))
        out: list[FollowUpVisit] = []
        for number, (day, scheduled) in enumerate(plan, start=1):
            final = number == len(plan)
            if final and is_loss:
                total = int(min(80, max(cut + 1, cut + 1 + abs(rng.normal(0.0, 4.0)))))
            else:
                drift = day / max(end, 1) if is_loss else 0.5 * float(rng.uniform())
                total = int(
                    np.clip(round(week2 + (cut - week2) * drift + rng.normal(0, 1.5)), 0, cut)
                )
            reduction = (baseline - total) / baseline
            date = primary + dt.timedelta(days=day)
            out.append(
                FollowUpVisit(
                    number=number,
                    day=day,
                    date=date,
                    caps5=Rating(
                        "caps5_past_week",
                        f"follow_up_{number}",
                        date,
                        caps5_items(rng, total, profile, reduction, responsiveness=responsiveness),
                    ),
                    still_responding=not (final and is_loss),
                    unscheduled=not scheduled,
                    end_of_follow_up=final and not is_loss,
                )
            )
        if is_loss:
            return tuple(out), end, None
        return tuple(out), None, end

"""Self-report between visits and retreatment: the clinic's long game (issue 13; PROTOCOL.md
§5, §7, §8, §11).

* :class:`SelfReportPlan` — the patient's own PCL-5 (past week) with the C-SSRS screener,
  reached by a single-use, expiring link, on a schedule (every ``interval_days``). A C-SSRS at
  or above the protocol's ``monitoring.suicide_risk_review_level`` (§7) or a PCL-5 rise of at
  least ``meaningful_change_points`` (§7: ≥ 10 points is clinically meaningful change) raises an
  alert and a physician task; the page then shows ``crisis_text``. The relapse watch compares
  each PCL-5 with the patient's own PCL-5 at the response's baseline time point, by the
  response's reduction fraction (§8).
* :class:`RetreatmentPlan` — a new acute series for a patient who lost response (and, only where
  the protocol says so, a non-responder), under the schedule's rules; infusions numbered after
  the last one given (§5, §8).
"""

from __future__ import annotations

from typing import Literal

from ._base import FrozenModel

__all__ = ["RetreatmentPlan", "SelfReportPlan"]


class SelfReportPlan(FrozenModel):
    """The patient's self-report between visits (§5: a validated self-report such as the
    PCL-5, weekly; §7: C-SSRS screener, PCL-5 change)."""

    #: The instruments of the patient page, in order (the page gives ``pcl5`` and ``cssrs``).
    instruments: tuple[str, ...] = ("pcl5", "cssrs")
    #: One self-report every ``interval_days`` (§5: weekly).
    interval_days: int = 7
    #: How long an issued link may be used (hours); it is single-use.
    link_valid_hours: int = 72
    #: A PCL-5 rise of at least this many points over the patient's previous PCL-5 is
    #: clinically meaningful (§7) and raises an alert and a physician task.
    meaningful_change_points: int = 10
    #: Shown to the patient when the answers raise an alert (the clinic's crisis line).
    crisis_text: str
    #: Blinded raters may read self-reports only where the protocol says so (§3). A trial
    #: protocol that names no self-report plan offers none.
    blinded_raters_may_read: bool = False
    section: str = "PROTOCOL.md §5, §7, §8"


class RetreatmentPlan(FrozenModel):
    """A new acute series under the protocol's schedule after the response was lost (§8)."""

    #: The states a retreatment may start from: a lost response; a non-responder only where the
    #: protocol allows it.
    allowed_from: tuple[Literal["lost_response", "non_responder"], ...] = ("lost_response",)
    #: How many retreatment series one patient may have.
    max_courses: int = 1
    #: The maintenance or retreatment options proposed to the physician when the relapse watch
    #: raises its task (ids of ``maintenance.options``, plus ``retreatment`` for this path).
    proposed_options: tuple[str, ...] = ()
    section: str = "PROTOCOL.md §5, §8"

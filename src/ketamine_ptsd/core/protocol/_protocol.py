"""The protocol: one versioned, validated document (SYSTEM.md capability 1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from ._base import FrozenModel
from ._dosing import DrugDose
from ._eligibility import Criterion
from ._esketamine import EsketaminePlan
from ._monitoring import Monitoring, PreInfusionChecks
from ._outcomes import AnalysisPlan, Durability, MaintenancePlan, ResponseDefinition
from ._schedule import AssessmentTimePoint, FollowUp, Schedule
from ._self_report import RetreatmentPlan, SelfReportPlan

__all__ = ["Arm", "Protocol"]


class Arm(FrozenModel):
    """A treatment arm (§3: ketamine vs midazolam in the RCT; ketamine only in the clinic)."""

    id: str
    drug: str
    label: str
    allocation_ratio: int = 1


class Protocol(FrozenModel):
    """Everything clinical that the software does for one protocol, as data."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    version: str
    title: str
    mode: Literal["trial", "clinic"]
    blinded: bool
    source: str
    arms: tuple[Arm, ...]
    eligibility: tuple[Criterion, ...]
    dosing: Mapping[str, DrugDose]
    schedule: Schedule
    assessments: tuple[AssessmentTimePoint, ...]
    follow_up: FollowUp
    pre_infusion: PreInfusionChecks
    monitoring: Monitoring
    response: ResponseDefinition
    durability: Durability | None = None
    maintenance: MaintenancePlan | None = None
    analysis: AnalysisPlan | None = None
    #: Intranasal esketamine sessions under the REMS (§11): the clinic pathway only.
    esketamine: EsketaminePlan | None = None
    #: The consent form versions approved for this protocol version (issue 11): a consent must
    #: name one. Empty: the protocol lists none, and any version text is recorded as given.
    consent_forms: tuple[str, ...] = ()
    #: Randomization stratified by site (issue 17): the patient's site is their stratum, and the
    #: list is generated with one stratum per site code.
    stratify_by_site: bool = False
    #: The patient's self-report between visits (issue 13; None: the protocol offers none).
    self_report: SelfReportPlan | None = None
    #: A new acute series after a lost response (issue 13; None: the protocol offers none).
    retreatment: RetreatmentPlan | None = None

    def dose_for(self, drug: str) -> DrugDose:
        """The dosing entry of ``drug``; KeyError if the protocol does not dose it."""
        return self.dosing[drug]

    def assessment(self, name: str) -> AssessmentTimePoint:
        """The assessment time point called ``name``; KeyError if there is none."""
        for point in self.assessments:
            if point.name == name:
                return point
        raise KeyError(name)

    @property
    def drugs(self) -> tuple[str, ...]:
        """Drugs given in this protocol, in arm order."""
        return tuple(dict.fromkeys(arm.drug for arm in self.arms))

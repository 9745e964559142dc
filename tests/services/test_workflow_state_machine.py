"""Random event sequences through the services: the stored status is always the core's replay of
the audit trail (issue 11). Hypothesis drives registration, consent, screening by the rules, the
investigator's override, refusals, allocation, infusions, outcome scores (and voiding them) and
withdrawal in any order; refused events are expected and must leave nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from workflow_support import (  # type: ignore[import-not-found]
    consent,
    items,
    ready_for_infusion,
    workflow_services,
)

from infusion_support import start_inputs  # type: ignore[import-not-found]
from ketamine_ptsd.adapters.db.engine import open_database
from ketamine_ptsd.core.roles import Role
from ketamine_ptsd.core.workflow import TRANSITIONS, Event, PatientState
from ketamine_ptsd.services import Actor, FixedClock, ServiceError
from ketamine_ptsd.services.assessments import AssessmentInput
from ketamine_ptsd.services.screening import ScreeningVisitInput
from ketamine_ptsd.services.workflow import AUDIT_PREFIX
from screening_support import RCT_FACTS, caps5_past_month  # type: ignore[import-not-found]

MONDAY = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
WEEK2 = dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC)


def replay(entries: list[object]) -> PatientState:
    """Fold the ``workflow.*`` audit rows of one patient, checking each against the table."""
    state = PatientState.REGISTERED
    for entry in entries:
        event = Event(entry.event.removeprefix(AUDIT_PREFIX))  # type: ignore[attr-defined]
        old = PatientState(entry.old_value)  # type: ignore[attr-defined]
        new = PatientState(entry.new_value)  # type: ignore[attr-defined]
        transition = TRANSITIONS[event]
        assert old is state, f"{event}: audit says from {old}, replay is at {state}"
        assert old in transition.sources and new in transition.targets, (event, old, new)
        state = new
    return state


@pytest.mark.slow
def test_random_event_sequences_keep_status_and_audit_in_step(
    _sqlite_template: Path, tmp_path: Path
) -> None:
    class Workflow(RuleBasedStateMachine):
        patients = Bundle("patients")

        def __init__(self) -> None:
            super().__init__()
            path = tmp_path / f"{uuid.uuid4().hex}.sqlite"
            shutil.copyfile(_sqlite_template, path)
            self.db = open_database(f"sqlite:///{path}")
            self.clock = FixedClock(MONDAY)
            self.wf = workflow_services(self.db, self.clock)
            setup = Actor.system("setup")
            self.actors = {}
            for role in Role:
                view = self.wf.users.add(
                    setup,
                    username=role.value.replace("_", "-"),
                    role=role.value,
                    password="correct horse battery",
                    full_name=role.value,
                )
                self.actors[role] = Actor(view.id, view.username, role)
            self.wf.randomization.generate_list(
                self.actors[Role.PHARMACIST],
                protocol_name="rct",
                list_version="L1",
                slots_per_stratum=24,
            )
            self.known: list[int] = []
            self.week2: dict[int, int] = {}

        def teardown(self) -> None:
            self.db.dispose()

        def _try(self, call: object) -> None:
            self.clock.set(MONDAY)
            with contextlib.suppress(ServiceError):  # refused: the invariant checks nothing moved
                call()  # type: ignore[operator]

        @rule(target=patients)
        def register(self) -> int:
            pid = self.wf.patients.register(
                self.actors[Role.INVESTIGATOR], protocol_name="rct", site="YAL"
            ).id
            self.known.append(pid)
            return pid

        @rule(pid=patients)
        def give_consent(self, pid: int) -> None:
            self._try(lambda: consent(self.wf, self.actors[Role.INVESTIGATOR], pid))

        @rule(pid=patients, total=st.sampled_from([29, 42]), complete=st.booleans())
        def screen(self, pid: int, total: int, complete: bool) -> None:
            facts = dict(RCT_FACTS) if complete else {"age_years": 40}
            visit = ScreeningVisitInput(
                dt.date(2026, 3, 1), facts=facts, caps5_past_month=caps5_past_month(total)
            )
            self._try(
                lambda: self.wf.screening.record_visit(self.actors[Role.INVESTIGATOR], pid, visit)
            )

        @rule(pid=patients, role=st.sampled_from([Role.INVESTIGATOR, Role.NURSE]))
        def override(self, pid: int, role: Role) -> None:
            self._try(
                lambda: self.wf.screening.override_eligibility(
                    self.actors[role],
                    pid,
                    criteria=["caps5_severity"],
                    reason="benefit outweighs the one point",
                    decided_on=dt.date(2026, 3, 1),
                )
            )

        @rule(pid=patients, outcome=st.sampled_from(["eligible", "declined", "screen_failed"]))
        def hand_outcome(self, pid: int, outcome: str) -> None:
            self._try(
                lambda: self.wf.patients.record_screening_outcome(
                    self.actors[Role.INVESTIGATOR],
                    pid,
                    outcome=outcome,
                    decided_on=dt.date(2026, 3, 1),
                    reasons=["by hand"],
                )
            )

        @rule(pid=patients)
        def allocate(self, pid: int) -> None:
            self._try(
                lambda: self.wf.randomization.allocate(
                    self.actors[Role.PHARMACIST], pid, infusion_date=MONDAY.date()
                )
            )

        @rule(pid=patients, number=st.integers(1, 2))
        def infuse(self, pid: int, number: int) -> None:
            def go() -> None:
                ready_for_infusion(self.wf, self.actors, pid, number)
                self.wf.infusions.start(
                    self.actors[Role.INVESTIGATOR],
                    pid,
                    number,
                    **start_inputs(self.actors, self.actors[Role.INVESTIGATOR], 70),
                )

            self._try(go)

        @rule(pid=patients, week2=st.sampled_from([None, 20, 45]))
        def score(self, pid: int, week2: int | None) -> None:
            rater = self.actors[Role.OUTCOME_RATER]
            if week2 is None:
                data = AssessmentInput("baseline", "caps5_past_week", MONDAY.date(), items(20, 50))
                self._try(lambda: self.wf.assessments.record(rater, pid, data))
                return
            self.clock.set(WEEK2)
            data = AssessmentInput("week2", "caps5_past_week", WEEK2.date(), items(20, week2))
            with contextlib.suppress(ServiceError):
                self.week2[pid] = self.wf.assessments.record(rater, pid, data).id

        @rule(pid=patients)
        def void_week2(self, pid: int) -> None:
            if pid not in self.week2:
                return
            self.clock.set(WEEK2)
            rater = self.actors[Role.OUTCOME_RATER]
            try:
                view = self.wf.assessments.get(rater, self.week2.pop(pid))
                self.wf.assessments.void(
                    rater, view.id, expected_version=view.version, reason="wrong patient's sheet"
                )
            except ServiceError:
                pass

        @rule(pid=patients)
        def withdraw(self, pid: int) -> None:
            self._try(
                lambda: self.wf.followup.withdraw(
                    self.actors[Role.INVESTIGATOR],
                    pid,
                    withdrawn_on=MONDAY.date(),
                    decided_by="patient",
                    reason="moved away from the area",
                )
            )

        @invariant()
        def status_is_the_replay_of_the_audit_trail(self) -> None:
            admin = self.actors[Role.ADMINISTRATOR]
            admin_reader = self.actors[Role.INVESTIGATOR]  # reads infusion days
            for pid in self.known:
                stored = self.wf.patients.get(admin, pid).status
                trail = self.wf.audit.entries(admin, table_name="patients", record_id=str(pid))
                workflow = [e for e in trail if e.event.startswith(AUDIT_PREFIX)]
                assert replay(workflow).value == stored
                status_rows = [e for e in trail if e.field == "status" and e.old_value]
                assert len(status_rows) == len(workflow)  # every change went through the table
                days = [d.infusion_date for d in self.wf.infusions.days(admin_reader, pid)]
                assert len(days) == len(set(days)), days  # never two infusions on one day

    Workflow.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=14,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Workflow.TestCase().runTest()

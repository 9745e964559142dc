"""Applying the transition table: the only place that decides a patient's next state.

:func:`apply` answers for one event with a :class:`Decision` — the new state, or every
:class:`~.facts.Refusal` that stands in the way (the role, the state, each failed guard), never a
bare string. :func:`decide` is the same, raising :class:`TransitionRefused` for the services.
:func:`allowed_events` tells a page which buttons to show; :func:`response_event` picks the event
that a change of the scored response amounts to.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DomainError
from ..roles import Role, is_allowed
from .facts import Refusal, WorkflowFacts
from .states import PRE_RESPONSE, RESPONSE_STATES, Event, PatientState
from .table import TRANSITIONS, pre_response_state

__all__ = [
    "Decision",
    "TransitionRefused",
    "allowed_events",
    "apply",
    "decide",
    "response_event",
]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one event: ``new_state`` when allowed, else the refusals (never both)."""

    state: PatientState
    event: Event
    new_state: PatientState | None
    refusals: tuple[Refusal, ...]

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def changed(self) -> bool:
        return self.new_state is not None and self.new_state is not self.state

    def audit_reason(self) -> str:
        """The line the audit trail keeps with the status change."""
        t = TRANSITIONS[self.event]
        return f"{self.event.value}: {self.state.value} → {self.new_state} ({t.source})"


class TransitionRefused(DomainError):
    """An event the workflow does not allow; ``refusals`` says every reason."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.refusals = decision.refusals
        super().__init__("; ".join(str(r) for r in decision.refusals))


def apply(
    state: PatientState | str, event: Event, role: Role | str, facts: WorkflowFacts
) -> Decision:
    """What ``event`` does to a patient in ``state``, done by ``role``, given ``facts``."""
    state = PatientState(state)
    transition = TRANSITIONS[event]
    refusals: list[Refusal] = []
    if not is_allowed(role, transition.action):
        refusals.append(
            Refusal(
                "role",
                "SYSTEM.md capability 4",
                f"the {role} role may not {transition.summary} ({transition.action.value})",
            )
        )
    if state not in transition.sources:
        allowed = ", ".join(sorted(s.value for s in transition.sources))
        refusals.append(
            Refusal(
                "state",
                transition.source,
                f"cannot {transition.summary} while the patient is {state.value} "
                f"(allowed when: {allowed})",
            )
        )
    else:
        refusals.extend(r for guard in transition.guards if (r := guard(state, facts)))
    if refusals:
        return Decision(state, event, None, tuple(refusals))
    return Decision(state, event, transition.target(state, facts), ())


def decide(
    state: PatientState | str, event: Event, role: Role | str, facts: WorkflowFacts
) -> Decision:
    """:func:`apply`, raising :class:`TransitionRefused` when it refuses."""
    decision = apply(state, event, role, facts)
    if not decision.allowed:
        raise TransitionRefused(decision)
    return decision


def allowed_events(
    state: PatientState | str, role: Role | str, facts: WorkflowFacts | None = None
) -> frozenset[Event]:
    """The events ``role`` may start from ``state``: by role and state alone, or — with
    ``facts`` — only those whose guards pass too."""
    state = PatientState(state)
    events = set()
    for event, transition in TRANSITIONS.items():
        if state not in transition.sources or not is_allowed(role, transition.action):
            continue
        if facts is not None and not apply(state, event, role, facts).allowed:
            continue
        events.add(event)
    return frozenset(events)


def response_event(state: PatientState | str, facts: WorkflowFacts) -> Event | None:
    """The event a newly scored (or re-scored) response amounts to, or None when nothing changes.

    From before the response: the primary outcome recorded. A responder (or a patient in
    maintenance) whose follow-up shows the loss: loss of response. Any other change of a decided response (a deciding score corrected
    or voided): the response revised.
    """
    state = PatientState(state)
    if state in PRE_RESPONSE:
        if facts.retreatment_open:
            # a retreatment series is under way: the first series' response does not decide it
            return None
        return Event.RECORD_PRIMARY_OUTCOME if facts.response is not None else None
    if state is PatientState.IN_MAINTENANCE:
        # in maintenance by the physician's decision: a lost response ends it (§8); a corrected
        # week-2 score does not undo the decision to treat
        return Event.LOSE_RESPONSE if facts.response is PatientState.LOST_RESPONSE else None
    if state not in RESPONSE_STATES:
        return None
    target = facts.response if facts.response is not None else pre_response_state(facts)
    if target is state:
        return None
    if state is PatientState.RESPONDER and target is PatientState.LOST_RESPONSE:
        return Event.LOSE_RESPONSE
    return Event.REVISE_RESPONSE

"""Blinding guesses at the end of treatment: who answers, who records it, what may be answered,
and the tallies the blinding indices are computed from (SYSTEM.md capability 14; issue 15).

PROTOCOL.md §3 blinds the patient and all study staff; CONSORT 2010 item 11b asks how the blind
was assessed. At the end of treatment each blinded person is asked which drug they think the
patient received — one of the protocol's arms' drugs, or "don't know" — and the answers, set
beside the true arm, give Bang's index per arm and James' index
(:mod:`ketamine_ptsd.core.stats.blinding`).

* **When** (the transition table's ``record_blinding_guess``): a blinded protocol only (an
  open-label protocol has nothing to guess), an allocated patient, and the end of treatment —
  the last infusion of the acute series (``schedule.infusion_count``, PROTOCOL.md §5)
  discharged (§6), or the patient withdrawn early (§10, CONSORT).
* **Who records whose guess** (:data:`RECORDERS`): the outcome rater asks the patient at the
  end-of-treatment visit and records the patient's guess and their own; the infusion nurse
  records her own. Nobody else records a guess (§3: the pharmacy knows the arm, the
  investigator may have been unblinded, the safety rater sees the infusion-day ratings that
  differ by arm). A respondent's own guess is corrected only by its author.
* **What may be answered** (:func:`guess_options`): the drugs of the protocol's arms in
  alphabetical order, then "don't know" — the same list for every patient, so the form reveals
  neither the patient's arm nor which arm the protocol names first.

Pure: the services load the facts and ask these functions; every refusal is a
:class:`~.facts.Refusal` naming its rule and §.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..protocol import Protocol
from ..roles import Role
from .facts import Refusal

__all__ = [
    "DONT_KNOW",
    "RECORDERS",
    "GuessOption",
    "GuessTally",
    "Respondent",
    "check_correction",
    "check_guess",
    "check_recorder",
    "guess_options",
    "respondents_recorded_by",
    "tally_guesses",
]

#: The answer of a respondent who does not know (stored as written here).
DONT_KNOW = "dont_know"

_SOURCE = "PROTOCOL.md §3"


class Respondent(StrEnum):
    """Whose guess it is: the patient, or one of the blinded staff who are asked (§3)."""

    PATIENT = "patient"
    OUTCOME_RATER = "outcome_rater"
    INFUSION_NURSE = "infusion_nurse"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Respondent.PATIENT: "Patient",
    Respondent.OUTCOME_RATER: "Outcome rater",
    Respondent.INFUSION_NURSE: "Infusion nurse",
}

#: Who records each respondent's guess: the one declaration of the rule.
RECORDERS: Mapping[Respondent, frozenset[Role]] = {
    Respondent.PATIENT: frozenset({Role.OUTCOME_RATER}),
    Respondent.OUTCOME_RATER: frozenset({Role.OUTCOME_RATER}),
    Respondent.INFUSION_NURSE: frozenset({Role.NURSE}),
}

#: Respondents whose guess is the recorder's own (corrected only by its author).
_OWN = frozenset({Respondent.OUTCOME_RATER, Respondent.INFUSION_NURSE})


@dataclass(frozen=True, slots=True)
class GuessOption:
    """One answer of the guess form: the stored value and its human label."""

    value: str
    label: str


def guess_options(protocol: Protocol) -> tuple[GuessOption, ...]:
    """The answers offered, identical for every patient of ``protocol``: the arms' drugs in
    alphabetical order (never the protocol's order, which puts the active arm first), then
    "don't know"."""
    drugs = sorted({arm.drug for arm in protocol.arms})
    return (
        *(GuessOption(drug, drug.replace("_", " ").capitalize()) for drug in drugs),
        GuessOption(DONT_KNOW, "Don't know"),
    )


def respondents_recorded_by(role: Role | str) -> tuple[Respondent, ...]:
    """The respondents whose guess ``role`` records, in the form's order."""
    return tuple(r for r in Respondent if _role(role) in RECORDERS[r])


def _role(role: Role | str) -> Role | None:
    try:
        return Role(role)
    except ValueError:
        return None


def check_recorder(role: Role | str, respondent: str) -> Refusal | None:
    """May ``role`` record the guess of ``respondent``? (The outcome rater: the patient's and
    their own; the nurse: her own; nobody else.)"""
    try:
        who = Respondent(respondent)
    except ValueError:
        return Refusal(
            "guess_respondent",
            _SOURCE,
            "the respondent is one of " + ", ".join(r.value for r in Respondent),
            "respondent",
        )
    if _role(role) in RECORDERS[who]:
        return None
    recorders = " or ".join(sorted(r.value.replace("_", " ") for r in RECORDERS[who]))
    return Refusal(
        "guess_recorder",
        _SOURCE,
        f"the {who.label.lower()}'s guess is recorded by the {recorders}, not the "
        f"{str(role).replace('_', ' ')}",
        "respondent",
    )


def check_guess(protocol: Protocol, guess: str) -> Refusal | None:
    """Is ``guess`` one of :func:`guess_options`? The message names no drug (an error is shown
    wherever the form is, and errors never name an arm: services/errors.py)."""
    if guess in {o.value for o in guess_options(protocol)}:
        return None
    return Refusal(
        "guess_value",
        _SOURCE,
        "choose one of the form's answers (a drug of the protocol's arms, or don't know)",
        "guess",
    )


def check_correction(
    respondent: Respondent | str, *, author_id: int | None, actor_id: int | None, reason: str
) -> Refusal | None:
    """A recorded guess is corrected with a reason; a respondent's own guess only by its author
    (nobody answers for another person)."""
    if not reason.strip():
        return Refusal(
            "guess_correction_reason",
            "SYSTEM.md capability 11",
            "this guess is already recorded; a correction needs the reason",
            "reason",
        )
    if Respondent(respondent) in _OWN and author_id is not None and author_id != actor_id:
        return Refusal(
            "guess_own_author",
            _SOURCE,
            "a respondent's own guess is corrected only by the person who gave it",
            "respondent",
        )
    return None


@dataclass(frozen=True, slots=True)
class GuessTally:
    """One respondent type's answers by true arm, in the blinding index's 2 × 3 layout:
    ``counts[i]`` = (guessed ``arms[0]``, guessed ``arms[1]``, don't know) of arm ``arms[i]``."""

    respondent: Respondent
    arms: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def n(self) -> int:
        return sum(sum(row) for row in self.counts)


def tally_guesses(
    rows: Iterable[tuple[str, str, str]], arms: tuple[str, ...]
) -> tuple[GuessTally, ...]:
    """Count ``(respondent, true arm, guess)`` rows, the guess already in the arms' labels (or
    :data:`DONT_KNOW`), per respondent type in :class:`Respondent` order; respondent types with
    no answer are left out. A row whose arm or guess is not one of ``arms`` is not counted."""
    index = {arm: i for i, arm in enumerate(arms)}
    table: dict[Respondent, list[list[int]]] = {}
    for respondent, arm, guess in rows:
        if arm not in index:
            continue
        column = len(arms) if guess == DONT_KNOW else index.get(guess)
        if column is None:
            continue
        counts = table.setdefault(Respondent(respondent), [[0] * (len(arms) + 1) for _ in arms])
        counts[index[arm]][column] += 1
    return tuple(
        GuessTally(r, arms, tuple(tuple(row) for row in table[r])) for r in Respondent if r in table
    )

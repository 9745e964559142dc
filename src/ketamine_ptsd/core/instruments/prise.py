"""PRISE, the Patient Rated Inventory of Side Effects.

Source: the PRISE form of the STAR*D trial (Rush AJ, Fava M, Wisniewski SR, et al. Sequenced
Treatment Alternatives to Relieve Depression (STAR*D): rationale and design. Control Clin Trials
2004;25:119–142); PROTOCOL.md §6, §7, §10. Side effects in 9 organ-system groups, each symptom
rated no / tolerable / distressing. In the RCT it was given 120 minutes after infusion start
(effects since the start) and before each infusion (effects since the last assessment).

Scoring: item by item, no total (PROTOCOL.md §7). The result counts, per group, the symptoms
reported at all and those reported as distressing, and lists the distressing ones, which is what
a clinician acts on; the RCT's table of side effects is the share of patients reporting each
symptom (PROTOCOL.md §10).

The symptom list per group follows the STAR*D PRISE form as we know it; the "other (specify)"
free-text line is not encoded. Keys are symptom names (``"blurred_vision"``) and, because they are
names, items may also be given by their 1-based position on the form.

Missing-item rule: every symptom must be answered; a blank is not a "no".
"""

from __future__ import annotations

from typing import Any

from ketamine_ptsd.core.instruments._base import (
    Instrument,
    Item,
    ItemValue,
    ScoredResult,
    require_items,
)

__all__ = ["PRISE", "PRISE_CHOICES", "PRISE_GROUPS"]

PRISE_CHOICES: tuple[str, ...] = ("no", "tolerable", "distressing")

# Group → (symptom key, short label), in form order.
PRISE_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "gastrointestinal": (
        ("diarrhea", "diarrhea"),
        ("constipation", "constipation"),
        ("dry_mouth", "dry mouth"),
        ("nausea_vomiting", "nausea or vomiting"),
    ),
    "heart": (
        ("palpitations", "palpitations"),
        ("dizziness_on_standing", "dizziness on standing"),
        ("chest_pain", "chest pain"),
    ),
    "skin": (
        ("increased_perspiration", "increased perspiration"),
        ("itching", "itching"),
        ("rash", "rash"),
    ),
    "nervous_system": (
        ("headache", "headache"),
        ("tremors", "tremors"),
        ("poor_coordination", "poor coordination"),
        ("dizziness", "dizziness"),
    ),
    "eyes_ears": (
        ("blurred_vision", "blurred vision"),
        ("ringing_in_ears", "ringing in the ears"),
    ),
    "genital_urinary": (
        ("difficulty_urinating", "difficulty urinating"),
        ("painful_urination", "painful urination"),
        ("frequent_urination", "frequent urination"),
        ("menstrual_irregularity", "menstrual irregularity"),
    ),
    "sleep": (
        ("difficulty_sleeping", "difficulty sleeping"),
        ("sleeping_too_much", "sleeping too much"),
    ),
    "sexual_functioning": (
        ("loss_of_sexual_desire", "loss of sexual desire"),
        ("trouble_achieving_orgasm", "trouble achieving orgasm"),
        ("trouble_with_erections", "trouble with erections"),
    ),
    "other": (
        ("anxiety", "anxiety"),
        ("poor_concentration", "poor concentration"),
        ("general_malaise", "general malaise"),
        ("restlessness", "restlessness"),
        ("fatigue", "fatigue"),
        ("decreased_energy", "decreased energy"),
    ),
}

_ITEMS = tuple(
    Item(key, position, label, kind="choice", choices=PRISE_CHOICES, group=group)
    for position, (group, key, label) in enumerate(
        ((group, key, label) for group, pairs in PRISE_GROUPS.items() for key, label in pairs),
        start=1,
    )
)
_KEYS = tuple(item.key for item in _ITEMS)


def _score_prise(
    instrument: Instrument, values: dict[str, ItemValue], **options: Any
) -> ScoredResult:
    if options:
        raise TypeError(f"PRISE takes no options, got {sorted(options)}")
    require_items(instrument, values, _KEYS, "the inventory")
    groups: dict[str, dict[str, int]] = {}
    for group, pairs in PRISE_GROUPS.items():
        answers = [values[key] for key, _ in pairs]
        groups[group] = {
            "reported": sum(1 for answer in answers if answer != "no"),
            "distressing": sum(1 for answer in answers if answer == "distressing"),
            "symptoms": len(pairs),
        }
    return ScoredResult(
        instrument=instrument.id,
        version=instrument.version,
        total=None,
        subscales={},
        derived={
            "groups": groups,
            "reported": [key for key in _KEYS if values[key] != "no"],
            "distressing": [key for key in _KEYS if values[key] == "distressing"],
        },
        items=values,
    )


PRISE = Instrument(
    id="prise",
    name="PRISE",
    version="STAR*D form, 9 groups",
    recall_period="since infusion start (120 min) or since the last assessment (pre-infusion)",
    field_prefix="prise",
    items=_ITEMS,
    citation="Rush AJ et al. Control Clin Trials 2004;25:119-142 (STAR*D PRISE); PROTOCOL.md §7",
    missing_rule="Every symptom must be answered; a blank is not a no. No total.",
    scorer=_score_prise,
    total_range=None,
    accepts_positions=True,
)

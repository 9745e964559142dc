"""MedDRA coding of adverse events (issue 14): a site's own release, the coder and the date.

MedDRA is licensed, so no dictionary ships with the system: an administrator loads the site's
release (``meddra.load``; one ``meddra_load`` audit event naming the version and the number of
terms), and the study physician codes each adverse event's verbatim term to an LLT of it
(``adverse_event.code``): the LLT and its primary path (PT, HLT, HLGT, SOC) are stored with who
coded and when, and the audit trail records the coding field by field (a recoding keeps the
earlier values there). ``uncoded`` lists the live events still to code, with the LLT whose name
is the verbatim term as a suggestion (never applied by itself). ``codings`` is what the exports
read (SDTM AE and ADAE: AEDECOD, AEBODSYS and the hierarchy).

Nothing here touches the blind: the verbatim term and its coding are not allocation data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select, true

from ketamine_ptsd.core.meddra import Coding, MeddraDictionary
from ketamine_ptsd.core.roles import Action

from .access import Actor, require
from .audit import AuditEvent, encode_value
from .context import ServiceContext
from .errors import NotFound, ValidationFailed
from .records import AdverseEvent, AdverseEventCoding, MeddraTerm, Patient

__all__ = ["CODING_COLUMNS", "MeddraService", "Uncoded", "coding_frame"]

#: The coding frame the exports read: one row per coded live adverse event, in the order of the
#: analysis extract's ``adverse_events`` frame (patients by study id, events by id) with
#: ``seq`` the event's 1-based place among its patient's events (SDTM AESEQ).
CODING_COLUMNS = (
    "subject", "seq", "llt_code", "llt_name", "pt_code", "pt_name", "hlt_code", "hlt_name",
    "hlgt_code", "hlgt_name", "soc_code", "soc_name", "release",
)  # fmt: skip
_PATH = (
    "llt_code", "llt_name", "pt_code", "pt_name", "hlt_code", "hlt_name", "hlgt_code",
    "hlgt_name", "soc_code", "soc_name",
)  # fmt: skip


@dataclass(frozen=True)
class Uncoded:
    """An adverse event still to code, and the LLT whose name is its verbatim term (if any)."""

    adverse_event_id: int
    subject: str
    term: str
    onset: Any
    suggestion: Coding | None


class MeddraService:
    """Load a MedDRA release, code adverse events to it, list what is uncoded."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def load(self, actor: Actor, dictionary: MeddraDictionary) -> int:
        """Store ``dictionary`` as the site's release (replacing one of the same version)."""
        require(actor, Action.MEDDRA_LOAD)
        with self._ctx.uow(actor, write=True) as uow:
            version = dictionary.version
            uow.session.execute(delete(MeddraTerm).where(MeddraTerm.release == version))
            for c in dictionary.terms.values():
                uow.session.add(
                    MeddraTerm(
                        release=version,
                        **{name: getattr(c, name) for name in _PATH},
                        current=c.current,
                        loaded_by=actor.user_id,
                        loaded_at=uow.now,
                    )
                )
            uow.events(
                [
                    AuditEvent(
                        "meddra_load",
                        "meddra_terms",
                        None,
                        None,
                        None,
                        encode_value({"release": version, "terms": len(dictionary.terms)}),
                    )
                ]
            )
            uow.commit()
        return len(dictionary.terms)

    def _release(self, uow: Any) -> str:
        latest = uow.session.scalar(
            select(MeddraTerm.release).order_by(MeddraTerm.loaded_at.desc()).limit(1)
        )
        if latest is None:
            raise ValidationFailed(
                "meddra", "no MedDRA release is loaded (an administrator loads the site's own)"
            )
        return str(latest)

    def code(
        self,
        actor: Actor,
        adverse_event_id: int,
        llt_code: int,
        *,
        reason: str | None = None,
    ) -> AdverseEventCoding:
        """Code an adverse event to an LLT of the loaded release. A recoding updates it and
        needs a reason (the audit trail keeps the earlier coding with it)."""
        require(actor, Action.ADVERSE_EVENT_CODE)
        with self._ctx.uow(actor, write=True) as uow:
            event = uow.session.get(AdverseEvent, adverse_event_id)
            if event is None or event.voided_at is not None:
                raise NotFound("adverse event", adverse_event_id)
            patient = uow.session.get(Patient, event.patient_id)
            if patient is None or not actor.sees_site(patient.site):
                # Another site's event does not exist for this user (issue 17).
                raise NotFound("adverse event", adverse_event_id)
            release = self._release(uow)
            term = uow.session.scalar(
                select(MeddraTerm).where(
                    MeddraTerm.release == release, MeddraTerm.llt_code == llt_code
                )
            )
            if term is None:
                raise ValidationFailed("llt_code", f"not an LLT of MedDRA {release}", llt_code)
            if not term.current:
                raise ValidationFailed(
                    "llt_code",
                    f"a non-current LLT of MedDRA {release}; code to a current one",
                    llt_code,
                )
            coding = uow.session.scalar(
                select(AdverseEventCoding).where(
                    AdverseEventCoding.adverse_event_id == adverse_event_id
                )
            )
            values = {name: getattr(term, name) for name in _PATH}
            if coding is None:
                coding = AdverseEventCoding(
                    adverse_event_id=adverse_event_id,
                    release=release,
                    **values,
                    coded_by=actor.user_id,
                    coded_at=uow.now,
                )
                uow.session.add(coding)
            else:
                if not (reason and reason.strip()):
                    raise ValidationFailed(
                        "reason", "a recoding needs a reason (the earlier coding stays audited)"
                    )
                uow.reason = reason.strip()
                coding.release = release
                for name, value in values.items():
                    setattr(coding, name, value)
                coding.coded_by, coding.coded_at = actor.user_id, uow.now
            uow.commit()
            return coding

    def uncoded(self, actor: Actor, *, protocol_name: str) -> list[Uncoded]:
        """The protocol's live adverse events without a coding, oldest first."""
        require(actor, Action.ADVERSE_EVENT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            rows = uow.session.execute(
                select(
                    AdverseEvent.id,
                    Patient.study_id,
                    AdverseEvent.term,
                    AdverseEvent.onset_date,
                    Patient.site,
                )
                .join(Patient, Patient.id == AdverseEvent.patient_id)
                .outerjoin(
                    AdverseEventCoding, AdverseEventCoding.adverse_event_id == AdverseEvent.id
                )
                .where(
                    Patient.protocol_name == protocol_name,
                    Patient.voided_at.is_(None),
                    AdverseEvent.voided_at.is_(None),
                    AdverseEventCoding.id.is_(None),
                )
                .order_by(AdverseEvent.onset_date, AdverseEvent.id)
            ).all()
            has_release = uow.session.scalar(select(func.count(MeddraTerm.id))) or 0
            release = self._release(uow) if has_release else None
            out = []
            for event_id, subject, term, onset, site in rows:
                if not actor.sees_site(site):
                    continue
                suggestion = None
                if release is not None:
                    wanted = " ".join(str(term).split()).casefold()
                    match = uow.session.scalar(
                        select(MeddraTerm).where(
                            MeddraTerm.release == release,
                            MeddraTerm.current.is_(True),
                            func.lower(MeddraTerm.llt_name) == wanted,
                        )
                    )
                    if match is not None:
                        suggestion = Coding(
                            **{name: getattr(match, name) for name in _PATH}, current=True
                        )
                out.append(Uncoded(int(event_id), str(subject), str(term), onset, suggestion))
            return out

    def codings(self, actor: Actor, *, protocol_name: str) -> pd.DataFrame:
        """The coding frame of the protocol's live adverse events (``CODING_COLUMNS``)."""
        require(actor, Action.ADVERSE_EVENT_READ)
        with self._ctx.uow(actor, write=False) as uow:
            return coding_frame(uow.session, protocol_name, actor.sites)


def coding_frame(
    session: Any, protocol_name: str, sites: frozenset[str] | None = None
) -> pd.DataFrame:
    """``CODING_COLUMNS`` of the protocol's coded live adverse events at ``sites`` (None: every
    site), read in the caller's unit of work; the caller checks the role."""
    rows = session.execute(
        select(Patient.study_id, AdverseEvent.id, AdverseEventCoding)
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .outerjoin(AdverseEventCoding, AdverseEventCoding.adverse_event_id == AdverseEvent.id)
        .where(
            Patient.protocol_name == protocol_name,
            Patient.voided_at.is_(None),
            AdverseEvent.voided_at.is_(None),
            Patient.site.in_(sorted(sites)) if sites is not None else true(),
        )
        .order_by(Patient.study_id, AdverseEvent.id)
    ).all()
    out: list[dict[str, Any]] = []
    seq: dict[str, int] = {}
    for subject, _, coding in rows:
        seq[subject] = seq.get(subject, 0) + 1
        if coding is None:
            continue
        out.append(
            {
                "subject": subject,
                "seq": seq[subject],
                **{name: getattr(coding, name) for name in _PATH},
                "release": coding.release,
            }
        )
    return pd.DataFrame(out, columns=list(CODING_COLUMNS))

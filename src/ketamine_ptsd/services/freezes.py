"""Frozen extracts for DSMB interims (issue 17): "a database freeze for each DSMB interim, so a
packet can be regenerated exactly later".

When the DSMB statistician runs an interim, the extract they analysed (the frames, with arms
coded A/B, and the patients then still within their window) is stored as Parquet, sealed by a
SHA-256 digest kept in the audited freeze row. Regenerating reads the frozen frames — not the
live record, which has moved on — checks the digest, and gives the same analysis; the report
writer then makes the same files. Only a statistician with a live partial (or full) sanction
may read a freeze back: it holds the coded arms.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketamine_ptsd.core.roles import Action, AnalysisUnblinding

from .access import Actor, analysis_unblinding, require
from .errors import ConflictError, NotFound, PermissionDenied
from .records import DataFreeze, DataFreezeFrame

__all__ = ["Frozen", "digest_of", "read_freeze", "write_freeze"]


@dataclass(frozen=True)
class Frozen:
    id: int
    protocol_name: str
    level: str
    generated_on: dt.date
    planned_patients: int | None
    arms: tuple[str, ...]
    ongoing: frozenset[str]
    digest: str
    frames: Mapping[str, pd.DataFrame]
    #: When the data were frozen: the DSMB packet's data cut-off.
    created_at: dt.datetime | None = None


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def digest_of(contents: Mapping[str, bytes]) -> str:
    """SHA-256 over each frame's name and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(contents):
        h.update(name.encode() + b"\0" + contents[name] + b"\0")
    return h.hexdigest()


def write_freeze(
    session: Session,
    actor: Actor,
    now: dt.datetime,
    *,
    protocol_name: str,
    level: str,
    generated_on: dt.date,
    planned_patients: int | None,
    arms: tuple[str, ...],
    ongoing: frozenset[str],
    frames: Mapping[str, pd.DataFrame],
) -> DataFreeze:
    contents = {name: _parquet(frame) for name, frame in frames.items()}
    row = DataFreeze(
        protocol_name=protocol_name,
        level=level,
        generated_on=generated_on,
        planned_patients=planned_patients,
        arms=json.dumps(list(arms)),
        ongoing=json.dumps(sorted(ongoing)),
        digest=digest_of(contents),
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    for name in sorted(contents):
        session.add(DataFreezeFrame(freeze_id=row.id, name=name, content=contents[name]))
    return row


def read_freeze(session: Session, actor: Actor, now: dt.datetime, freeze_id: int) -> Frozen:
    """The frozen extract, its digest checked; PermissionDenied without a live sanction."""
    require(actor, Action.ANALYSIS_DATASET_READ)
    if analysis_unblinding(session, actor, now) is AnalysisUnblinding.NONE:
        raise PermissionDenied("analysis_dataset.read (a frozen interim)", actor.role.value)
    row = session.get(DataFreeze, freeze_id)
    if row is None or actor.sites is not None:
        # A DSMB packet's freeze is the central statistician's: it holds every site's patients
        # (or those of whoever made it), and records no site scope, so a site's member never
        # reads one (issue 17's site canary: "not found", as for another site's patient).
        raise NotFound("data freeze", freeze_id)
    parts = session.scalars(
        select(DataFreezeFrame).where(DataFreezeFrame.freeze_id == row.id)
    ).all()
    contents = {p.name: bytes(p.content) for p in parts}
    if digest_of(contents) != row.digest:
        raise ConflictError(
            "data freeze", freeze_id, "its frames do not match the digest sealed with it"
        )
    frames = {name: pd.read_parquet(io.BytesIO(data)) for name, data in contents.items()}
    return Frozen(
        id=row.id,
        protocol_name=row.protocol_name,
        level=row.level,
        generated_on=row.generated_on,
        planned_patients=row.planned_patients,
        arms=tuple(json.loads(row.arms)),
        ongoing=frozenset(json.loads(row.ongoing)),
        digest=row.digest,
        frames=frames,
        created_at=row.created_at,
    )

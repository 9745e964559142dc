"""``/protocols/{name}/versions``: the protocol versions the record holds, and amendments.

An administrator publishes the protocol file's new version as an amendment (audited, with the
reason); patients stay on the version they consented under until they re-consent (issue 11;
services/protocol_versions.py).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import ApiAuth, State

router = APIRouter(prefix="/protocols", tags=["protocols"])


class ProtocolVersionRead(BaseModel):
    name: str
    version: str
    digest: str
    published_at: dt.datetime
    reason: str


class AmendmentCreate(BaseModel):
    reason: str = Field(max_length=4000, description="what the amendment changes, and why")


@router.get("/{name}/versions", response_model=list[ProtocolVersionRead])
def versions(name: str, auth: ApiAuth, state: State) -> list[ProtocolVersionRead]:
    return [
        ProtocolVersionRead.model_validate(v, from_attributes=True)
        for v in state.services.protocol_versions.versions(auth.actor, name)
    ]


@router.post("/{name}/versions", response_model=ProtocolVersionRead, status_code=201)
def publish(name: str, body: AmendmentCreate, auth: ApiAuth, state: State) -> ProtocolVersionRead:
    view = state.services.protocol_versions.publish(auth.actor, name, reason=body.reason)
    return ProtocolVersionRead.model_validate(view, from_attributes=True)

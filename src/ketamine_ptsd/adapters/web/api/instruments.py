"""``/instruments``: the registry's item metadata and scoring (PROTOCOL.md §7).

``POST /instruments/{id}/score`` is what the assessment page's script calls as items are typed:
an incomplete form gets the running sum and the missing-item message instead of an error, an
out-of-range item gets 422 naming the item.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ketamine_ptsd.core.errors import InvalidInput
from ketamine_ptsd.core.instruments import REGISTRY, get_instrument
from ketamine_ptsd.core.instruments._base import validate_items
from ketamine_ptsd.services import NotFound

from ..deps import ApiAuth

router = APIRouter(prefix="/instruments", tags=["instruments"])


class ItemRead(BaseModel):
    key: str
    position: int
    label: str
    kind: str
    minimum: int
    maximum: int
    anchors: dict[int, str]
    choices: list[str]
    group: str | None


class InstrumentRead(BaseModel):
    id: str
    name: str
    version: str
    recall_period: str
    total_range: tuple[int, int] | None
    missing_rule: str
    citation: str
    items: list[ItemRead]


class ScoreRequest(BaseModel):
    items: dict[str, Any] = Field(max_length=200)


class ScoreRead(BaseModel):
    instrument: str
    complete: bool
    answered: int
    running_sum: int | float | None
    total: int | None = None
    subscales: dict[str, int | float] = Field(default_factory=dict)
    derived: dict[str, Any] = Field(default_factory=dict)
    message: str | None = None


def _instrument(instrument_id: str) -> Any:
    try:
        return get_instrument(instrument_id)
    except InvalidInput:
        raise NotFound("instrument", instrument_id) from None


def _read(instrument: Any) -> InstrumentRead:
    return InstrumentRead(
        id=instrument.id,
        name=instrument.name,
        version=instrument.version,
        recall_period=instrument.recall_period,
        total_range=instrument.total_range,
        missing_rule=instrument.missing_rule,
        citation=instrument.citation,
        items=[
            ItemRead(
                key=i.key,
                position=i.position,
                label=i.label,
                kind=i.kind,
                minimum=i.minimum,
                maximum=i.maximum,
                anchors=dict(i.anchors),
                choices=list(i.choices),
                group=i.group,
            )
            for i in instrument.items
        ],
    )


@router.get("", response_model=list[InstrumentRead])
def list_instruments(_auth: ApiAuth) -> list[InstrumentRead]:
    return [_read(i) for i in REGISTRY.values()]


@router.get("/{instrument_id}", response_model=InstrumentRead)
def instrument(instrument_id: str, _auth: ApiAuth) -> InstrumentRead:
    return _read(_instrument(instrument_id))


@router.post("/{instrument_id}/score", response_model=ScoreRead, responses={422: {}})
def score(instrument_id: str, body: ScoreRequest, _auth: ApiAuth) -> Response | ScoreRead:
    instrument = _instrument(instrument_id)
    items = {k: v for k, v in body.items.items() if v not in (None, "")}
    try:
        valid = validate_items(instrument, items)
    except InvalidInput as exc:
        return JSONResponse(
            {"error": "invalid item", "field": exc.field, "detail": exc.message}, 422
        )
    numbers = [v for v in valid.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    running = sum(numbers) if numbers else None
    try:
        result = instrument.score(items)
    except InvalidInput as exc:
        return ScoreRead(
            instrument=instrument.id,
            complete=False,
            answered=len(valid),
            running_sum=running,
            message=exc.message,
        )
    return ScoreRead(
        instrument=instrument.id,
        complete=True,
        answered=len(valid),
        running_sum=running,
        total=result.total,
        subscales=result.subscales,
        derived=result.derived,
    )

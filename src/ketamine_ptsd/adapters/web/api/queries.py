"""``/queries``: data queries on one field of one record (issue 17).

Through :class:`~ketamine_ptsd.services.queries.QueryService`: a monitor or statistician raises a
query (``POST /queries``), the site answers it by a correction or an explanation
(``POST /queries/{id}/answer``), the raiser closes or re-opens it (``/close``, ``/reopen``). Each
step needs the ``version`` read (409 if someone changed it since, or if the step does not apply
to the query's state) and is audited. ``GET /queries`` lists them, filtered by ``state``,
``patient_id``, ``table_name`` and ``record_id`` — how a page shows the queries on a value.
``POST /queries/sweep`` runs the protocol's edit checks over every record the caller's sites hold
(:class:`~ketamine_ptsd.services.edit_checks.EditCheckService`: whoever raises queries) and answers
how many records it checked and how many queries it raised, by check.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, StringConstraints

from ..deps import ApiAuth, State
from ..params import DbId, Version

router = APIRouter(prefix="/queries", tags=["queries"])

Name = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]


class QueryCreate(BaseModel):
    patient_id: DbId
    table_name: Name
    record_id: Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]+$")]
    field: Name
    question: Text


class QueryAnswer(BaseModel):
    expected_version: Version
    answer: Text
    corrected: bool


class QueryStep(BaseModel):
    expected_version: Version


class QueryReopen(BaseModel):
    expected_version: Version
    question: Text


class QueryRead(BaseModel):
    id: int
    patient_id: int
    study_id: str
    table_name: str
    record_id: str
    field: str
    value_raised: Any
    question: str
    origin: str
    state: str
    raised_by: str | None
    raised_at: dt.datetime
    answer: str | None
    corrected: bool | None
    answered_by: str | None
    answered_at: dt.datetime | None
    closed_by: str | None
    closed_at: dt.datetime | None
    reopen_count: int
    age_days: int
    version: int


class QueryCountsRead(BaseModel):
    by_state: dict[str, int]
    open_by_form: dict[str, int]
    open_by_age: dict[str, int]


class SweepRead(BaseModel):
    records_checked: int
    raised: dict[str, int]  # by check (the query's origin without ``rule:``)
    total_raised: int


def _read(view: Any) -> QueryRead:
    return QueryRead.model_validate(view, from_attributes=True)


@router.get("", response_model=list[QueryRead])
def list_queries(
    auth: ApiAuth,
    state: State,
    status: Annotated[str | None, Query(alias="state", max_length=16)] = None,
    patient_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    table_name: Annotated[str | None, Query(max_length=64)] = None,
    record_id: Annotated[str | None, Query(max_length=20)] = None,
) -> list[Any]:
    rows = state.services.queries.list(
        auth.actor,
        state=status,
        patient_id=patient_id,
        table_name=table_name,
        record_id=record_id,
    )
    return [_read(v) for v in rows]


@router.get("/counts", response_model=QueryCountsRead)
def counts(auth: ApiAuth, state: State) -> Any:
    c = state.services.queries.counts(auth.actor)
    return QueryCountsRead(
        by_state=c.by_state, open_by_form=c.open_by_form, open_by_age=c.open_by_age
    )


@router.post("", response_model=QueryRead, status_code=201)
def raise_query(body: QueryCreate, auth: ApiAuth, state: State) -> Any:
    view = state.services.queries.raise_query(
        auth.actor,
        patient_id=body.patient_id,
        table_name=body.table_name,
        record_id=body.record_id,
        field=body.field,
        question=body.question,
    )
    return _read(view)


@router.post("/sweep", response_model=SweepRead)
def sweep(auth: ApiAuth, state: State) -> Any:
    run = state.services.edit_checks.run(auth.actor)
    return SweepRead(
        records_checked=run.records_checked,
        raised=dict(sorted(run.raised.items())),
        total_raised=run.total_raised,
    )


@router.get("/{query_id}", response_model=QueryRead)
def get_query(query_id: DbId, auth: ApiAuth, state: State) -> Any:
    return _read(state.services.queries.get(auth.actor, query_id))


@router.post("/{query_id}/answer", response_model=QueryRead)
def answer(query_id: DbId, body: QueryAnswer, auth: ApiAuth, state: State) -> Any:
    view = state.services.queries.answer(
        auth.actor,
        query_id,
        answer=body.answer,
        corrected=body.corrected,
        expected_version=body.expected_version,
    )
    return _read(view)


@router.post("/{query_id}/close", response_model=QueryRead)
def close(query_id: DbId, body: QueryStep, auth: ApiAuth, state: State) -> Any:
    view = state.services.queries.close(
        auth.actor, query_id, expected_version=body.expected_version
    )
    return _read(view)


@router.post("/{query_id}/reopen", response_model=QueryRead)
def reopen(query_id: DbId, body: QueryReopen, auth: ApiAuth, state: State) -> Any:
    view = state.services.queries.reopen(
        auth.actor, query_id, question=body.question, expected_version=body.expected_version
    )
    return _read(view)

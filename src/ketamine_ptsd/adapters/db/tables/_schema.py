"""What every table of the schema shares: the metadata and its naming convention, the UTC
datetime type, the column ``info`` markers of the blind and the audit, and the column helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.types import TypeDecorator

from ketamine_ptsd.core.workflow import PatientState

__all__ = [
    "ALLOCATION",
    "IDENTITY",
    "INFUSION_RATING",
    "NOT_AUDITED",
    "SECRET",
    "STATUS_CHECK",
    "UTCDateTime",
    "meddra_path",
    "metadata",
    "pk",
    "recorded",
    "row_version",
    "void_columns",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: The patient states the database accepts, generated from the workflow's enum.
STATUS_CHECK = "status IN ({})".format(", ".join(f"'{s.value}'" for s in PatientState))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both databases (SQLite stores no zone; we store UTC, naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


ALLOCATION = {"sensitivity": "allocation"}
IDENTITY = {"sensitivity": "identity"}
SECRET = {"sensitivity": "secret"}
NOT_AUDITED = {"audit": False}


def pk() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def row_version() -> Column[int]:
    return Column("version", Integer, nullable=False, info=NOT_AUDITED)


def void_columns() -> list[Column[Any]]:
    return [
        Column("voided_at", UTCDateTime, nullable=True),
        Column("voided_by", Integer, ForeignKey("users.id"), nullable=True),
        Column("void_reason", Text, nullable=True),
    ]


INFUSION_RATING = {"sensitivity": "infusion_rating"}


def recorded() -> list[Column[Any]]:
    return [
        Column("recorded_by", Integer, ForeignKey("users.id"), nullable=True),
        Column("recorded_at", UTCDateTime, nullable=False),
    ]


def meddra_path() -> list[Column[Any]]:
    return [
        Column("llt_code", Integer, nullable=False),
        Column("llt_name", String(100), nullable=False),
        Column("pt_code", Integer, nullable=False),
        Column("pt_name", String(100), nullable=False),
        Column("hlt_code", Integer, nullable=False),
        Column("hlt_name", String(100), nullable=False),
        Column("hlgt_code", Integer, nullable=False),
        Column("hlgt_name", String(100), nullable=False),
        Column("soc_code", Integer, nullable=False),
        Column("soc_name", String(100), nullable=False),
    ]

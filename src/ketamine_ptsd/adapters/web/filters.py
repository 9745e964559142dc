"""Jinja filters: dates and numbers as a clinician reads them (UTC, 24-hour clock)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jinja2

__all__ = ["install"]


def _date(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%a %d %b %Y")
    return str(value)


def _datetime(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d %b %Y %H:%M UTC")
    return str(value)


def _time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%H:%M")
    return "" if value is None else str(value)


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _label(value: Any) -> str:
    return str(value or "").replace("_", " ")


def install(env: jinja2.Environment) -> None:
    env.filters["date"] = _date
    env.filters["datetime"] = _datetime
    env.filters["time"] = _time
    env.filters["num"] = _num
    env.filters["label"] = _label
    env.autoescape = True

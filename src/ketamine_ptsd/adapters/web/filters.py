"""Jinja filters: dates and numbers as a clinician reads them (the site's time zone from the
settings, 24-hour clock; the record stores UTC)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
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


def _local(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """An aware UTC datetime (a naive one is UTC, as the record stores it) in the site's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone)


def _datetime(zone: zoneinfo.ZoneInfo) -> Any:
    def show(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return _local(value, zone).strftime("%d %b %Y %H:%M %Z")
        return str(value)

    return show


def _time(zone: zoneinfo.ZoneInfo) -> Any:
    def show(value: Any) -> str:
        if isinstance(value, dt.datetime):
            return _local(value, zone).strftime("%H:%M")
        return "" if value is None else str(value)

    return show


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _label(value: Any) -> str:
    return str(value or "").replace("_", " ")


def install(env: jinja2.Environment, timezone: str = "UTC") -> None:
    zone = zoneinfo.ZoneInfo(timezone)
    env.globals["site_timezone"] = timezone
    env.filters["date"] = _date
    env.filters["datetime"] = _datetime(zone)
    env.filters["time"] = _time(zone)
    env.filters["num"] = _num
    env.filters["label"] = _label
    env.autoescape = True

"""The one timestamp format people see: ``yyyy-mm-dd hh:mm:ss.fff`` (UTC)."""

from __future__ import annotations

from datetime import datetime, timezone


def format_timestamp(ts: datetime) -> str:
    """``2026-11-27 09:30:00.123`` for an aware or naive-UTC datetime."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"


def parse_timestamp(text: str) -> datetime:
    """A UTC datetime from ISO 8601 text (``2026-11-27 09:30:00.123`` or with ``T``/offset)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)

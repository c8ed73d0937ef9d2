"""Spark's checkpoint files, written as a streaming query writes them, for the checks."""

from __future__ import annotations

from pathlib import Path


def spark_offset_log(checkpoint: Path, topic: str, batch_id: int = 0) -> None:
    """Spark's offset log entry batch_id for topic, as a query on it writes it."""
    (checkpoint / "offsets").mkdir(parents=True, exist_ok=True)
    metadata = '{"batchWatermarkMs":0,"batchTimestampMs":0,"conf":{}}'
    (checkpoint / "offsets" / str(batch_id)).write_text(f'v1\n{metadata}\n{{"{topic}":{{"0":7}}}}')


def spark_commit_log(checkpoint: Path, batch_id: int) -> None:
    """Spark's commit log entry batch_id."""
    (checkpoint / "commits").mkdir(parents=True, exist_ok=True)
    (checkpoint / "commits" / str(batch_id)).write_text('v1\n{"nextBatchWatermarkMs":0}')

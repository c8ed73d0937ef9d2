"""A follow run's checkpoint directory: Spark's offset and commit logs beside the state
file. Checked at start, before Spark runs: it must belong to the topic followed, and its
two halves must belong together."""

from __future__ import annotations

import json
from pathlib import Path

from consumer.errors import ConsumerError
from consumer.state import FollowState


def checkpoint_topics(directory: Path) -> set[str]:
    """The topics Spark's offset log in directory was written for (none when empty)."""
    logged = [p for p in (directory / "offsets").glob("[0-9]*") if p.name.isdigit()]
    if not logged:
        return set()
    last = max(logged, key=lambda p: int(p.name))
    try:
        return set(json.loads(last.read_text().splitlines()[-1]))
    except (OSError, ValueError, IndexError, TypeError):
        raise ConsumerError(
            f"checkpoint {directory}: cannot read Spark's offset log {last}"
        ) from None


def check_checkpoint(directory: Path, state: FollowState, topic: str) -> None:
    """The checkpoint belongs to topic, and its state file and Spark's offset log belong
    together; one without the other would restart the batch ids or the offsets and
    break the exactly-once count."""
    topics = checkpoint_topics(directory)
    if topics and topics != {topic}:
        raise ConsumerError(
            f"checkpoint {directory} belongs to topic {', '.join(sorted(topics))}, not {topic}: "
            "give that topic, or a new --checkpoint"
        )
    if state.last_batch_id >= 0 and not topics:
        raise ConsumerError(
            f"checkpoint {directory} has a state file (up to batch {state.last_batch_id}) but "
            "no Spark offset log: remove the state file too, or use a new --checkpoint"
        )
    committed = [int(p.name) for p in (directory / "commits").glob("[0-9]*") if p.name.isdigit()]
    if committed and max(committed) > state.last_batch_id:
        raise ConsumerError(
            f"checkpoint {directory}: Spark committed batch {max(committed)} but the state file "
            f"includes batches up to {state.last_batch_id}: the checkpoint was altered; "
            "use a new --checkpoint"
        )

"""python -m consumer follow, SIGKILLed by itself at a point of a micro-batch's effects:
right after it saved the state of a batch with at least a given id (before Spark commits
it), or right after it wrote a batch's dead letters (before the state names the batch).
Crashes inside the windows the exactly-once argument covers (docs/follow.md).

    python -m tests.consumer.crash_after state-saved BATCH_ID [follow arguments]
    python -m tests.consumer.crash_after dead-letters-written 0 [follow arguments]
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable

from consumer.__main__ import main
from consumer.checkpoint import Checkpoint
from consumer.state import FollowState
from contract.dead_letters import DeadLetter, DeadLetterTopic

save_state = Checkpoint.save
write_letters = DeadLetterTopic.write


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def crash_after_state_saved(batch_id: int) -> None:
    def save_then_crash(checkpoint: Checkpoint, state: FollowState) -> None:
        save_state(checkpoint, state)
        if state.last_batch_id >= batch_id:
            crash()

    Checkpoint.save = save_then_crash  # type: ignore[method-assign]


def crash_after_dead_letters_written() -> None:
    def write_then_crash(topic: DeadLetterTopic, letters: Iterable[DeadLetter]) -> int:
        if write_letters(topic, letters) > 0:
            crash()
        return 0

    DeadLetterTopic.write = write_then_crash  # type: ignore[method-assign]


if __name__ == "__main__":
    point, batch = sys.argv[1], int(sys.argv[2])
    if point == "state-saved":
        crash_after_state_saved(batch)
    else:
        crash_after_dead_letters_written()
    sys.exit(main(["follow", *sys.argv[3:]]))

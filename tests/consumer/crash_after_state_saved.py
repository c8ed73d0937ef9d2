"""python -m consumer follow, SIGKILLed by itself right after it saved the state of a
batch with at least a given id, before Spark commits that batch: a crash inside the
window the exactly-once argument covers (docs/follow.md).

    python -m tests.consumer.crash_after_state_saved BATCH_ID [follow arguments]
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import consumer.follow
from consumer.__main__ import main
from consumer.state import FollowState

save_state = consumer.follow.save_state


def crash_at(batch_id: int) -> None:
    def save_then_crash(directory: Path, state: FollowState) -> None:
        save_state(directory, state)
        if state.last_batch_id >= batch_id:
            os.kill(os.getpid(), signal.SIGKILL)

    consumer.follow.save_state = save_then_crash


if __name__ == "__main__":
    crash_at(int(sys.argv[1]))
    sys.exit(main(["follow", *sys.argv[2:]]))

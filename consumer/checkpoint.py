"""A follow run's checkpoint: Spark's offset and commit logs beside the state file, in one
directory of any Hadoop filesystem (hdfs://, s3a://, file:/...), reached through the
driver JVM's Hadoop client as Spark's own checkpoint is (connection.hadoop_fs).

Checked once the session runs and before the query starts: it must belong to the topic
followed, and its two halves must belong together.
"""

from __future__ import annotations

import json

from pyspark.sql import SparkSession

from connection.hadoop_fs import HadoopDirectory, HadoopFsError
from consumer.errors import ConsumerError
from consumer.state import STATE_FILE, FollowState, StateFileError, decode_state, encode_state


def batch_ids(names: list[str]) -> list[int]:
    """The batch ids among the names of an offsets/ or commits/ folder (its temp and
    checksum files left out)."""
    return [int(name) for name in names if name.isdigit()]


class Checkpoint:
    """The checkpoint directory at uri: its state file read and replaced, its logs read."""

    def __init__(self, spark: SparkSession, uri: str) -> None:
        self.uri = uri
        try:
            self.directory = HadoopDirectory(spark, uri)
        except HadoopFsError as error:
            raise ConsumerError(f"checkpoint {error}") from None

    def load(self) -> FollowState:
        """The saved state; an empty state when there is none yet."""
        try:
            data = self.directory.read(STATE_FILE)
        except HadoopFsError as error:
            raise ConsumerError(f"checkpoint {error}") from None
        if data is None:
            return FollowState()
        try:
            return decode_state(data, f"{self.uri}/{STATE_FILE}")
        except StateFileError as error:
            raise ConsumerError(str(error)) from None

    def save(self, state: FollowState) -> None:
        """Replace the state file with state, atomically and durably (HadoopDirectory.replace).
        A failure propagates as it is: the batch is not committed, and a retry runs it."""
        self.directory.replace(STATE_FILE, encode_state(state))

    def topics(self) -> set[str]:
        """The topics Spark's offset log was written for (none when it is empty)."""
        try:
            logged = batch_ids(self.directory.names("offsets"))
            if not logged:
                return set()
            last = f"offsets/{max(logged)}"
            data = self.directory.read(last)
        except HadoopFsError as error:
            raise ConsumerError(f"checkpoint {error}") from None
        try:
            return set(json.loads((data or b"").decode().splitlines()[-1]))
        except (ValueError, IndexError, TypeError):
            raise ConsumerError(
                f"checkpoint {self.uri}: cannot read Spark's offset log {last}"
            ) from None

    def check(self, state: FollowState, topic: str) -> None:
        """The checkpoint belongs to topic, and its state file and Spark's offset log
        belong together; one without the other would restart the batch ids or the offsets
        and break the exactly-once count."""
        topics = self.topics()
        if topics and topics != {topic}:
            raise ConsumerError(
                f"checkpoint {self.uri} belongs to topic {', '.join(sorted(topics))}, "
                f"not {topic}: give that topic, or a new --checkpoint"
            )
        if state.last_batch_id >= 0 and not topics:
            raise ConsumerError(
                f"checkpoint {self.uri} has a state file (up to batch {state.last_batch_id}) "
                "but no Spark offset log: remove the state file too, or use a new --checkpoint"
            )
        try:
            committed = batch_ids(self.directory.names("commits"))
        except HadoopFsError as error:
            raise ConsumerError(f"checkpoint {error}") from None
        if committed and max(committed) > state.last_batch_id:
            raise ConsumerError(
                f"checkpoint {self.uri}: Spark committed batch {max(committed)} but the state "
                f"file includes batches up to {state.last_batch_id}: the checkpoint was "
                "altered; use a new --checkpoint"
            )

"""The pipeline's defaults, read from defaults.env (the one file every tool reads).

Python flags and environment fallbacks take their defaults from here; the local stack's
script, the Makefile and docker-compose read the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.env"
#: Where the local stack's services listen (and the only address they advertise).
LOOPBACK = "127.0.0.1"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of path; blank lines and # comments skipped."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


@dataclass(frozen=True)
class Defaults:
    topic: str
    event_count: int
    partitions: int
    z_threshold: float
    spark_master: str
    spark_master_timeout_s: float
    kafka_port: int
    registry_port: int
    registry_api_path: str
    broker_timeout_s: float
    registry_request_timeout_s: float
    registry_max_retries: int
    delivery_timeout_s: float
    small_topic_records: int
    follow_trigger_s: float
    follow_min_count: int
    follow_max_wait_s: float
    records_limit: int

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.kafka_port}"

    @property
    def schema_registry_url(self) -> str:
        return f"http://{LOOPBACK}:{self.registry_port}{self.registry_api_path}"


def load_defaults(path: Path = DEFAULTS_FILE) -> Defaults:
    env = read_env_file(path)
    return Defaults(
        topic=env["PRICES_TOPIC"],
        event_count=int(env["PRICES_EVENT_COUNT"]),
        partitions=int(env["PRICES_PARTITIONS"]),
        z_threshold=float(env["PRICES_Z_THRESHOLD"]),
        spark_master=env["PRICES_SPARK_MASTER"],
        spark_master_timeout_s=float(env["PRICES_SPARK_MASTER_TIMEOUT_S"]),
        kafka_port=int(env["PRICES_KAFKA_PORT"]),
        registry_port=int(env["PRICES_REGISTRY_PORT"]),
        registry_api_path=env["PRICES_REGISTRY_API_PATH"],
        broker_timeout_s=float(env["PRICES_BROKER_TIMEOUT_S"]),
        registry_request_timeout_s=float(env["PRICES_REGISTRY_REQUEST_TIMEOUT_S"]),
        registry_max_retries=int(env["PRICES_REGISTRY_MAX_RETRIES"]),
        delivery_timeout_s=float(env["PRICES_DELIVERY_TIMEOUT_S"]),
        small_topic_records=int(env["PRICES_SMALL_TOPIC_RECORDS"]),
        follow_trigger_s=float(env["PRICES_FOLLOW_TRIGGER_S"]),
        follow_min_count=int(env["PRICES_FOLLOW_MIN_COUNT"]),
        follow_max_wait_s=float(env["PRICES_FOLLOW_MAX_WAIT_S"]),
        records_limit=int(env["PRICES_RECORDS_LIMIT"]),
    )


DEFAULTS = load_defaults()

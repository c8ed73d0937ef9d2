"""python -m producer against a registry that refuses a ruleSet in the registration request.

A loopback proxy in front of the local stack's real registry answers every POST whose JSON
body has a "ruleSet" key as a registry that knows no ruleSet answers: HTTP 422, error_code
422, "Unrecognized field: ruleSet" (how older Confluent Schema Registries answer a request
field they do not know, e.g. schemaType before 5.5: confluentinc/schema-registry#1729).
Everything else under the registry's Confluent API is forwarded unchanged; Apicurio's own
API beside it is hidden (404), so the tools take the proxy for a registry that is not
Apicurio. The producer must then register the schema alone, say so in one line and send
every event, as it did before it sent rules; a 409 (incompatible) stays a failure and is
not retried without the rules. With --no-rules nothing is judged on write, and the
contract registered is the same: the same refusal, said the same way.

The local Apicurio's Confluent API accepts a ruleSet and keeps none of it, so what the
real registry holds cannot tell the two registrations apart: the proxy's record of the
requests does.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

from cli_runs import cli_env, run_cli
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader
from topic_offsets import EventKey, all_messages, expected_events, message_count

from connection.paths import CONTRACT_FILE
from connection.timestamps import format_timestamp
from contract.registering import RULES_REFUSED
from producer.events import GeneratorPlan

LOOPBACK = "127.0.0.1"
UNPROCESSABLE = 422
CONFLICT = 409
# Not forwarded either way: about this one connection, or set by the side that sends.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
SET_BY_SERVER = {"date", "server"}
START = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
# The refusals' Confluent-style messages (error_code is the HTTP status, as Confluent's has it).
REFUSALS = {
    UNPROCESSABLE: "Unrecognized field: ruleSet",
    CONFLICT: "Schema being registered is incompatible with an earlier schema",
}
CONTRACT = parse_schema(json.loads(CONTRACT_FILE.read_text()))
REFUSED_LINE = "producer: the registry refused the schema's metadata and ruleSet, so "


@dataclass(frozen=True)
class Seen:
    """One request the proxy answered."""

    method: str
    path: str
    rule_set: bool  # a POST whose JSON body has a "ruleSet" key
    status: int


class RuleSetRefuser(ThreadingHTTPServer):
    """The registry at upstream, except that a POST with a ruleSet gets refusal."""

    daemon_threads = True

    def __init__(self, upstream: str, refusal: int) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname == LOOPBACK and parts.port, upstream  # loopback only
        assert refusal in REFUSALS, refusal
        super().__init__((LOOPBACK, 0), Relay)
        self.upstream = (parts.hostname, parts.port)
        self.url = urlunsplit(("http", f"{LOOPBACK}:{self.server_address[1]}", parts.path, "", ""))
        self.api_path = parts.path
        self.refusal = refusal
        self.seen: list[Seen] = []

    def refused(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.rule_set]


class Relay(BaseHTTPRequestHandler):
    server: RuleSetRefuser

    def relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        rule_set = self.command == "POST" and has_rule_set(body)
        if not self.path.startswith(self.server.api_path + "/"):
            status, answer = 404, b'{"error_code": 404, "message": "HTTP 404 Not Found"}'
            headers = [("Content-Type", "application/json")]
        elif rule_set:
            status = self.server.refusal
            error = {"error_code": status, "message": REFUSALS[status]}
            answer = json.dumps(error).encode()
            headers = [("Content-Type", "application/vnd.schemaregistry.v1+json")]
        else:
            status, headers, answer = self.forward(body)
        self.server.seen.append(Seen(self.command, self.path, rule_set, status))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """The real registry's answer to this request: status, headers, body as sent."""
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body:
                headers["Content-Length"] = str(len(body))
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            answer = response.read()
            skipped = HOP_BY_HOP | SET_BY_SERVER
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in skipped]
            return response.status, kept, answer
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = relay

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: what was asked is in server.seen."""


def has_rule_set(body: bytes) -> bool:
    try:
        request = json.loads(body)
    except ValueError:
        return False
    return isinstance(request, dict) and "ruleSet" in request


def event_key(message: Message, schema_id: int | None) -> EventKey:
    """The event in message's value, which must be written with schema_id."""
    value = message.value()
    assert value is not None and value[:5] == b"\0" + (schema_id or 0).to_bytes(4, "big")
    record = schemaless_reader(io.BytesIO(value[5:]), CONTRACT, None)
    assert isinstance(record, dict)
    return (record["ts"], record["symbol"], record["price"], record["currency"])


@contextmanager
def rule_set_refusing_registry(upstream: str, refusal: int) -> Iterator[RuleSetRefuser]:
    server = RuleSetRefuser(upstream, refusal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def registrations(server: RuleSetRefuser, subject: str) -> list[Seen]:
    """The registration requests (POST .../subjects/S/versions) of subject, in order."""
    return [
        seen
        for seen in server.seen
        if seen.method == "POST" and urlsplit(seen.path).path.endswith(f"/{subject}/versions")
    ]


def test_a_registry_refusing_the_rule_set_gets_the_schema_alone_one_line_every_event_sent(
    stack: dict[str, str], topic: str, registry: SchemaRegistryClient
) -> None:
    plan = GeneratorPlan(count=200, seed=4221, start=START)
    subject = f"{topic}-value"
    with rule_set_refusing_registry(stack["SCHEMA_REGISTRY_URL"], UNPROCESSABLE) as proxy:
        result = run_cli(
            "producer",
            cli_env(stack, SCHEMA_REGISTRY_URL=proxy.url),
            *("--topic", topic, "--count", "200", "--seed", str(plan.seed)),
            *("--start", format_timestamp(START)),
        )

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{REFUSED_LINE}{subject} is registered without them"), lines[0]
    assert "Unrecognized field: ruleSet" in lines[0]
    # exactly one request refused: the value schema with its rules; then the schema alone
    assert [seen.path for seen in proxy.refused()] == [registrations(proxy, subject)[0].path]
    assert [(seen.rule_set, seen.status) for seen in registrations(proxy, subject)] == [
        (True, UNPROCESSABLE),
        (False, 200),
    ]

    latest = registry.get_latest_version(subject)  # the real registry, not the proxy
    assert json.loads(latest.schema.schema_str or "") == json.loads(CONTRACT_FILE.read_text())
    assert latest.schema.rule_set is None
    assert f"{topic}-key" in registry.get_subjects()
    assert result.stdout.startswith(
        f"sent 200 events, 200 acknowledged, to topic {topic} (subject {subject}, "
        f"schema id {latest.schema_id}, version {latest.version})"
    ), result.stdout
    messages = all_messages({"bootstrap.servers": stack["KAFKA_BOOTSTRAP_SERVERS"]}, topic)
    assert len(messages) == 200
    assert Counter(event_key(message, latest.schema_id) for message in messages) == (
        expected_events(plan)
    )


def test_no_rules_registers_the_same_contract_and_says_the_same(
    stack: dict[str, str], topic: str
) -> None:
    with rule_set_refusing_registry(stack["SCHEMA_REGISTRY_URL"], UNPROCESSABLE) as proxy:
        result = run_cli(
            "producer",
            cli_env(stack, SCHEMA_REGISTRY_URL=proxy.url),
            *("--topic", topic, "--count", "200", "--no-rules"),
        )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"{REFUSED_LINE}{topic}-value is registered without them")
    assert [(seen.rule_set, seen.status) for seen in registrations(proxy, f"{topic}-value")] == [
        (True, UNPROCESSABLE),
        (False, 200),
    ]
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 200


def test_an_incompatible_answer_is_not_retried_without_the_rules(
    stack: dict[str, str], topic: str, registry: SchemaRegistryClient
) -> None:
    subject = f"{topic}-value"
    with rule_set_refusing_registry(stack["SCHEMA_REGISTRY_URL"], CONFLICT) as proxy:
        result = run_cli(
            "producer",
            cli_env(stack, SCHEMA_REGISTRY_URL=proxy.url),
            *("--topic", topic, "--count", "200"),
        )
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"incompatible with subject {subject} ({CONFLICT})" in lines[0]
    assert [(seen.rule_set, seen.status) for seen in registrations(proxy, subject)] == [
        (True, CONFLICT)
    ]
    assert subject not in registry.get_subjects()
    assert message_count(stack["KAFKA_BOOTSTRAP_SERVERS"], topic) == 0


def test_only_a_bad_or_unprocessable_request_reads_as_a_refused_rule_set() -> None:
    statuses = (400, 404, 408, 409, 415, 422, 429, 500, 503)
    assert [status for status in statuses if status in RULES_REFUSED] == [400, 422]

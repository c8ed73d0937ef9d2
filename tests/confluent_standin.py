"""A loopback stand-in for Confluent Schema Registry, for what the tools use of it when
registering and reading a contract (Confluent's registry does not run here).

It answers as Confluent's REST API does, for: ``GET``/``PUT /config/{subject}``
(``compatibilityGroup`` kept and echoed; ``defaultToGlobal``), ``POST
/subjects/{subject}/versions`` (``metadata`` and ``ruleSet`` kept with the version; a
request without them inherits the previous version's, Confluent's trap; an id per
distinct schema, metadata and rule set; the level, BACKWARD, checked against the latest
version of the same compatibility group only, where a group is set), ``POST
/subjects/{subject}`` (lookup), ``GET /subjects/{subject}/versions[/{n}]``. With
``keeps_groups`` False it is a registry without groups (its config answers leave the
group out, as Karapace's do); with ``keeps_rule_sets`` False it strips rule sets, as
Confluent's community edition does. Every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

LOOPBACK = "127.0.0.1"
GLOBAL_LEVEL = "BACKWARD"


@dataclass
class Version:
    number: int
    schema_id: int
    schema: str
    metadata: dict[str, Any] | None
    rule_set: dict[str, Any] | None

    def answer(self, subject: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subject": subject,
            "version": self.number,
            "id": self.schema_id,
            "schema": self.schema,
        }
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.rule_set is not None:
            out["ruleSet"] = self.rule_set
        return out


@dataclass
class Requests:
    bodies: list[tuple[str, str, Any]] = field(default_factory=list)

    def registrations(self, subject: str) -> list[dict[str, Any]]:
        path = f"/subjects/{subject}/versions"
        return [body for method, at, body in self.bodies if method == "POST" and at == path]


class ConfluentStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, keeps_groups: bool = True, keeps_rule_sets: bool = True) -> None:
        super().__init__((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server_address[1]}"
        self.keeps_groups = keeps_groups
        self.keeps_rule_sets = keeps_rule_sets
        self.subjects: dict[str, list[Version]] = {}
        self.configs: dict[str, dict[str, str]] = {}
        self.ids: dict[str, int] = {}
        self.requests = Requests()
        self.lock = threading.Lock()

    def schema_id(self, schema: str, metadata: Any, rule_set: Any) -> int:
        """Confluent's ids cover the schema with its metadata and rule set."""
        key = json.dumps([json.loads(schema), metadata, rule_set], sort_keys=True)
        return self.ids.setdefault(key, len(self.ids) + 1)

    def config(self, subject: str) -> dict[str, str]:
        return {"compatibilityLevel": GLOBAL_LEVEL, **self.configs.get(subject, {})}


def _compatible(reader: str, writer: str) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
        avro.schema.parse(reader), avro.schema.parse(writer)
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def _group_value(metadata: dict[str, Any] | None, group: str) -> str | None:
    return ((metadata or {}).get("properties") or {}).get(group)


class Handler(BaseHTTPRequestHandler):
    server: ConfluentStandIn

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str) -> None:
        self._reply(status, {"error_code": code, "message": message})

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        with self.server.lock:
            self.server.requests.bodies.append((self.command, path, body))
            segments = path.strip("/").split("/")
            if segments[0] == "config" and len(segments) == 2:
                return self._config(segments[1], body, query)
            if segments[0] == "subjects" and len(segments) >= 2:
                return self._subject(segments[1], segments[2:], body)
            return self._error(404, 404, "HTTP 404 Not Found")

    do_GET = do_POST = do_PUT = _route

    def _config(self, subject: str, body: Any, query: dict[str, list[str]]) -> None:
        if self.command == "PUT":
            kept = self.server.configs.setdefault(subject, {})
            if "compatibility" in body:
                kept["compatibilityLevel"] = body["compatibility"]
            if "compatibilityGroup" in body and self.server.keeps_groups:
                kept["compatibilityGroup"] = body["compatibilityGroup"]
            echo = {"compatibility": kept.get("compatibilityLevel")}
            if "compatibilityGroup" in kept:
                echo["compatibilityGroup"] = kept["compatibilityGroup"]
            return self._reply(200, {k: v for k, v in echo.items() if v is not None})
        if subject not in self.server.configs and not query.get("defaultToGlobal"):
            message = f"Subject '{subject}' does not have subject-level compatibility configured"
            return self._error(404, 40408, message)
        return self._reply(200, self.server.config(subject))

    def _subject(self, subject: str, rest: list[str], body: Any) -> None:
        versions = self.server.subjects.get(subject)
        if self.command == "POST" and rest == ["versions"]:
            return self._register(subject, body)
        if self.command == "POST" and not rest:
            return self._lookup(subject, body)
        if not versions:
            return self._error(404, 40401, f"Subject '{subject}' not found.")
        if rest == ["versions"]:
            return self._reply(200, [version.number for version in versions])
        if len(rest) == 2 and rest[0] == "versions":
            chosen = versions[-1] if rest[1] == "latest" else None
            for version in versions:
                if str(version.number) == rest[1]:
                    chosen = version
            if chosen is None:
                return self._error(404, 40402, f"Version {rest[1]} not found.")
            return self._reply(200, chosen.answer(subject))
        return self._error(404, 404, "HTTP 404 Not Found")

    def _register(self, subject: str, body: dict[str, Any]) -> None:
        versions = self.server.subjects.setdefault(subject, [])
        previous = versions[-1] if versions else None
        # Confluent's trap: what the request leaves out, the previous version gives.
        metadata = body.get("metadata", previous.metadata if previous else None)
        rule_set = body.get("ruleSet", previous.rule_set if previous else None)
        if not self.server.keeps_rule_sets:
            rule_set = None
        schema = body["schema"]
        for version in versions:
            same = json.loads(version.schema) == json.loads(schema)
            if same and (version.metadata, version.rule_set) == (metadata, rule_set):
                return self._reply(200, {"id": version.schema_id})
        group = self.server.configs.get(subject, {}).get("compatibilityGroup")
        mine = None if group is None else _group_value(metadata, group)
        in_group = [
            version
            for version in versions
            if group is None or _group_value(version.metadata, group) == mine
        ]
        if in_group and not _compatible(schema, in_group[-1].schema):
            return self._error(
                409,
                409,
                f"Schema being registered is incompatible with an earlier schema for subject "
                f'"{subject}"',
            )
        schema_id = self.server.schema_id(schema, metadata, rule_set)
        versions.append(Version(len(versions) + 1, schema_id, schema, metadata, rule_set))
        return self._reply(200, {"id": schema_id})

    def _lookup(self, subject: str, body: dict[str, Any]) -> None:
        versions = self.server.subjects.get(subject)
        if not versions:
            return self._error(404, 40401, f"Subject '{subject}' not found.")
        for version in reversed(versions):
            if json.loads(version.schema) != json.loads(body["schema"]):
                continue
            if "metadata" in body and body["metadata"] != version.metadata:
                continue
            kept = self.server.keeps_rule_sets
            if kept and "ruleSet" in body and body["ruleSet"] != version.rule_set:
                continue
            return self._reply(200, version.answer(subject))
        return self._error(404, 40403, "Schema not found")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: what was asked is in server.requests."""


@contextmanager
def confluent_standin(
    keeps_groups: bool = True, keeps_rule_sets: bool = True
) -> Iterator[ConfluentStandIn]:
    server = ConfluentStandIn(keeps_groups, keeps_rule_sets)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()

"""Apicurio Registry 3's own (v3) API, beside the Confluent-compatible one.

Apicurio's Confluent API accepts a version's ``metadata`` and ``ruleSet`` and keeps
neither; its own API keeps labels (string to string) on every artifact version, and a
Confluent subject is the artifact of that name in group ``default``. What the tools
need of it: create a version with its labels in one request (so no reader ever sees
the version without them), read a version's labels back (a version's metadata, never
label search, which cuts values at 512 characters), the artifact's labels, and the
artifact's compatibility rule (the subject's own level).

Requests go through the registry client's own HTTP session (its TLS, basic auth,
timeout and retries); errors come out as confluent-kafka's ``SchemaRegistryError`` with
Confluent's codes where they mean the same (40401/40402 not found, 409 incompatible), so
``connection.clients.registry_call`` turns them into one line as for every registry call.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

#: A Confluent-compatible API path of Apicurio (``/apis/ccompat/v7``), and where its own
#: API lives beside it.
CCOMPAT_PATH = re.compile(r"/apis/ccompat/v\d+$")
NATIVE_PATH = "/apis/registry/v3"
#: The group of the artifacts behind Apicurio's Confluent subjects.
CONFLUENT_GROUP = "default"
COMPATIBILITY_RULE = "COMPATIBILITY"
#: Apicurio's exception names, as Confluent's error codes.
_NOT_FOUND_CODES = {"ArtifactNotFoundException": 40401, "VersionNotFoundException": 40402}
_RULE_VIOLATION = "RuleViolationException"
HTTP_CONFLICT, INCOMPATIBLE = 409, 409


def native_url(ccompat_url: str) -> str | None:
    """Where Apicurio's own API would be for its Confluent API at ccompat_url; None when
    the URL is not an Apicurio Confluent API path."""
    if not CCOMPAT_PATH.search(ccompat_url):
        return None
    return CCOMPAT_PATH.sub(NATIVE_PATH, ccompat_url)


class ApicurioApi:
    """Apicurio's own API, through a registry client made for its URL."""

    def __init__(self, client: SchemaRegistryClient) -> None:
        self._rest = client._rest_client
        self.url = self._rest.base_urls[0]

    def _send(self, method: str, path: str, body: object = None) -> Any:
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            content = json.dumps(body)
            headers["Content-Type"] = "application/json"  # its own API refuses Confluent's type
        response = self._rest.send_http_request(self.url, path, method, headers, content)
        if 200 <= response.status_code < 300:
            return response.json() if response.content else None
        try:
            error = response.json()
            name, message = str(error.get("name")), str(error.get("title") or error["detail"])
        except (ValueError, KeyError, AttributeError):
            name, message = "", response.text[:200] or f"HTTP {response.status_code}"
        if name == _RULE_VIOLATION:
            raise SchemaRegistryError(HTTP_CONFLICT, INCOMPATIBLE, message)
        raise SchemaRegistryError(response.status_code, _NOT_FOUND_CODES.get(name, -1), message)

    def is_apicurio(self) -> bool:
        """Whether the server answers as Apicurio Registry's own API does."""
        try:
            info = self._send("GET", "system/info")
        except SchemaRegistryError:
            return False
        return isinstance(info, dict) and str(info.get("name", "")).startswith("Apicurio")

    @staticmethod
    def _artifact(subject: str) -> str:
        return f"groups/{CONFLUENT_GROUP}/artifacts/{quote(subject, safe='')}"

    def version_labels(self, subject: str, version: int) -> dict[str, str]:
        """The labels of the subject's version, as its metadata holds them."""
        meta = self._send("GET", f"{self._artifact(subject)}/versions/{version}")
        return dict(meta.get("labels") or {})

    def find_or_create_version(
        self, subject: str, schema_text: str, labels: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        """The subject's version holding exactly this schema, created with labels if there
        is none (the artifact too); its number and the labels it has (another's, when it
        was there already). The subject's compatibility rule applies to a new version."""
        body = {
            "artifactId": subject,
            "artifactType": "AVRO",
            "firstVersion": {
                "content": {"content": schema_text, "contentType": "application/json"},
                "labels": labels,
            },
        }
        answer = self._send(
            "POST", f"groups/{CONFLUENT_GROUP}/artifacts?ifExists=FIND_OR_CREATE_VERSION", body
        )
        version = answer["version"]
        return int(version["version"]), dict(version.get("labels") or {})

    def artifact_labels(self, subject: str) -> dict[str, str]:
        return dict(self._send("GET", self._artifact(subject)).get("labels") or {})

    def set_artifact_labels(self, subject: str, labels: dict[str, str]) -> None:
        """Replace the artifact's labels (its versions' labels are their own)."""
        self._send("PUT", self._artifact(subject), {"labels": labels})

    def compatibility_rule(self, subject: str) -> str | None:
        """The subject's own compatibility level; None when it has none (the global one
        applies)."""
        rules = self._send("GET", f"{self._artifact(subject)}/rules")
        if COMPATIBILITY_RULE not in rules:
            return None
        return str(
            self._send("GET", f"{self._artifact(subject)}/rules/{COMPATIBILITY_RULE}")["config"]
        )

    def set_compatibility_rule(self, subject: str, level: str | None) -> None:
        """Give the subject its own level, or with None none (the global one applies)."""
        path = f"{self._artifact(subject)}/rules"
        had = COMPATIBILITY_RULE in self._send("GET", path)
        if level is None:
            if had:
                self._send("DELETE", f"{path}/{COMPATIBILITY_RULE}")
        elif had:
            self._send("PUT", f"{path}/{COMPATIBILITY_RULE}", {"config": level})
        else:
            self._send("POST", path, {"ruleType": COMPATIBILITY_RULE, "config": level})

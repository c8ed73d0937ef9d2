"""The schema registry through its Confluent-compatible REST API.

confluent-kafka's SchemaRegistryClient does the talking. Two calls go through its REST
client directly because the public methods drop what is needed: `test_compatibility`
returns only a bool (the verbose reasons are lost), and `get_compatibility` does not
ask for the global fallback, so Apicurio answers NONE for a subject without its own
setting although it enforces the global level. Registering goes through
contract.registering, which keeps a version's metadata and rules in whichever registry
this is (on Apicurio, through its own API beside the Confluent one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

from connection.clients import (
    RegistryFailure,
    RegistryNotFound,
    registry_call,
    registry_client,
)
from connection.settings import RegistrySettings
from contract.migrations import ContractVersion
from contract.registered import subject_versions
from contract.registering import RegistrationRefused, register_version, restore_left_levels
from contract.rules import RulesDocument, RulesError
from schemagate.check import Version, parse
from schemagate.errors import GateError
from schemagate.levels import Level
from schemagate.model import Registration

SUBJECT_NOT_FOUND = 40401


class SubjectNotFound(GateError):
    """The subject has no versions yet."""


@dataclass(frozen=True)
class Verdict:
    """The registry's own answer to "is this schema compatible with that version"."""

    version: str
    compatible: bool
    messages: tuple[str, ...]


class Registry:
    def __init__(self, settings: RegistrySettings) -> None:
        self.url = settings.url
        self._settings = settings
        self._client = registry_client(settings)

    @contextmanager
    def _request(self, what: str) -> Iterator[None]:
        """Turn the client layer's failures into one GateError (its one-line message)."""
        try:
            with registry_call(self._settings, what):
                yield
        except RegistryNotFound as error:
            failure = SubjectNotFound if error.error_code == SUBJECT_NOT_FOUND else GateError
            raise failure(str(error)) from None
        except RegistryFailure as error:
            raise GateError(str(error)) from None

    def level(self, subject: str) -> Level:
        """The subject's compatibility level, or the global one if it has none."""
        rest = self._client._rest_client
        try:
            with self._request(f"compatibility level of {subject}"):
                config = rest.get(f"config/{quote(subject, safe='')}", {"defaultToGlobal": "true"})
        except SubjectNotFound:
            with self._request("global compatibility level"):
                config = rest.get("config")
        return Level(config["compatibilityLevel"])

    def history(self, subject: str) -> list[Version]:
        """Every registered version of the subject, oldest first ([] for a new subject)."""
        try:
            with self._request(f"versions of {subject}"):
                numbers = self._client.get_versions(subject)
        except SubjectNotFound:
            return []
        versions = []
        for number in sorted(numbers):
            with self._request(f"version {number} of {subject}"):
                text = self._client.get_version(subject, number).schema.schema_str
            label = str(number)
            versions.append(Version(label, parse(text or "", f"{subject} version {label}")))
        return versions

    def contract_versions(self, subject: str) -> list[ContractVersion]:
        """Every Avro version of the subject with the major and rules the registry keeps
        beside it (contract.registered); GateError in one line when it cannot be asked,
        or keeps rules that are not a rule set."""
        try:
            return subject_versions(self._client, self._settings, subject)
        except (RegistryFailure, RulesError) as error:
            raise GateError(str(error)) from None

    def verdicts(self, subject: str, schema_text: str, versions: Iterable[str]) -> list[Verdict]:
        """The registry's verdict on `schema_text` against each version, at its own level."""
        return [self._verdict(subject, schema_text, version) for version in versions]

    def _verdict(self, subject: str, schema_text: str, version: str) -> Verdict:
        path = f"compatibility/subjects/{quote(subject, safe='')}/versions/{version}?verbose=true"
        with self._request(f"compatibility of {subject} with version {version}"):
            answer = self._client._rest_client.post(path, body={"schema": schema_text})
        messages = tuple(str(message) for message in answer.get("messages") or ())
        return Verdict(version, bool(answer["is_compatible"]), messages)

    def restore_left_levels(self, subjects: Iterable[str]) -> tuple[str, ...]:
        """Restore the levels an interrupted register left lowered (contract.registering);
        a line for each."""
        with self._request("checking that every subject's level was restored"):
            return restore_left_levels(self._settings, subjects)

    def register(
        self, subject: str, schema_text: str, document: RulesDocument | None
    ) -> Registration:
        """Register the schema with its metadata and rules, kept by the registry
        (contract.registering); a new major too, which the gate has checked across majors
        before."""
        try:
            with self._request(f"registering {subject}"):
                registered = register_version(
                    self._client,
                    self._settings,
                    subject,
                    schema_text,
                    document or RulesDocument(),
                    new_major_checked=True,
                )
        except (RegistrationRefused, RulesError) as error:
            raise GateError(str(error)) from None
        return Registration(subject, registered.version, registered.schema_id, registered.notes)

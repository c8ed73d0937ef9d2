"""Registering a contract version: its schema with its metadata and rule set, kept by the
registry itself, whichever registry it is (told apart by what it answers, not by a flag).

- **Apicurio Registry 3** (its own API answers beside the Confluent one): the version is
  created through its own API with the metadata and rule set as the version's labels, in
  one request (``contract.registered`` reads them back). It has no compatibility groups:
  a new major is made registrable by ``schema-gate register`` only, which has checked
  across majors first: the subject's level is lowered to NONE for the one request and
  restored in any case; the level to restore is written on the subject's artifact first
  (label ``RESTORE_LEVEL_LABEL``), so a register interrupted in between is found, and
  repaired, by the next one.
- **Confluent's registry** (and any other): the register request carries ``metadata``
  and ``ruleSet`` explicitly, empty ones too, since Confluent's registry gives a version
  registered without them its previous version's; a version with a major sets the
  subject's ``compatibilityGroup`` to ``application.major.version`` when it has none, and
  a registry whose config answer leaves the group out supports none.

A version's rules, once registered, never change: the same schema registered again with
other rules is a new version with an id of its own on Confluent's registry (its ids
cover the metadata and rule set), and is refused on Apicurio, whose ids are the
schema's content: the new version would share the old one's id, so a writer id would no
longer say which rules it was written under.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

from confluent_kafka.schema_registry import (
    Metadata,
    MetadataProperties,
    Schema,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry import RuleSet as ConfluentRuleSet

from connection.apicurio import ApicurioApi
from connection.clients import RegistryNotFound, RegistryRejected, apicurio_api, registry_call
from connection.settings import RegistrySettings
from contract.migrations import ContractVersion
from contract.registered import (
    document_from_labels,
    labels_of,
    registered_version,
    returned_document,
    subject_versions,
)
from contract.rules import MAJOR_PROPERTY, RulesDocument, RuleSet

#: The subject's artifact label that holds the level to restore while it is lowered
#: (``GLOBAL_LEVEL``: the subject had no level of its own).
RESTORE_LEVEL_LABEL = "schemagate.restore-compatibility"
GLOBAL_LEVEL = "(global)"
LOWERED_LEVEL = "NONE"
#: What a registry that knows no ruleSet answers a register request holding one: an older
#: Confluent registry 422 ("Unrecognized field"), others a plain 400. Any other answer
#: (409: the schema itself is incompatible; 408, 429, 5xx) stays a failure.
RULES_REFUSED = frozenset({400, 422})


class RegistrationRefused(Exception):
    """The version cannot be registered as asked; str() is one line saying why."""


@dataclass(frozen=True)
class RegisteredVersion:
    """A version registered (or found registered) with its rules, and what to tell the
    user about how the registry keeps them (one line each)."""

    subject: str
    version: int
    schema_id: int
    notes: tuple[str, ...] = ()


def register_version(
    client: SchemaRegistryClient,
    settings: RegistrySettings,
    subject: str,
    schema_text: str,
    document: RulesDocument,
    new_major_checked: bool = False,
) -> RegisteredVersion:
    """Register schema_text under subject with document's metadata and rule set, kept by
    the registry. ``new_major_checked``: the caller has checked a new major against the
    earlier ones, so a registry that cannot (Apicurio) may register it unchecked.

    Raises RegistrationRefused (one line), or connection.clients.RegistryFailure."""
    api = apicurio_api(settings)
    if api is not None:
        return _register_on_apicurio(
            api, client, settings, subject, schema_text, document, new_major_checked
        )
    return _register_with_request(client, settings, subject, schema_text, document)


def _is_new_major(
    history: list[ContractVersion], schema_text: str, document: RulesDocument
) -> bool:
    """Whether registering would start a major other than the latest version's (a schema
    registered already is found, not registered again)."""
    if not history or history[-1].major == document.major:
        return False
    schema = json.loads(schema_text)
    return all(version.parsed != schema for version in history)


def _register_on_apicurio(
    api: ApicurioApi,
    client: SchemaRegistryClient,
    settings: RegistrySettings,
    subject: str,
    schema_text: str,
    document: RulesDocument,
    new_major_checked: bool,
) -> RegisteredVersion:
    notes = list(restore_left_level(api, settings, subject))
    history = subject_versions(client, settings, subject)
    labels = labels_of(document)
    where = f"registering {subject} with its rules as version labels"
    if new_major_checked and _is_new_major(history, schema_text, document):
        notes.append(
            f"{subject}: the registry at {settings.url} has no compatibility groups, so it "
            f"cannot check across majors: its level was lowered for this one request and "
            "restored; the gate's check across majors is the check"
        )
        with lowered_level(api, settings, subject), registry_call(settings, where):
            version, kept = api.find_or_create_version(subject, schema_text, labels)
    else:
        with registry_call(settings, where):
            version, kept = api.find_or_create_version(subject, schema_text, labels)
    source = f"registry {settings.url}: {subject} version {version}"
    if document_from_labels(kept, source) != document:
        raise RegistrationRefused(
            f"{subject} version {version} already holds this schema with other rules or "
            f"another major; a version's rules never change, and on this registry the same "
            f"schema keeps the same id, so a new version needs a changed schema"
        )
    with registry_call(settings, f"looking up {subject} version {version}"):
        schema_id = client.get_version(subject, version).schema_id
    if schema_id is None:
        raise RegistrationRefused(f"the registry returned no schema id for {subject}")
    return RegisteredVersion(subject, version, schema_id, tuple(notes))


def restore_left_levels(settings: RegistrySettings, subjects: Iterable[str]) -> tuple[str, ...]:
    """Restore each subject's level where a register left it lowered, before anything is
    checked at it; a line for each one restored (none on a registry that keeps groups)."""
    api = apicurio_api(settings)
    if api is None:
        return ()
    return tuple(
        line for subject in subjects for line in restore_left_level(api, settings, subject)
    )


def restore_left_level(
    api: ApicurioApi, settings: RegistrySettings, subject: str
) -> tuple[str, ...]:
    """Restore the subject's level if a register left it lowered (its artifact still has
    RESTORE_LEVEL_LABEL); a line saying so, or none."""
    try:
        level = _restore(api, settings, subject)
    except RegistryNotFound:  # a subject not registered yet has nothing to restore
        return ()
    if level is None:
        return ()
    return (
        f"{subject}: its compatibility level was left lowered to {LOWERED_LEVEL} by an "
        f"interrupted register; restored to {level}",
    )


def _restore(api: ApicurioApi, settings: RegistrySettings, subject: str) -> str | None:
    """Put the level back as the artifact's label says, then drop the label; the level
    restored, None when there was nothing to restore."""
    with registry_call(settings, f"restoring the compatibility level of {subject}"):
        labels = api.artifact_labels(subject)
        if RESTORE_LEVEL_LABEL not in labels:
            return None
        saved = labels.pop(RESTORE_LEVEL_LABEL)
        api.set_compatibility_rule(subject, None if saved == GLOBAL_LEVEL else saved)
        api.set_artifact_labels(subject, labels)
    return "the global level" if saved == GLOBAL_LEVEL else saved


@contextmanager
def lowered_level(api: ApicurioApi, settings: RegistrySettings, subject: str) -> Iterator[None]:
    """The subject's level lowered to NONE inside the block, restored after it whatever
    happens; the level to restore is on the artifact while it is lowered."""
    with registry_call(settings, f"lowering the compatibility level of {subject}"):
        labels = api.artifact_labels(subject)
        saved = api.compatibility_rule(subject)
        api.set_artifact_labels(subject, labels | {RESTORE_LEVEL_LABEL: saved or GLOBAL_LEVEL})
        api.set_compatibility_rule(subject, LOWERED_LEVEL)
    try:
        yield
    finally:
        _restore(api, settings, subject)


def confluent_schema(schema_text: str, document: RulesDocument) -> Schema:
    """The register request's schema with its metadata and rule set, both explicit even
    when empty: Confluent's registry gives a request without them the previous
    version's."""
    rule_set = (
        ConfluentRuleSet.from_dict(document.rule_set.to_json())
        if document.rule_set != RuleSet()
        else ConfluentRuleSet(migration_rules=None, domain_rules=None)  # "ruleSet": {}
    )
    metadata = Metadata(
        tags=None, properties=MetadataProperties(dict(document.metadata)), sensitive=None
    )
    return Schema(schema_text, "AVRO", metadata=metadata, rule_set=rule_set)


def _register_with_request(
    client: SchemaRegistryClient,
    settings: RegistrySettings,
    subject: str,
    schema_text: str,
    document: RulesDocument,
) -> RegisteredVersion:
    notes: list[str] = []
    if document.major is not None:
        history = subject_versions(client, settings, subject)
        grouped = compatibility_group(client, settings, subject)
        if not grouped and _is_new_major(history, schema_text, document):
            raise RegistrationRefused(
                f"the registry at {settings.url} supports no compatibility groups "
                f"(its config answer has no compatibilityGroup) and keeps no version "
                f"labels: it cannot hold major {document.major} of {subject} beside "
                f"major {history[-1].major or '(none)'}"
            )
    schema = confluent_schema(schema_text, document)
    try:
        with registry_call(settings, f"registering {subject} with its rules"):
            client.register_schema(subject, schema)
    except RegistryRejected as error:
        if error.status not in RULES_REFUSED:
            raise
        if document != RulesDocument():  # without empty ones, nothing is lost
            notes.append(
                f"the registry refused the schema's metadata and ruleSet, so {subject} is "
                f"registered without them: {error}"
            )
        schema = Schema(schema_text, "AVRO")
        with registry_call(settings, f"registering {subject}"):
            client.register_schema(subject, schema)
    with registry_call(settings, f"looking up {subject}"):
        found = client.lookup_schema(subject, schema)
    if found.version is None or found.schema_id is None:
        raise RegistrationRefused(f"the registry returned no version for {subject}")
    if schema.rule_set is not None:  # sent with them: did the registry keep them?
        notes.extend(_dropped(client, settings, subject, found.version, document))
    return RegisteredVersion(subject, found.version, found.schema_id, tuple(notes))


def _dropped(
    client: SchemaRegistryClient,
    settings: RegistrySettings,
    subject: str,
    version: int,
    document: RulesDocument,
) -> tuple[str, ...]:
    """A line when the registry did not keep what was sent (Confluent's community edition
    strips rule sets), none when it did."""
    registered = registered_version(client, settings, subject, version)
    source = f"registry {settings.url}: {subject} version {version}"
    kept = returned_document(registered, source) or RulesDocument()
    if kept == document:
        return ()
    lost = [
        part
        for part, sent, back in (
            ("metadata", document.metadata, kept.metadata),
            ("ruleSet", document.rule_set, kept.rule_set),
        )
        if sent != back
    ]
    return (
        f"the registry at {settings.url} did not keep the {' and '.join(lost)} of {subject} "
        f"version {version}: readers of this registry will not find them",
    )


def compatibility_group(
    client: SchemaRegistryClient, settings: RegistrySettings, subject: str
) -> bool:
    """Whether the subject's compatibility group is application.major.version, set now if
    it has none; False when the registry keeps no group (its answer leaves it out)."""
    rest, path = client._rest_client, f"config/{quote(subject, safe='')}"
    with registry_call(settings, f"compatibility group of {subject}"):
        current = rest.get(path, {"defaultToGlobal": "true"})
    group = current.get("compatibilityGroup")
    if group == MAJOR_PROPERTY:
        return True
    if group:
        raise RegistrationRefused(
            f"{subject}: the registry groups versions by {group!r}, not by "
            f"{MAJOR_PROPERTY!r}, the metadata property the contract's majors use"
        )
    with registry_call(settings, f"setting the compatibility group of {subject}"):
        answer = rest.put(path, {"compatibilityGroup": MAJOR_PROPERTY})
    return bool(answer) and answer.get("compatibilityGroup") == MAJOR_PROPERTY

"""The contract as the registry keeps it: every version of a subject with its major and
rules, read the same way on any machine that reaches the registry.

Where a version's ``metadata`` and ``ruleSet`` live:

- a registry that keeps them (Confluent's) returns them with the version;
- Apicurio Registry 3, whose Confluent API drops them, keeps them as the version's labels
  in its own API (``connection.apicurio``): each metadata property as a label of the same
  name, and the rule set as one label, ``confluent.ruleSet``, holding its JSON.

What the registry returns with the version wins; the labels are read where it returns
neither. A version with neither has no major and no rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import quote

from confluent_kafka.schema_registry import RegisteredSchema, SchemaRegistryClient

from connection.clients import RegistryNotFound, apicurio_api, registry_call
from connection.settings import RegistrySettings
from contract.migrations import ContractVersion
from contract.rules import (
    RulesDocument,
    RulesError,
    RuleSet,
    metadata_from_json,
    rule_set_from_json,
)

#: The version label holding the rule set's JSON on a registry that keeps labels only.
RULE_SET_LABEL = "confluent.ruleSet"
AVRO = "AVRO"


def labels_of(document: RulesDocument) -> dict[str, str]:
    """The version labels that keep document: its metadata properties, and its rule set
    as JSON under RULE_SET_LABEL (no label for an empty rule set)."""
    labels = dict(document.metadata)
    if document.rule_set != RuleSet():
        labels[RULE_SET_LABEL] = json.dumps(document.rule_set.to_json(), separators=(",", ":"))
    return labels


def document_from_labels(labels: Mapping[str, str], source: str) -> RulesDocument:
    """The metadata and rule set that labels keep (RulesError naming source if the rule
    set label is not a rule set)."""
    metadata = {key: value for key, value in labels.items() if key != RULE_SET_LABEL}
    rule_set = RuleSet()
    if RULE_SET_LABEL in labels:
        try:
            data = json.loads(labels[RULE_SET_LABEL])
        except ValueError as error:
            raise RulesError(f"{source}, label {RULE_SET_LABEL}: not JSON ({error})") from None
        rule_set = rule_set_from_json(data, f"{source}, label {RULE_SET_LABEL}")
    return RulesDocument(rule_set, metadata)


def returned_document(registered: RegisteredSchema, source: str) -> RulesDocument | None:
    """The metadata and rule set the registry returned with a version; None when it
    returned neither."""
    schema = registered.schema
    if schema.metadata is None and schema.rule_set is None:
        return None
    metadata = None if schema.metadata is None else schema.metadata.to_dict()
    rule_set = None if schema.rule_set is None else schema.rule_set.to_dict()
    return RulesDocument(rule_set_from_json(rule_set, source), metadata_from_json(metadata, source))


def registered_version(
    client: SchemaRegistryClient, settings: RegistrySettings, subject: str, version: int
) -> RegisteredSchema:
    """The version as the registry answers now: not the client's cache, which holds what
    was sent with a lookup or registration, not what the registry kept."""
    path = f"subjects/{quote(subject, safe='')}/versions/{version}"
    with registry_call(settings, f"version {version} of {subject}"):
        return RegisteredSchema.from_dict(client._rest_client.get(path))


def subject_versions(
    client: SchemaRegistryClient, settings: RegistrySettings, subject: str
) -> list[ContractVersion]:
    """Every Avro version of the subject, oldest first, with its metadata and rules as the
    registry keeps them ([] for a subject with no versions).

    Registry failures raise connection.clients.RegistryFailure, a rule set the registry
    holds that is not one we run raises contract.rules.RulesError: one line each."""
    try:
        with registry_call(settings, f"versions of {subject}"):
            numbers = client.get_versions(subject)
    except RegistryNotFound:
        return []
    versions = []
    for number in sorted(numbers):
        registered = registered_version(client, settings, subject, number)
        if (registered.schema.schema_type or AVRO) != AVRO:
            continue
        source = f"registry {settings.url}: {subject} version {number}"
        document = returned_document(registered, source)
        if document is None:
            document = _labelled_document(settings, subject, number, source)
        versions.append(
            ContractVersion(
                number, registered.schema_id, registered.schema.schema_str or "", document
            )
        )
    return versions


def _labelled_document(
    settings: RegistrySettings, subject: str, version: int, source: str
) -> RulesDocument:
    """What the version's labels keep, where the registry keeps labels (Apicurio)."""
    api = apicurio_api(settings)
    if api is None:
        return RulesDocument()
    with registry_call(settings, f"labels of version {version} of {subject}"):
        labels = api.version_labels(subject, version)
    return document_from_labels(labels, source)

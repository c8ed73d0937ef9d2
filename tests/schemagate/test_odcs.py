"""python -m schemagate export/import --format odcs: the contract as an ODCS v3 document and
back, validated by the standard's own JSON schema and Pydantic model."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastavro.schema import parse_schema, to_parsing_canonical_form
from open_data_contract_standard.model import OpenDataContractStandard

from connection.paths import CONTRACT_FILE, REPO_ROOT
from contract.rules import load_rules_document, rules_file
from schemagate.cli import main

MAJOR_2 = REPO_ROOT / "docs" / "examples" / "major-2" / "prices-value.avsc"
ODCS_SCHEMA = json.loads(
    files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8")
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def export(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, _ = run(capsys, "export", "--format", "odcs", *args)
    assert code == 0
    document = yaml.safe_load(out)
    assert isinstance(document, dict)
    return document


def valid(document: dict[str, Any]) -> None:
    """Valid by the standard's JSON schema, and loads into its Pydantic model."""
    validator = jsonschema.validators.validator_for(ODCS_SCHEMA)(ODCS_SCHEMA)
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == []
    OpenDataContractStandard.model_validate(document)


def canonical(path: Path) -> str:
    return str(to_parsing_canonical_form(parse_schema(json.loads(path.read_text()))))


def test_the_shipped_contract_exports_as_valid_odcs(capsys: pytest.CaptureFixture[str]) -> None:
    document = export(capsys, str(CONTRACT_FILE), "--topic", "prices", "--bootstrap-servers", "b:9")
    valid(document)
    assert document["apiVersion"] == "v3.2.0"
    assert document["servers"] == [
        {"server": "kafka", "type": "kafka", "host": "b:9", "format": "avro"}
    ]
    (record,) = document["schema"]
    assert (record["name"], record["physicalName"]) == ("PriceEvent", "prices")
    assert record["customProperties"] == [{"property": "namespace", "value": "prices.events"}]
    properties = {item["name"]: item for item in record["properties"]}
    assert {name: item["required"] for name, item in properties.items()} == {
        "ts": True,
        "symbol": True,
        "price": True,
        "currency": False,  # defaulted: a v1 record read without a reader schema has none
    }
    assert (properties["ts"]["physicalType"], properties["ts"]["logicalType"]) == (
        "long",
        "timestamp",
    )
    assert properties["currency"]["customProperties"] == [
        {"property": "avroDefault", "value": "USD"}
    ]
    checks = record["quality"]
    assert [check["id"] for check in checks] == [
        "price-positive",
        "currency-iso-4217",
        "symbol-ticker",
    ]
    assert all(check["type"] == "sql" and check["mustBe"] == 0 for check in checks)
    assert checks[0]["query"].startswith("SELECT COUNT(*) FROM {model} WHERE NOT coalesce(")
    assert checks[0]["customProperties"][0]["value"]["expr"] == "message.price > 0.0"


def test_without_a_topic_there_is_no_server(capsys: pytest.CaptureFixture[str]) -> None:
    document = export(capsys)  # the default file, schemas/prices-value.avsc
    valid(document)
    assert "servers" not in document
    assert "physicalName" not in document["schema"][0]


def contract_in(tmp_path: Path, schema: dict[str, Any], rules: dict[str, Any]) -> Path:
    path = tmp_path / "t-value.avsc"
    path.write_text(json.dumps(schema))
    rules_file(path).write_text(json.dumps(rules))
    return path


def rule(name: str, expr: str, mode: str = "WRITEREAD", action: str = "DLQ") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "CONDITION",
        "mode": mode,
        "type": "CEL",
        "expr": expr,
        "onFailure": action,
    }


def test_a_rule_the_translator_refuses_goes_out_as_a_text_check_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [
            {"name": "note", "type": ["string", "null"], "default": "x"},
            {"name": "n", "type": "long"},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }
    path = contract_in(
        tmp_path,
        schema,
        {
            "domainRules": [
                rule("note-set", "message.note == 'x'"),
                rule("n-small", "message.n < 10", mode="WRITE"),
                rule("n-positive", "message.n > 0", action="NONE"),
                rule("recent", "message.ts > 0"),  # a timestamp: outside what CEL types here
            ]
        },
    )
    code, out, err = run(capsys, "export", "--format", "odcs", str(path))
    assert code == 0
    assert err.splitlines() == [
        "schema-gate: rule 'note-set' goes out as a text check: field note is nullable with "
        "a non-null default: a record written without the field cannot be told from a null there",
        "schema-gate: rule 'recent' goes out as a text check: rule 'recent': `message.ts`: "
        "field ts is timestamp-millis outside the subset (has() only)",
    ]
    document = yaml.safe_load(out)
    valid(document)
    checks = {check["id"]: check for check in document["schema"][0]["quality"]}
    assert checks["note-set"]["type"] == "text"
    assert "message.note == 'x'" in checks["note-set"]["description"]
    assert checks["n-small"]["type"] == "text"  # WRITE only: it does not judge on read
    assert checks["recent"]["type"] == "text"
    assert (checks["n-positive"]["type"], checks["n-positive"]["severity"]) == ("sql", "warning")
    assert checks["note-set"]["customProperties"][0]["value"] == rule(
        "note-set", "message.note == 'x'"
    )


def round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Path
) -> tuple[str, str, Path]:
    """Export the contract, import it into tmp_path/out, export the import."""
    first = tmp_path / "first.yaml"
    code, out, _ = run(capsys, "export", "--format", "odcs", str(source), "--topic", "prices")
    assert code == 0
    first.write_text(out)
    code, out, _ = run(
        capsys, "import", "--format", "odcs", str(first), "--schemas-dir", str(tmp_path / "out")
    )
    assert code == 0
    imported = tmp_path / "out" / "prices-value.avsc"
    assert out.splitlines() == [f"wrote {imported}", f"wrote {rules_file(imported)}"]
    code, again, _ = run(capsys, "export", "--format", "odcs", str(imported), "--topic", "prices")
    assert code == 0
    return first.read_text(), again, imported


def test_export_import_export_gives_the_same_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, again, imported = round_trip(tmp_path, capsys, CONTRACT_FILE)
    assert again == first
    assert canonical(imported) == canonical(CONTRACT_FILE)
    assert json.loads(imported.read_text()) == json.loads(CONTRACT_FILE.read_text())
    assert load_rules_document(rules_file(imported)) == load_rules_document(
        rules_file(CONTRACT_FILE)
    )


def test_the_major_and_the_migration_rules_travel_in_custom_properties(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = export(capsys, str(MAJOR_2))
    valid(document)
    assert document["version"] == "2.0.0"
    carried = {item["property"]: item["value"] for item in document["customProperties"]}
    original = load_rules_document(rules_file(MAJOR_2))
    assert carried["confluentMetadata"] == {"application.major.version": "2"}
    assert carried["confluentMigrationRules"] == [
        rule.to_json() for rule in original.rule_set.migration_rules
    ]
    first, again, imported = round_trip(tmp_path, capsys, MAJOR_2)
    assert again == first
    assert canonical(imported) == canonical(MAJOR_2)
    assert load_rules_document(rules_file(imported)) == original


def test_complex_and_nullable_types_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = {
        "type": "record",
        "name": "Quote",
        "namespace": "q",
        "fields": [
            {"name": "bid", "type": ["null", "double"]},
            {"name": "ask", "type": ["null", "double"], "default": None},
            {"name": "venue", "type": ["string", "null"]},
            {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["B", "S"]}},
            {"name": "legs", "type": {"type": "array", "items": "long"}, "default": []},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "size", "type": "int", "default": 0, "aliases": ["qty"]},
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
            },
        ],
    }
    source = contract_in(tmp_path, schema, {"domainRules": [rule("some-bid", "has(message.bid)")]})
    source = source.rename(tmp_path / "prices-value.avsc")
    rules_file(tmp_path / "t-value.avsc").rename(rules_file(source))
    valid(export(capsys, str(source)))
    first, again, imported = round_trip(tmp_path, capsys, source)
    assert again == first
    assert json.loads(imported.read_text()) == schema


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [unclosed\n", "not YAML (line 2)"),
        ({"dataContractSpecification": "1.1.0", "id": "x"}, "not an ODCS v3 data contract"),
        ({"apiVersion": "v2.2.2", "kind": "DataContract", "id": "x"}, "not an ODCS v3"),
        (
            {"apiVersion": "v3.2.0", "kind": "DataContract", "id": "x", "version": "1"},
            "names no schema",
        ),
        ("- just\n- a list\n", "not an ODCS v3 data contract (not a YAML mapping)"),
    ],
)
def test_a_file_that_is_not_an_odcs_contract_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    path = write(tmp_path, content)
    code, out, err = run(
        capsys, "import", "--format", "odcs", str(path), "--schemas-dir", str(tmp_path)
    )
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def shipped_document(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return export(capsys, str(CONTRACT_FILE), "--topic", "prices")


def test_a_foreign_check_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = shipped_document(capsys)
    document["schema"][0]["quality"].append(
        {
            "id": "few-rows",
            "type": "sql",
            "query": "SELECT COUNT(*) FROM {model}",
            "mustBeLessThan": 9,
        }
    )
    document["schema"][0]["properties"][1]["quality"] = [{"metric": "nullValues", "mustBe": 0}]
    path = write(tmp_path, document)
    out_dir = tmp_path / "out"
    code, out, err = run(
        capsys, "import", "--format", "odcs", str(path), "--schemas-dir", str(out_dir)
    )
    assert (code, out) == (2, "")
    assert err == (
        f"schema-gate: error: {path}: quality check few-rows (sql) carries no CEL rule; quality "
        "check 1 (library) on property symbol carries no CEL rule (--skip-unsupported leaves "
        "them out)\n"
    )
    assert not out_dir.exists()

    code, out, err = run(
        capsys,
        "import",
        "--format",
        "odcs",
        str(path),
        "--schemas-dir",
        str(out_dir),
        "--skip-unsupported",
    )
    assert code == 0
    assert err.splitlines() == [
        "schema-gate: skipped quality check few-rows (sql) carries no CEL rule",
        "schema-gate: skipped quality check 1 (library) on property symbol carries no CEL rule",
    ]
    assert load_rules_document(out_dir / "prices-value.rules.json") == load_rules_document(
        rules_file(CONTRACT_FILE)
    )


def test_a_type_with_no_avro_mapping_is_refused_unless_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = shipped_document(capsys)
    document["schema"][0]["properties"].append(
        {"name": "venue", "physicalType": "VARCHAR(8)", "logicalType": "string"}
    )
    path = write(tmp_path, document)
    code, _, err = run(
        capsys, "import", "--format", "odcs", str(path), "--schemas-dir", str(tmp_path / "o")
    )
    assert code == 2
    assert "property venue: physicalType VARCHAR(8) has no Avro mapping" in err
    code, _, err = run(
        capsys,
        "import",
        "--format",
        "odcs",
        str(path),
        "--schemas-dir",
        str(tmp_path / "o"),
        "--skip-unsupported",
    )
    assert code == 0
    assert (
        err == "schema-gate: skipped property venue: physicalType VARCHAR(8) has no Avro mapping\n"
    )
    assert canonical(tmp_path / "o" / "prices-value.avsc") == canonical(CONTRACT_FILE)


def test_the_subject_comes_from_the_topic_or_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, export(capsys))  # no kafka server: no topic
    code, _, err = run(
        capsys, "import", "--format", "odcs", str(path), "--schemas-dir", str(tmp_path)
    )
    assert code == 2 and "names no topic" in err and "--subject" in err
    code, out, _ = run(
        capsys,
        "import",
        "--format",
        "odcs",
        str(path),
        "--schemas-dir",
        str(tmp_path),
        "--subject",
        "q-value",
    )
    assert code == 0 and f"wrote {tmp_path / 'q-value.avsc'}" in out


def test_existing_files_are_overwritten_only_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CONTRACT_FILE, tmp_path / "prices-value.avsc")
    path = write(tmp_path, shipped_document(capsys))
    before = (tmp_path / "prices-value.avsc").read_text()
    code, _, err = run(
        capsys, "import", "--format", "odcs", str(path), "--schemas-dir", str(tmp_path)
    )
    assert code == 2 and "exists already (--force overwrites)" in err
    assert (tmp_path / "prices-value.avsc").read_text() == before
    assert not rules_file(tmp_path / "prices-value.avsc").exists()
    code, _, _ = run(
        capsys, "import", "--format", "odcs", str(path), "--schemas-dir", str(tmp_path), "--force"
    )
    assert code == 0
    assert rules_file(tmp_path / "prices-value.avsc").exists()


def test_datacontract_clis_own_avro_import_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `datacontract import avro` writes for our schema (its 1.2.8 output, trimmed):
    the timestamp comes back from physicalType long and logicalType timestamp."""
    document = {
        "apiVersion": "v3.2.0",
        "kind": "DataContract",
        "id": "my-data-contract",
        "version": "1.0.0",
        "status": "draft",
        "schema": [
            {
                "name": "PriceEvent",
                "physicalType": "record",
                "logicalType": "object",
                "physicalName": "PriceEvent",
                "customProperties": [{"property": "namespace", "value": "prices.events"}],
                "properties": [
                    {
                        "name": "ts",
                        "physicalType": "long",
                        "logicalType": "timestamp",
                        "required": True,
                    },
                    {
                        "name": "symbol",
                        "physicalType": "string",
                        "logicalType": "string",
                        "required": True,
                    },
                    {
                        "name": "price",
                        "physicalType": "double",
                        "logicalType": "number",
                        "required": True,
                    },
                    {
                        "name": "currency",
                        "physicalType": "string",
                        "logicalType": "string",
                        "required": True,
                        "customProperties": [{"property": "avroDefault", "value": "USD"}],
                    },
                ],
            }
        ],
    }
    path = write(tmp_path, document)
    code, _, _ = run(
        capsys,
        "import",
        "--format",
        "odcs",
        str(path),
        "--schemas-dir",
        str(tmp_path),
        "--subject",
        "prices-value",
    )
    assert code == 0
    assert canonical(tmp_path / "prices-value.avsc") == canonical(CONTRACT_FILE)
    assert not rules_file(tmp_path / "prices-value.avsc").exists()

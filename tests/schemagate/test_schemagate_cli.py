"""The command line without a registry: offline checks against git, output formats, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from failing_endpoints import silent_server
from gate_repo import Repo
from schemagate_cases import PRICE, fld, record

from connection.exits import EXIT_INTERRUPTED
from connection.paths import REPO_ROOT
from schemagate.cli import main

V1 = record(PRICE, fld("size", "long"))
BROKEN = record(fld("price", "string"), fld("size", "int"), fld("venue", "string"))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(tmp_path)
    return Repo(tmp_path)


def gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_compatible_change_passes_offline(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit(V1)
    repo.write(record(PRICE, fld("size", "long"), fld("currency", "string", default="USD")))
    code, out = gate(capsys, "check", "--offline", "--against", "HEAD")
    assert code == 0, out
    assert "prices-value (schemas/prices-value.avsc) at BACKWARD against version" in out


def test_incompatible_change_exits_1_and_lists_every_violation(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit(V1)
    repo.write(BROKEN)
    code, out = gate(capsys, "check", "--offline", "--against", "HEAD", "--level", "FULL")
    assert code == 1
    assert "INCOMPATIBLE, 4 violations" in out
    for expected in (
        "TYPE_CHANGED price: double -> string (backward",
        "TYPE_CHANGED price: double -> string (forward",
        "TYPE_CHANGED size: long -> int (backward",
        "FIELD_ADDED_WITHOUT_DEFAULT venue: absent -> string (backward",
        "field `price` changed from double to string: old events cannot be read",
    ):
        assert expected in out


def test_json_output_parses_and_carries_every_violation(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = repo.commit(V1)
    repo.write(BROKEN)
    code, out = gate(capsys, "check", "--offline", "--against", sha, "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["compatible"] is False
    [subject] = document["subjects"]
    assert subject["subject"] == "prices-value" and subject["compared_with"] == [sha]
    assert [(v["rule"], v["path"]) for v in subject["violations"]] == [
        ("TYPE_CHANGED", "price"),
        ("TYPE_CHANGED", "size"),
        ("FIELD_ADDED_WITHOUT_DEFAULT", "venue"),
    ]


def test_junit_output_parses_with_one_failure_per_incompatible_subject(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit(V1)
    repo.write(BROKEN)
    (repo.root / "schemas" / "other-value.avsc").write_text(json.dumps(V1))  # new subject
    code, out = gate(capsys, "check", "--offline", "--format", "junit")
    suite = ET.fromstring(out).find("testsuite")
    assert code == 1 and suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase[@classname='schema-gate.prices-value']/failure")
    assert failure is not None and failure.text is not None
    assert len(failure.text.splitlines()) == 3


def test_github_output_annotates_the_schema_file(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit(V1)
    repo.write(BROKEN)
    code, out = gate(capsys, "check", "--offline", "--format", "github")
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert code == 1 and len(errors) == 3
    assert errors[0].startswith(
        "::error file=schemas/prices-value.avsc,title=schema-gate TYPE_CHANGED price::"
    )


def test_transitive_levels_compare_with_every_version_in_git_history(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    first = repo.commit(record(fld("size", "int")))
    repo.commit(record())
    repo.commit(record(fld("note", "string", default="")))
    repo.commit(record())  # back to an earlier content: one version, not two
    repo.write(record(fld("size", "string", default="")))
    code, _ = gate(capsys, "check", "--offline", "--level", "BACKWARD")
    assert code == 0
    code, out = gate(
        capsys, "check", "--offline", "--level", "BACKWARD_TRANSITIVE", "--format", "json"
    )
    [subject] = json.loads(out)["subjects"]
    assert code == 1
    assert len(subject["compared_with"]) == 3 and subject["compared_with"][0] == first
    assert [(v["rule"], v["against"]) for v in subject["violations"]] == [("TYPE_CHANGED", first)]


def test_history_stops_at_the_given_ref(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit(record(fld("size", "int")))
    repo.git("tag", "release")
    repo.commit(record(fld("size", "string")))
    repo.write(record(fld("size", "long")))
    assert gate(capsys, "check", "--offline", "--against", "release")[0] == 0
    assert gate(capsys, "check", "--offline", "--against", "HEAD")[0] == 1


def test_schema_absent_at_the_ref_is_a_new_subject(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo.root / "README").write_text("x")
    repo.git("add", "README")
    repo.git("commit", "-q", "-m", "start")
    repo.write(V1)
    code, out = gate(capsys, "check", "--offline")
    assert code == 0 and "new subject, nothing to compare with" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--offline", "--against", "no-such-ref"], "git ref 'no-such-ref'"),
        (["check", "--offline", "--schemas-dir", "nowhere"], "no .avsc files in nowhere"),
        (["check", "--offline", "broken.avsc"], "broken.avsc: not a valid Avro schema"),
        (
            ["check", "--schema-registry-url", "http://127.0.0.1:9"],
            "schema registry unreachable at",
        ),
    ],
)
def test_errors_exit_2_with_one_line(
    repo: Repo, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    repo.commit(V1)
    (repo.root / "broken.avsc").write_text('{"type": "record"')
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_against_without_offline_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--against", "HEAD"])
    assert exited.value.code == 2


def test_launcher_runs_the_gate(repo: Repo) -> None:
    repo.commit(V1)
    repo.write(BROKEN)
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "schema-gate"), "check", "--offline"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "TYPE_CHANGED price" in done.stdout


def test_an_unknown_level_is_one_line_that_lists_the_levels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--offline", "--level", "STRICT"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "schema-gate check: error: argument --level: not a compatibility level: 'STRICT' "
        "(one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, "
        "FULL_TRANSITIVE) (see --help)\n"
    )


def test_ctrl_c_while_the_registry_keeps_the_gate_waiting_is_one_line_and_exit_130(
    repo: Repo,
) -> None:
    repo.commit(V1)
    with silent_server() as registry:
        gate_run = subprocess.Popen(
            [sys.executable, "-m", "schemagate", "check"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{registry.port}",
            },
            cwd=repo.root,
            start_new_session=True,  # its own process group, as a shell's foreground job
        )
        try:
            assert registry.connected.wait(60), "the gate never asked the registry"
            os.killpg(gate_run.pid, signal.SIGINT)  # Ctrl-C
            stdout, stderr = gate_run.communicate(timeout=60)
        finally:
            if gate_run.poll() is None:
                gate_run.kill()
                gate_run.communicate()
    assert (gate_run.returncode, stdout, stderr) == (
        EXIT_INTERRUPTED,
        "",
        "schema-gate: interrupted\n",
    )

"""A schema file's versions in git, for the offline check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from schemagate.check import Version, parse
from schemagate.errors import GateError


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise GateError(f"cannot run git: {error.strerror}") from error


def _git_out(cwd: Path, *args: str) -> str:
    done = _git(cwd, *args)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise GateError(f"git {args[0]} failed: {detail[-1] if detail else done.returncode}")
    return done.stdout


def _resolve_ref(cwd: Path, ref: str) -> str:
    """The commit `ref` names, or a GateError saying it names none."""
    done = _git(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise GateError(f"git ref {ref!r} does not name a commit here")
    return done.stdout.strip()


def history_at(path: Path, ref: str) -> list[Version]:
    """The distinct versions of `path` up to `ref`, oldest first, the last as at `ref`.

    A content that comes back (a revert) counts once, at its latest appearance, so the
    last version is always the file as it is at `ref`. No versions if it is absent there.
    """
    _, relative = _located(path)
    return [
        Version(label, parse(text, f"{relative} at {label}")) for label, text in texts_at(path, ref)
    ]


def texts_at(path: Path, ref: str) -> list[tuple[str, str]]:
    """history_at's versions unparsed: (label, text) pairs, the label the commit that
    first made that content current (12 hex digits)."""
    top, relative = _located(path)
    commit = _resolve_ref(top, ref)
    at_commit = _git(top, "show", f"{commit}:{relative}")
    if at_commit.returncode != 0:
        return []
    by_content: dict[str, tuple[str, str]] = {}
    for sha in _git_out(top, "log", "--format=%H", "--reverse", commit, "--", relative).split():
        shown = _git(top, "show", f"{sha}:{relative}")
        if shown.returncode == 0:  # else this commit deleted the file
            _move_to_end(by_content, sha, shown.stdout)
    _move_to_end(by_content, commit, at_commit.stdout)
    return list(by_content.values())


def text_at(path: Path, commit: str) -> str | None:
    """The file's text in `commit` (a label of texts_at, or a ref), None where it is absent."""
    top, relative = _located(path)
    shown = _git(top, "show", f"{_resolve_ref(top, commit)}:{relative}")
    return shown.stdout if shown.returncode == 0 else None


def in_work_tree(path: Path) -> bool:
    """Whether `path`'s directory is inside a git working tree (and git runs)."""
    try:
        done = _git(path.resolve().parent, "rev-parse", "--is-inside-work-tree")
    except GateError:
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def _located(path: Path) -> tuple[Path, str]:
    """The top of `path`'s working tree, and `path` relative to it."""
    cwd = path.resolve().parent
    top = Path(_git_out(cwd, "rev-parse", "--show-toplevel").strip())
    return top, path.resolve().relative_to(top).as_posix()


def _move_to_end(versions: dict[str, tuple[str, str]], sha: str, text: str) -> None:
    """Record `text` as the newest version, keeping the commit that first made it current."""
    key = _normalized(text)
    label, _ = versions.pop(key, (sha[:12], text))
    versions[key] = (label, text)


def _normalized(text: str) -> str:
    """Content identity ignoring formatting; unparsable JSON is kept as written."""
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text

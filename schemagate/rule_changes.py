"""The contract's rules, old rule set -> new: every change to a rule, found by its name.

A rule counts where clients run it: a disabled rule, or every rule of a set enabled at a
place other than clients (``enableAt``), is absent. Per direction (WRITE: producers,
READ: consumers, data already written too) a rule is absent, or it fails with its
action there: NONE (counted), DLQ (to the dead-letter topic) or ERROR (the write or read
fails), in that order of harshness. A change is breaking when some record may fare worse
under the new rules than under the old in a direction: a DLQ or ERROR rule added there,
its expression changed, or its action there made harsher (NONE -> DLQ -> ERROR). A
removed rule, a relaxed action (ERROR -> DLQ, anything -> NONE) or a direction dropped is
not breaking: records the old rules stopped may now pass, a warning; changes that touch
only counted NONE failures are information.

Expressions are compared as parsed trees (contract.cel), so reformatting one is no
change. The order of the rules, their doc, tags and params are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator

from contract.rules import DIRECTIONS, DLQ, ERROR, NONE, Direction, Rule, RuleSet
from schemagate.finding_ids import RuleChange
from schemagate.model import RuleFinding, Severity

HARSHNESS = {NONE: 1, DLQ: 2, ERROR: 3}


def compare_rule_sets(old: RuleSet, new: RuleSet, against: str) -> tuple[RuleFinding, ...]:
    """Every change from `old` to `new`: new rules' changes in their order, then the
    rules removed in the old order."""
    old_rules, new_rules = _running(old), _running(new)
    findings: list[RuleFinding] = []
    for name, rule in new_rules.items():
        before = old_rules.get(name)
        if before is None:
            findings.append(_added(rule, _why_absent(old, name), against))
        else:
            findings.extend(_changed(before, rule, against))
    findings.extend(
        _removed(rule, _why_absent(new, name), against)
        for name, rule in old_rules.items()
        if name not in new_rules
    )
    return tuple(findings)


def _running(rule_set: RuleSet) -> dict[str, Rule]:
    """The rules clients run in some direction, by name, in file order."""
    running = {rule.name for direction in DIRECTIONS for rule in rule_set.applying(direction)}
    return {rule.name: rule for rule in rule_set.domain_rules if rule.name in running}


def _why_absent(rule_set: RuleSet, name: str) -> str:
    """Why rule `name` does not run in clients under `rule_set` ("" if not in it at all)."""
    if not any(rule.name == name for rule in rule_set.domain_rules):
        return ""
    if rule_set.enable_at not in (None, "ALL", "CLIENT"):
        return f"the rule set is enabled at {rule_set.enable_at}, not in clients"
    return "disabled"


def _harshness(rule: Rule, direction: Direction) -> int:
    """0 where the rule does not run, else its action's rank in HARSHNESS."""
    return HARSHNESS[rule.failure_action(direction)] if rule.applies(direction) else 0


def _decisive_in(rule: Rule) -> list[Direction]:
    return [d for d in DIRECTIONS if _harshness(rule, d) >= HARSHNESS[DLQ]]


def _where(directions: list[Direction]) -> str:
    return "on " + " and ".join(direction.lower() for direction in directions)


def _actions(rule: Rule) -> str:
    """The rule's action per direction it runs in: "DLQ on write and read", ..."""
    by_action: dict[str, list[Direction]] = {}
    for direction in DIRECTIONS:
        if rule.applies(direction):
            by_action.setdefault(rule.failure_action(direction), []).append(direction)
    return ", ".join(f"{action} {_where(directions)}" for action, directions in by_action.items())


def _described(rule: Rule) -> str:
    return f"{rule.expr} [{rule.mode}, {rule.on_failure or 'ERROR'}]"


def _fate(rule: Rule, directions: list[Direction]) -> str:
    """What happens to a record failing the rule in these directions."""
    dead_letter = [d for d in directions if rule.failure_action(d) == DLQ]
    error = [d for d in directions if rule.failure_action(d) == ERROR]
    fates = ["goes to the dead-letter topic"] if dead_letter else []
    if error:
        fates.append("fails the " + " or the ".join(d.lower() for d in error))
    return " or ".join(fates)


def _finding(
    change: RuleChange,
    rule: Rule,
    old: str,
    new: str,
    what: str,
    against: str,
    breaking: list[Direction],
    loosened: bool,
) -> RuleFinding:
    if breaking:
        consequence = (
            f"records that passed before may now fail it {_where(breaking)}: "
            f"such a record {_fate(rule, breaking)}"
        )
        severity = Severity.ERROR
    elif loosened:
        consequence = "records the old rule stopped may now pass"
        severity = Severity.WARNING
    else:
        consequence = "only counted (NONE) failures change, no record fares worse"
        severity = Severity.INFO
    return RuleFinding(
        rule=change,
        name=rule.name,
        old=old,
        new=new,
        breaking=bool(breaking),
        severity=severity,
        message=f"rule `{rule.name}` {what}: {consequence}",
        against=against,
    )


def _added(rule: Rule, absent_before: str, against: str) -> RuleFinding:
    how = f"was enabled (it was {absent_before})" if absent_before else "was added"
    return _finding(
        RuleChange.RULE_ADDED,
        rule,
        "absent",
        _described(rule),
        f"{how} with {_actions(rule)}",
        against,
        breaking=_decisive_in(rule),
        loosened=False,
    )


def _removed(rule: Rule, absent_now: str, against: str) -> RuleFinding:
    how = f"no longer runs ({absent_now})" if absent_now else "was removed"
    return _finding(
        RuleChange.RULE_REMOVED,
        rule,
        _described(rule),
        "absent",
        f"{how}; it had {_actions(rule)}",
        against,
        breaking=[],
        loosened=bool(_decisive_in(rule)),
    )


def _changed(old: Rule, new: Rule, against: str) -> Iterator[RuleFinding]:
    if old.condition() != new.condition():
        yield _finding(
            RuleChange.RULE_EXPR_CHANGED,
            new,
            old.expr,
            new.expr,
            f"has a new expression, with {_actions(new)}",
            against,
            breaking=_decisive_in(new),
            loosened=False,
        )
    both = [d for d in DIRECTIONS if old.applies(d) and new.applies(d)]
    if any(old.failure_action(d) != new.failure_action(d) for d in both):
        yield _finding(
            RuleChange.RULE_ACTION_CHANGED,
            new,
            old.on_failure or ERROR,
            new.on_failure or ERROR,
            f"changed its action from {_actions(old)} to {_actions(new)}",
            against,
            # both run in these directions, so a harsher action is DLQ or ERROR
            breaking=[d for d in both if _harshness(new, d) > _harshness(old, d)],
            loosened=any(_harshness(old, d) > _harshness(new, d) for d in both),
        )
    if old.mode != new.mode:
        gained = [d for d in DIRECTIONS if new.applies(d) and not old.applies(d)]
        lost = [d for d in DIRECTIONS if old.applies(d) and not new.applies(d)]
        yield _finding(
            RuleChange.RULE_MODE_CHANGED,
            new,
            old.mode,
            new.mode,
            f"changed its mode from {old.mode} to {new.mode}, now with {_actions(new)}",
            against,
            breaking=[d for d in gained if _harshness(new, d) >= HARSHNESS[DLQ]],
            loosened=any(_harshness(old, d) >= HARSHNESS[DLQ] for d in lost),
        )

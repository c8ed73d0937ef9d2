"""The contract's rules on write: every event judged before it is sent, a batch at a time
on its columns (contract.judge_numpy), the events a DLQ rule refuses kept back as dead letters
(the Avro bytes they would have been), and an ERROR rule's refusal ending the run before
anything of its batch is sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from contract.dead_letters import DeadLetter, RuleFailure
from contract.judge_numpy import judge_batch
from contract.rules import WRITE, RulePlan
from producer.events import EventBatch
from producer.serialization import MessageEncoder, Messages


@dataclass
class WriteJudge:
    """Judges encoded batches; keeps the refused events' dead letters and counts."""

    rules: RulePlan
    subject: str
    letters: list[DeadLetter] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # by rule (DLQ)
    #: Why the run must stop (an ERROR rule refused an event), once it must.
    stop: str | None = None

    def passing(self, batches: Iterable[EventBatch], encode: MessageEncoder) -> Iterator[Messages]:
        """Each batch's messages that keep the rules; stops (setting stop) at the first
        batch with an event an ERROR rule refuses, before any of it is sent."""
        sent = 0
        for batch in batches:
            keys, values = encode(batch)
            verdicts = judge_batch(self.rules.rules, batch.columns(), len(batch))
            if not (verdicts.decider >= 0).any():  # the usual batch: every event passes
                sent += len(batch)
                yield keys, values
                continue
            decided = verdicts.decider.tolist()
            for index, rule in enumerate(verdicts.rules):
                if rule.stops and index in decided:
                    event = sent + decided.index(index)
                    self.stop = (
                        f"rule {rule.name} ({rule.rule.expr}, onFailure ERROR) refused event "
                        f"{event} of the run: nothing of its batch was sent"
                    )
                    return
            kept = [row for row, rule in enumerate(decided) if rule < 0]
            for row, rule in enumerate(decided):
                if rule >= 0:
                    self.refuse(
                        verdicts.rules[rule].name,
                        verdicts.rules[rule].rule.expr,
                        keys[row],
                        values[row],
                    )
            sent += len(batch)
            yield [keys[row] for row in kept], [values[row] for row in kept]

    def refuse(self, name: str, expr: str, key: bytes, value: bytes) -> None:
        self.refused[name] = self.refused.get(name, 0) + 1
        self.letters.append(
            DeadLetter(
                key=key,
                value=value,
                timestamp_ms=None,
                rule=RuleFailure(name, expr, WRITE, self.subject),
            )
        )

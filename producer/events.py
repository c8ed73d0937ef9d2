"""Mock price events: reproducible from a seed, with optional known anomalies.

Each symbol's prices are drawn from a normal distribution around its own level, so
per-symbol statistics differ and a few natural outliers (beyond 3 sigma) appear in any
large enough run. Injected anomalies sit 8 to 12 sigma away from their symbol's level,
so outlier detection can be checked against ground truth.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from itertools import chain
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from connection.timestamps import format_timestamp
from contract.columns import Categorical, Column


@dataclass(frozen=True)
class SymbolModel:
    """The normal distribution one symbol's prices are drawn from."""

    level: float
    sigma: float


SYMBOL_MODELS: dict[str, SymbolModel] = {
    "AAPL": SymbolModel(level=238.0, sigma=4.0),
    "MSFT": SymbolModel(level=415.0, sigma=6.0),
    "GOOG": SymbolModel(level=172.0, sigma=3.0),
    "AMZN": SymbolModel(level=186.0, sigma=3.5),
    "TSLA": SymbolModel(level=245.0, sigma=12.0),
}
SYMBOLS: tuple[str, ...] = tuple(SYMBOL_MODELS)

#: Mock exchange rates from USD: a price in another currency is the USD price times its
#: rate, so each (symbol, currency) group has a level of its own. Other codes: rate 1.
MOCK_USD_RATES: dict[str, float] = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CHF": 0.88, "JPY": 150.0}
#: The currency of events when none is asked for; also the contract's default.
DEFAULT_CURRENCY = "USD"

MEAN_GAP_MS = 10.0  # mean time between two events, in milliseconds
ANOMALY_MIN_SIGMA = 8.0  # an injected anomaly is this many sigmas from its symbol's level...
ANOMALY_MAX_SIGMA = 12.0  # ...and at most this many


UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)


class PriceRecord(TypedDict):
    """One event as the Avro record the contract describes (schemas/prices-value.avsc):
    ``ts`` in milliseconds since the Unix epoch, as ``timestamp-millis`` stores it.

    The producer sends these directly: a plain dict with an integer timestamp is what the
    Avro writer needs, with no datetime to build and convert back per event.
    """

    ts: int
    symbol: str
    price: float
    currency: str


@dataclass(frozen=True)
class PriceEvent:
    """One event for people and tests: ``ts`` is a timezone-aware UTC datetime."""

    ts: datetime
    symbol: str
    price: float
    currency: str = DEFAULT_CURRENCY

    @classmethod
    def from_record(cls, record: PriceRecord) -> PriceEvent:
        return cls(
            ts=UNIX_EPOCH + record["ts"] * ONE_MS,
            symbol=record["symbol"],
            price=record["price"],
            currency=record["currency"],
        )

    def to_record(self) -> PriceRecord:
        """The Avro record (field names of schemas/prices-value.avsc)."""
        return {
            "ts": (self.ts - UNIX_EPOCH) // ONE_MS,
            "symbol": self.symbol,
            "price": self.price,
            "currency": self.currency,
        }

    def __str__(self) -> str:
        return f"{format_timestamp(self.ts)} {self.symbol} {self.price:.2f} {self.currency}"


@dataclass(frozen=True)
class GeneratorPlan:
    """Everything that determines a run's events: same plan, same events."""

    count: int
    seed: int
    start: datetime
    anomalies: int = 0
    #: Events are spread over these currencies (each event's drawn uniformly).
    currencies: tuple[str, ...] = (DEFAULT_CURRENCY,)
    #: This fraction of the events breaks one of the contract's rules (round robin over
    #: VIOLATIONS): a negative price, a lower-case currency, a lower-case ticker.
    violations: float = 0.0

    def __post_init__(self) -> None:
        if self.count < 0 or not 0 <= self.anomalies <= self.count:
            raise ValueError(f"need 0 <= anomalies <= count, got {self.anomalies} of {self.count}")
        if not 0.0 <= self.violations <= 1.0:
            raise ValueError(f"need a violation rate from 0 to 1, got {self.violations}")
        if not self.currencies:
            raise ValueError("need at least one currency")
        # The contract carries milliseconds (timestamp-millis) in UTC: a start with
        # microseconds, or a naive one, would generate events that differ from what a
        # consumer decodes, and the printed --start would not replay them.
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=timezone.utc)
        start = start.astimezone(timezone.utc)
        object.__setattr__(
            self, "start", start.replace(microsecond=start.microsecond // 1000 * 1000)
        )


def anomaly_positions(plan: GeneratorPlan) -> frozenset[int]:
    """Indices (0-based) of the events that are injected anomalies."""
    chooser = random.Random(f"anomalies:{plan.seed}")
    return frozenset(chooser.sample(range(plan.count), plan.anomalies))


#: The ways an event is made to break a rule, in the rules file's order.
VIOLATIONS = ("negative price", "lower-case currency", "lower-case ticker")


def violation_positions(plan: GeneratorPlan) -> dict[int, int]:
    """Index (0-based) of each event made to break a rule -> its VIOLATIONS index: the
    plan's rate of its events, chosen by seed, the kinds taken in turn."""
    chooser = random.Random(f"violations:{plan.seed}")
    chosen = sorted(chooser.sample(range(plan.count), round(plan.violations * plan.count)))
    return {position: turn % len(VIOLATIONS) for turn, position in enumerate(chosen)}


#: The columns of an EventBatch: the record's fields.
COLUMN_NAMES: frozenset[str] = frozenset(PriceRecord.__annotations__)

#: Events generated per batch: numpy's cost per call is then a small share per event.
BATCH_EVENTS = 2_000


@dataclass(frozen=True)
class EventBatch:
    """Consecutive events of a plan as columns, the form the producer encodes them in."""

    ts: npt.NDArray[np.int64]  # milliseconds since the Unix epoch
    symbols: npt.NDArray[np.int64]  # indices into SYMBOLS
    prices: npt.NDArray[np.float64]  # in the event's currency, rounded to cents
    currencies: npt.NDArray[np.int64]  # indices into currency_codes
    currency_codes: tuple[str, ...]
    symbol_names: tuple[str, ...] = SYMBOLS  # what symbols index

    def __len__(self) -> int:
        return len(self.ts)

    def columns(self) -> dict[str, Column]:
        """The batch by the contract's field names (schemas/prices-value.avsc)."""
        return {
            "ts": self.ts,
            "symbol": Categorical(self.symbols, self.symbol_names),
            "price": self.prices,
            "currency": Categorical(self.currencies, self.currency_codes),
        }

    def records(self) -> Iterator[PriceRecord]:
        """The batch's events as Avro records (Python ints, floats and strings)."""
        codes, names = self.currency_codes, self.symbol_names
        for ts, symbol, price, currency in zip(
            self.ts.tolist(),
            self.symbols.tolist(),
            self.prices.tolist(),
            self.currencies.tolist(),
            strict=True,
        ):
            yield {"ts": ts, "symbol": names[symbol], "price": price, "currency": codes[currency]}


def generate_batches(plan: GeneratorPlan, size: int = BATCH_EVENTS) -> Iterator[EventBatch]:
    """The plan's events in time order, `size` at a time; generated lazily, so any count
    fits in memory, and the same whatever the size.

    Each quantity draws from a numpy stream of its own (spawned from the seed): the gap
    between events (exponential, rounded to whole milliseconds, at least 1), the symbol
    (uniform), the price (normal around the symbol's level) and, with several currencies,
    the currency (uniform). Drawn in batches, a plan costs a few numpy calls per batch
    instead of Python work per event; drawn from separate streams, the events do not
    depend on the batch size, the USD series of a seed is the same whatever the
    currencies (a price in another currency is the USD price at the mock rate), and the
    same whatever --anomalies: an anomaly only replaces the price at its position.
    Prices are rounded to cents with round-half-even, as Python's ``round`` does.
    """
    gap_rng, symbol_rng, price_rng, currency_rng = (
        np.random.default_rng(stream) for stream in np.random.SeedSequence(abs(plan.seed)).spawn(4)
    )
    anomaly_rng = random.Random(f"anomaly-prices:{plan.seed}")
    anomalies = sorted(anomaly_positions(plan), reverse=True)  # next one last
    violations = violation_positions(plan)
    violated = sorted(violations)
    levels = np.array([model.level for model in SYMBOL_MODELS.values()])
    sigmas = np.array([model.sigma for model in SYMBOL_MODELS.values()])
    rates = np.array([MOCK_USD_RATES.get(code, 1.0) for code in plan.currencies])
    last_ts = (plan.start - UNIX_EPOCH) // ONE_MS
    for first in range(0, plan.count, size):
        count = min(size, plan.count - first)
        gaps = np.maximum(1, np.rint(gap_rng.standard_exponential(count) * MEAN_GAP_MS))
        ts = last_ts + np.cumsum(gaps.astype(np.int64))
        last_ts = int(ts[-1])
        symbols = (symbol_rng.random(count) * len(SYMBOLS)).astype(np.int64)
        prices = levels[symbols] + sigmas[symbols] * price_rng.standard_normal(count)
        while anomalies and anomalies[-1] < first + count:
            row = anomalies.pop() - first
            offset = (
                anomaly_rng.uniform(ANOMALY_MIN_SIGMA, ANOMALY_MAX_SIGMA) * sigmas[symbols[row]]
            )
            prices[row] = levels[symbols[row]] + anomaly_rng.choice((-1, 1)) * offset
        currencies = (currency_rng.random(count) * len(rates)).astype(np.int64)
        prices = np.rint(np.maximum(prices, 0.01) * rates[currencies] * 100) / 100
        low = bisect.bisect_left(violated, first)
        high = bisect.bisect_left(violated, first + count)
        yield broken(
            EventBatch(ts, symbols, prices, currencies, plan.currencies),
            {p - first: violations[p] for p in violated[low:high]},
        )


def broken(batch: EventBatch, violations: dict[int, int]) -> EventBatch:
    """batch with the events at violations' rows made to break their rule (VIOLATIONS):
    lower-case codes and tickers are added to the batch's categories."""
    if not violations:
        return batch
    rows = np.array(sorted(violations), dtype=np.int64)
    kinds = np.array([violations[row] for row in rows.tolist()], dtype=np.int64)
    prices, currencies, symbols = batch.prices.copy(), batch.currencies.copy(), batch.symbols.copy()
    prices[rows[kinds == 0]] = -prices[rows[kinds == 0]]
    currencies[rows[kinds == 1]] += len(batch.currency_codes)
    symbols[rows[kinds == 2]] += len(batch.symbol_names)
    return replace(
        batch,
        prices=prices,
        currencies=currencies,
        symbols=symbols,
        currency_codes=batch.currency_codes + tuple(c.lower() for c in batch.currency_codes),
        symbol_names=batch.symbol_names + tuple(s.lower() for s in batch.symbol_names),
    )


def generate_records(plan: GeneratorPlan) -> Iterator[PriceRecord]:
    """The plan's events in time order, as Avro records, lazily."""
    return chain.from_iterable(batch.records() for batch in generate_batches(plan))


def generate_events(plan: GeneratorPlan) -> Iterator[PriceEvent]:
    """The plan's events (generate_records as PriceEvents), lazily."""
    return map(PriceEvent.from_record, generate_records(plan))

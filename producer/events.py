"""Mock price events: reproducible from a seed, with optional known anomalies.

Each symbol's prices are drawn with ``random.normalvariate`` around its own level, so
per-symbol statistics differ and a few natural outliers (beyond 3 sigma) appear in any
large enough run. Injected anomalies sit 8 to 12 sigma away from their symbol's level,
so outlier detection can be checked against ground truth.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from math import log
from typing import TypedDict

from connection.timestamps import format_timestamp


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

    def __post_init__(self) -> None:
        if self.count < 0 or not 0 <= self.anomalies <= self.count:
            raise ValueError(f"need 0 <= anomalies <= count, got {self.anomalies} of {self.count}")
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


def generate_records(plan: GeneratorPlan) -> Iterator[PriceRecord]:
    """The plan's events in time order, as Avro records; generated lazily, so any count
    fits in memory.

    This loop is the producer's hot path, so it is written for speed, in plain floats and
    integers: the gap between events is exponential (what ``expovariate`` draws, inlined),
    the symbol is picked uniformly from one ``random()`` (a third of ``choice``'s cost),
    timestamps are integer milliseconds, and prices are rounded to cents as
    ``round(price * 100) / 100``, exact to the cent without ``round(price, 2)``'s decimal
    conversion. Prices come from ``random.normalvariate``. With several currencies, each
    event's currency is drawn from a stream of its own, so the USD series of a seed is
    the same whatever the currencies; its price is the USD price at the mock rate.
    """
    rng = random.Random(plan.seed)
    # Anomalies draw from their own stream, so the same seed gives the same series
    # whatever --anomalies is: an anomaly only replaces the price at its position.
    anomaly_rng = random.Random(f"anomaly-prices:{plan.seed}")
    anomalies = anomaly_positions(plan)
    currency_rng = random.Random(f"currencies:{plan.seed}")
    currencies = [(code, MOCK_USD_RATES.get(code, 1.0)) for code in plan.currencies]
    single = len(currencies) == 1
    uniform, draw_price = rng.random, rng.normalvariate
    models = [(symbol, model.level, model.sigma) for symbol, model in SYMBOL_MODELS.items()]
    ts = (plan.start - UNIX_EPOCH) // ONE_MS
    for index in range(plan.count):
        ts += max(1, round(-log(1.0 - uniform()) * MEAN_GAP_MS))
        symbol, level, sigma = models[int(uniform() * len(models))]
        price = draw_price(level, sigma)
        if index in anomalies:
            offset = anomaly_rng.uniform(ANOMALY_MIN_SIGMA, ANOMALY_MAX_SIGMA) * sigma
            price = level + anomaly_rng.choice((-1, 1)) * offset
        currency, rate = currencies[0] if single else currency_rng.choice(currencies)
        price = max(price, 0.01) * rate
        yield {"ts": ts, "symbol": symbol, "price": round(price * 100) / 100, "currency": currency}


def generate_events(plan: GeneratorPlan) -> Iterator[PriceEvent]:
    """The plan's events (generate_records as PriceEvents), lazily."""
    return map(PriceEvent.from_record, generate_records(plan))

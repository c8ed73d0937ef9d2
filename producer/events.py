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

MEAN_GAP_MS = 10.0  # mean time between two events, in milliseconds
ANOMALY_MIN_SIGMA = 8.0  # an injected anomaly is this many sigmas from its symbol's level...
ANOMALY_MAX_SIGMA = 12.0  # ...and at most this many


@dataclass(frozen=True)
class PriceEvent:
    """One event as the contract carries it (``ts`` is timezone-aware UTC)."""

    ts: datetime
    symbol: str
    price: float

    def to_record(self) -> dict[str, object]:
        """The Avro record (field names of schemas/prices-value.avsc)."""
        return {"ts": self.ts, "symbol": self.symbol, "price": self.price}

    def __str__(self) -> str:
        return f"{format_timestamp(self.ts)} {self.symbol} {self.price:.2f}"


@dataclass(frozen=True)
class GeneratorPlan:
    """Everything that determines a run's events: same plan, same events."""

    count: int
    seed: int
    start: datetime
    anomalies: int = 0

    def __post_init__(self) -> None:
        if self.count < 0 or not 0 <= self.anomalies <= self.count:
            raise ValueError(f"need 0 <= anomalies <= count, got {self.anomalies} of {self.count}")
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


def generate_events(plan: GeneratorPlan) -> Iterator[PriceEvent]:
    """The plan's events in time order; generated lazily, so any count fits in memory."""
    rng = random.Random(plan.seed)
    # Anomalies draw from their own stream, so the same seed gives the same series
    # whatever --anomalies is: an anomaly only replaces the price at its position.
    anomaly_rng = random.Random(f"anomaly-prices:{plan.seed}")
    anomalies = anomaly_positions(plan)
    ts = plan.start
    for index in range(plan.count):
        ts += timedelta(milliseconds=max(1, round(rng.expovariate(1 / MEAN_GAP_MS))))
        symbol = rng.choice(SYMBOLS)
        model = SYMBOL_MODELS[symbol]
        price = rng.normalvariate(model.level, model.sigma)
        if index in anomalies:
            offset = anomaly_rng.uniform(ANOMALY_MIN_SIGMA, ANOMALY_MAX_SIGMA) * model.sigma
            price = model.level + anomaly_rng.choice((-1, 1)) * offset
        yield PriceEvent(ts=ts, symbol=symbol, price=round(max(price, 0.01), 2))

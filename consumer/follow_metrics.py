"""Follow's numbers for Prometheus, and its health for an orchestrator, over HTTP.

``/metrics`` is prometheus-client's text format: the totals are the running totals of
the state (so a restart resumes them, as the state does), read when scraped; the batch
durations, the lag per partition and the last batch's time are this process's.
``/healthz`` answers 200 while the follow run makes progress, else 503 with one line
saying why (consumer.follow.Follower.health decides).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from consumer.state import FollowState, Update

PREFIX = "prices_follow"
#: Batch durations: a 1 s trigger's small batch up to a long catch-up.
BATCH_SECONDS_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320)


class StateTotals(Collector):
    """The state's running totals as counters, read at each scrape."""

    def __init__(self, state: Callable[[], FollowState]) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state()
        plain = {
            "messages": ("Kafka records counted", state.messages),
            "decoded": ("records decoded under the contract", state.decoded),
            "dead_letters": ("records written to the dead-letter topic", state.dead_letters),
            "batches": ("micro-batches counted", state.batches),
        }
        for name, (documentation, value) in plain.items():
            yield CounterMetricFamily(f"{PREFIX}_{name}", documentation, value=value)
        labelled = {
            "undecodable": ("reason", "records that could not be decoded", state.undecodable),
            "rule_failures": ("rule", "records a contract rule failed", state.rule_failures),
        }
        for name, (label, documentation, counts) in labelled.items():
            family = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=[label])
            for key, count in sorted(counts.items()):
                family.add_metric([key], count)
            yield family


class FollowMetrics:
    """The registry of one follow run: its state's totals and its own observations."""

    def __init__(self, state: Callable[[], FollowState]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(StateTotals(state))
        self.batch_seconds = Histogram(
            f"{PREFIX}_batch_seconds",
            "time to count one micro-batch",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.lag = Gauge(
            f"{PREFIX}_lag_records",
            "records behind the end of the partition (end offset minus counted)",
            ["partition"],
            registry=self.registry,
        )
        self.last_batch = Gauge(
            f"{PREFIX}_last_batch_timestamp_seconds",
            "when the last micro-batch was counted (Unix time)",
            registry=self.registry,
        )

    def batch_counted(self, update: Update) -> None:
        self.batch_seconds.observe(update.seconds)
        self.last_batch.set(update.finished_at)

    def lag_refreshed(self, lag: Mapping[int, int]) -> None:
        for partition, records in lag.items():
            self.lag.labels(str(partition)).set(records)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """/metrics and /healthz on host:port, served from a daemon thread. Binding happens
    in the constructor, so a port in use fails before anything else starts (OSError)."""

    def __init__(
        self, host: str, port: int, metrics: FollowMetrics, health: Callable[[], str | None]
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self.answer(200, metrics.text(), "text/plain; version=0.0.4; charset=utf-8")
                elif path == "/healthz":
                    problem = health()
                    text = f"{problem or 'ok'}\n".encode()
                    self.answer(503 if problem else 200, text, "text/plain; charset=utf-8")
                else:
                    self.answer(404, b"not found: /metrics or /healthz\n", "text/plain")

            def answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Scrapes are not logged (one every few seconds)."""

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

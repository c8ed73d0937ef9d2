"""The inspector's page time: pages of records from the middle of a topic, each asked of
the real HTTP server (uvicorn in this process, over one kept-alive connection as a
browser keeps it) and timed from request to the last byte of the HTML.

The target (benchmarks.targets): a page of 100 records from the middle of a 1M-record
topic in under 300 ms.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import quote, urlencode, urlsplit

from benchmarks.results import PageTimes
from benchmarks.targets import PAGE_MAX_MS
from connection.settings import ConnectionSettings
from inspector.server import BackgroundServer

PAGE_RECORDS = 100


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    answer = connection.getresponse()
    return answer.status, answer.read()


def middle_page_times(
    settings: ConnectionSettings, topic: str, requests: int = 20, limit: int = PAGE_RECORDS
) -> PageTimes:
    """requests consecutive pages of limit records from the middle of the topic's largest
    partition (plus one cold page first, not counted); each page checked to hold limit
    records."""
    with BackgroundServer(settings) as url:
        address = urlsplit(url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
        try:
            status, body = get(connection, f"/topics/{quote(topic, safe='')}.json?limit=1")
            if status != 200:
                raise RuntimeError(f"inspector answered {status}: {body[:200]!r}")
            partitions = json.loads(body)["partitions"]
            records = sum(p["high"] - p["low"] for p in partitions.values())
            partition, span = max(partitions.items(), key=lambda p: p[1]["high"] - p[1]["low"])
            middle = (span["low"] + span["high"]) // 2
            start = max(span["low"], middle - (requests + 1) * limit // 2)
            times = []
            for i in range(requests + 1):
                query = urlencode(
                    {"partition": partition, "offset": start + i * limit, "limit": limit}
                )
                began = time.perf_counter()
                status, body = get(connection, f"/topics/{quote(topic, safe='')}?{query}")
                elapsed_ms = (time.perf_counter() - began) * 1000
                if status != 200 or body.count(b'<tr class="record') != limit:
                    raise RuntimeError(f"page {i} of {topic}: HTTP {status}, not {limit} rows")
                if i:
                    times.append(elapsed_ms)
        finally:
            connection.close()
    return PageTimes(topic, records, int(partition), start, limit, tuple(times))


def describe(run: PageTimes) -> str:
    verdict = "within" if run.median_ms < PAGE_MAX_MS else "OVER"
    return (
        f"inspector: {run.limit}-record pages from the middle of {run.topic} ({run.records:,} "
        f"records, partition {run.partition} from offset {run.first_offset:,}): median "
        f"{run.median_ms:.0f} ms, max {run.max_ms:.0f} ms over {len(run.milliseconds)} pages "
        f"({verdict} the {PAGE_MAX_MS:.0f} ms target)"
    )

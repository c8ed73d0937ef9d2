"""The web app: each page computed once as data, then rendered as HTML (autoescaped
Jinja2 templates) or as JSON (a ``.json`` suffix or ``?format=json``).

Read-only: GET only, no write to Kafka or the registry. A broker or registry that does
not answer gives a page that says so in one line (HTTP 503), and the next request tries
again.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from connection.clients import RegistryFailure, registry_client
from connection.settings import ConnectionSettings
from inspector.decoding import Contracts
from inspector.kafka import BrokerUnavailable, KafkaReader, TopicNotFound
from inspector.live import Followers, LivePage, latest_update, queue_listener
from inspector.records import KEY_SCAN_RECORDS, BadQuery, parse_query, read_page
from inspector.subjects import SubjectNotFound, subject_page
from inspector.topics import topic_summaries
from schemagate.errors import GateError
from schemagate.registry import Registry

HERE = Path(__file__).resolve().parent
JSON_SUFFIX = ".json"
#: Defence in depth under the autoescaping: no inline script runs, nothing is framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Inspector:
    """The clients every page reads through and the templates it renders with, built once
    from the settings (the app's state: every handler reads it from its request)."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self.reader = KafkaReader(settings)
        self.contracts = Contracts(registry_client(settings.registry), settings.registry)
        self.gate = Registry(settings.registry)
        self.followers = Followers(self.reader, self.contracts)
        self.templates = templates()

    def close(self) -> None:
        self.followers.stop()
        self.reader.close()


def inspector_of(request: Request) -> Inspector:
    inspector: Inspector = request.app.state.inspector
    return inspector


def number(value: Any, digits: int = 2) -> str:
    """A price or statistic as the pages show it (the live page's script does the same)."""
    if value is None:
        return "\N{EN DASH}"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def shown(value: Any) -> str:
    """A field's value as text: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    environment.filters["number"] = number
    environment.filters["shown"] = shown
    environment.filters["path"] = lambda text: quote(str(text), safe="")
    environment.globals["query"] = lambda params: "?" + urlencode(params) if params else "?"
    return environment


@dataclass(frozen=True)
class Problem:
    status: int
    kind: str
    message: str


def problem_of(error: Exception) -> Problem | None:
    """The one-line page an error gives, or None for a bug (which is raised)."""
    message = " ".join(str(error).split())
    if isinstance(error, BrokerUnavailable):
        return Problem(503, "broker", message)
    if isinstance(error, (RegistryFailure, GateError)):
        return Problem(503, "registry", message)
    if isinstance(error, (TopicNotFound, SubjectNotFound)):
        return Problem(404, "not-found", message)
    if isinstance(error, BadQuery):
        return Problem(400, "query", message)
    return None


def wants_json(request: Request, name: str) -> tuple[str, bool]:
    """The path parameter without a .json suffix, and whether JSON is asked for."""
    if name.endswith(JSON_SUFFIX) and len(name) > len(JSON_SUFFIX):
        return name[: -len(JSON_SUFFIX)], True
    return name, request.query_params.get("format") == "json"


def render(
    request: Request, template: str, document: Mapping[str, Any], as_json: bool, **context: Any
) -> Response:
    """document as JSON, or the template rendered with context as HTML."""
    if as_json:
        return JSONResponse(dict(document), headers=SECURITY_HEADERS)
    inspector = inspector_of(request)
    json_params = {**request.query_params, "format": "json"}
    html = inspector.templates.get_template(template).render(
        bootstrap=inspector.settings.bootstrap_servers,
        registry_url=inspector.settings.registry.url,
        json_url=request.url.path + "?" + urlencode(json_params),
        **context,
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


async def page(request: Request, as_json: bool, compute: Callable[[], Response]) -> Response:
    """compute's page, off the event loop; an error a user can act on as a one-line page."""
    try:
        return await run_in_threadpool(compute)
    except Exception as error:
        problem = problem_of(error)
        if problem is None:
            raise
        document = {"error": problem.message, "kind": problem.kind}
        response = render(request, "problem.html", document, as_json, problem=problem)
        response.status_code = problem.status
        return response


def suffix_or_param_json(request: Request) -> bool:
    return request.url.path.endswith(JSON_SUFFIX) or request.query_params.get("format") == "json"


async def index(request: Request) -> Response:
    inspector = inspector_of(request)

    def compute() -> Response:
        topics = topic_summaries(inspector.reader, inspector.contracts)
        document = {"topics": [t.document() for t in topics]}
        return render(request, "index.html", document, as_json, topics=topics)

    as_json = suffix_or_param_json(request)
    return await page(request, as_json, compute)


async def topic(request: Request) -> Response:
    inspector = inspector_of(request)
    name, as_json = wants_json(request, request.path_params["topic"])

    def compute() -> Response:
        query = parse_query(request.query_params)
        contract = inspector.contracts.of(name, query.major)
        if query.major is not None and contract.reader is None:
            raise BadQuery(
                f"major: {contract.subject or name} has no version of major {query.major}"
            )
        result = read_page(inspector.reader, contract, name, query)
        return render(
            request,
            "topic.html",
            result.document(),
            as_json,
            page=result,
            key_scan_records=KEY_SCAN_RECORDS,
        )

    return await page(request, as_json, compute)


async def subject(request: Request) -> Response:
    inspector = inspector_of(request)
    name, as_json = wants_json(request, request.path_params["subject"])

    def compute() -> Response:
        result = subject_page(inspector.contracts, inspector.gate, name)
        return render(request, "subject.html", result.document(), as_json, page=result)

    return await page(request, as_json, compute)


async def live(request: Request) -> Response:
    inspector = inspector_of(request)
    name = request.path_params["topic"]

    def compute() -> Response:
        inspector.reader.partitions(name)  # TopicNotFound for a typo
        follower = inspector.followers.of(name)
        result = LivePage(name, latest_update(inspector.reader, inspector.contracts, name))
        after = -1 if result.latest is None else result.latest.offset
        return render(
            request,
            "live.html",
            result.document(),
            as_json,
            page=result,
            problem=follower.problem,
            events_url=f"/topics/{quote(name, safe='')}/live/events?" + urlencode({"after": after}),
        )

    as_json = suffix_or_param_json(request)
    return await page(request, as_json, compute)


async def events(request: Request) -> Response:
    """The live page's server-sent events: the follower's status, its latest update
    after ``after``, then each new one."""
    inspector = inspector_of(request)
    name = request.path_params["topic"]
    try:
        after = int(request.query_params.get("after", "-1"))
    except ValueError:
        after = -1
    follower = await run_in_threadpool(inspector.followers.of, name)
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    stop = follower.listen(queue_listener(asyncio.get_running_loop(), queue))

    async def stream() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "status", "data": json.dumps({"problem": follower.problem})}
            latest = follower.latest
            if latest is not None and latest.offset > after:
                yield {"event": "update", "data": json.dumps(latest.event())}
            while True:
                kind, data = await queue.get()
                if kind == "update" and data["offset"] <= after:
                    continue
                yield {"event": kind, "data": json.dumps(data)}
        finally:
            stop()

    return EventSourceResponse(stream(), ping=15, headers=SECURITY_HEADERS)


ROUTES = [
    Route("/", index),
    Route("/index.json", index),
    Route("/.json", index),
    Route("/topics/{topic}/live", live),
    Route("/topics/{topic}/live.json", live),
    Route("/topics/{topic}/live/events", events),
    Route("/topics/{topic}", topic),
    Route("/subjects/{subject}", subject),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(settings: ConnectionSettings) -> Starlette:
    """The inspector's app over the given connection settings."""
    inspector = Inspector(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(inspector.close)

    app = Starlette(routes=ROUTES, lifespan=lifespan)
    app.state.inspector = inspector
    return app

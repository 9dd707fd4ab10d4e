"""Schemathesis over the app's own OpenAPI schema: configuration, hooks and a failure report.

The run is schemathesis' engine (what `st run` drives: probing, coverage, fuzzing and stateful
phases) over the app in-process (Django's WSGI handler, no socket), once per role. Every check
failure is collected, never raised, so one run lists all of them; tests/api/test_schemathesis.py
asserts the list is empty.

The engine runs the requests in a worker thread, each with its own database connection: the
data it reads must be committed (the test is transaction=True) and those connections are
closed by `App.close_connections` before the test's flush.
"""

import json
import logging
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.http import HttpRequest
from requests.structures import CaseInsensitiveDict
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import events, from_schema
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.schemas import OpenApiSchema

from chaoyang.api.views import LoginThrottle

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = "/api/schema/?format=json"
TOKEN_PATH = "/api/v1/auth/token/"
ANONYMOUS = "anonymous"
# A street shift lead, a grid worker, a department handler (jianwai's enforcement team) and
# the district leader: the roles the API serves, each seeing a different slice of the cases.
ROLES = (ANONYMOUS, "jianwai_lead", "jianwai_grid1", "jianwai_cg", "district_leader")

# Fixed, so a run is reproducible: the same requests in the same order every time.
SEED = 20260105
# Examples per operation in the fuzzing phase (the coverage phase adds its own deterministic
# set, the stateful phase its scenarios); sized so five roles fit in about two minutes here.
# Anonymous requests are refused before any input is read, so more of them find nothing new.
MAX_EXAMPLES = {ANONYMOUS: 5}
DEFAULT_MAX_EXAMPLES = 30
STATEFUL_EXAMPLES = {ANONYMOUS: 5}
DEFAULT_STATEFUL_EXAMPLES = 10
STATEFUL_MAX_STEPS = 6

# positive_data_acceptance: which answers to schema-valid data are fine. Schemathesis' default
# is 2xx, 3xx, 401, 403, 404, 409, 429 and 5xx (a 5xx is not_a_server_error's to report).
# - Anonymous: 401 is the right answer almost everywhere.
# - Signed in: the token is valid, so 401 would mean authentication broke; 403 stays (a role
#   that may not use an operation, or act on that case, is refused with valid data) and so
#   does 404 (a well-formed id or code that does not exist, or is outside the role's area).
# - POST (intake, actions, token): 422 too. A body can match the schema and still name a
#   category that does not exist, a point outside the district, an action the case's status
#   does not allow or wrong credentials; no schema can say so, and 422 is the status for it.
#   The token endpoint may also answer 401 to wrong credentials (see config_for).
#   400 is not accepted: it says the request itself is malformed, which valid data is not.
_SIGNED_IN = ["2xx", "3xx", "403", "404", "409", "429", "5xx"]
POSITIVE_ACCEPTED = {ANONYMOUS: ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]}
SEMANTIC_REFUSAL = "422"


def positive_accepted(role: str) -> list[str]:
    return POSITIVE_ACCEPTED.get(role, _SIGNED_IN)


# Values that broke or are likely to break a Django/PostgreSQL app, mixed into generated
# strings and integers (each value only where the schema allows it, so a valid request stays
# valid): NUL, which PostgreSQL text refuses; UTC offsets PostgreSQL refuses (beyond ±15:59);
# the ends of the integer column types; non-ASCII digits and other odd text.
AWKWARD_STRINGS = [
    "\x00",
    "a\x00b",
    " ",
    "\t\n",
    "%",
    "_",
    "\\",
    "'",
    "\u202e",
    "𠮷",
    "١٢٣",
    "NaN",
    "1e400",
    "2026-01-05T08:30:00-18:01",
    "2026-01-05T08:30:00+23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+00:00",
    "2026-01-05T08:30:00.123456789+08:00",
]
AWKWARD_INTEGERS = [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1]
AWKWARD_SHARE = 0.15


def config_for(role: str, token: str | None) -> schemathesis.Config:
    accepted = positive_accepted(role)
    project: dict[str, Any] = {
        # One seed per role: the roles explore different inputs, each run the same ones.
        "seed": SEED + (ROLES.index(role) if role in ROLES else 0),
        # No example database (nothing written into the repository, nothing replayed from an
        # earlier run) and no schemathesis cache (it would steer a run by the previous one).
        "generation": {
            "deterministic": True,
            "database": "none",
            "max-examples": MAX_EXAMPLES.get(role, DEFAULT_MAX_EXAMPLES),
            "dictionaries": {
                "string": {"dictionary": "awkward_strings", "probability": AWKWARD_SHARE},
                "integer": {"dictionary": "awkward_integers", "probability": AWKWARD_SHARE},
            },
        },
        "dictionaries": {
            "awkward_strings": {"values": AWKWARD_STRINGS},
            "awkward_integers": {"values": AWKWARD_INTEGERS},
        },
        "cache": {"enabled": False},
        # Keep generating for an operation after its first failure, so one run lists every
        # distinct failure it can find rather than one per operation.
        "continue-on-failure": True,
        "phases": {
            "stateful": {
                "max-steps": STATEFUL_MAX_STEPS,
                "generation": {
                    "max-examples": STATEFUL_EXAMPLES.get(role, DEFAULT_STATEFUL_EXAMPLES)
                },
            }
        },
        # Every built-in check, all on by default; only positive_data_acceptance is tuned.
        "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
        "operations": [
            {
                "include-method": "POST",
                "exclude-path": TOKEN_PATH,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*accepted, SEMANTIC_REFUSAL]}
                },
            },
            # The token endpoint ignores the caller's token and judges the credentials in the
            # body: wrong ones may be refused with 401 whoever asks.
            {
                "include-path": TOKEN_PATH,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": list(
                            dict.fromkeys([*accepted, "401", SEMANTIC_REFUSAL])
                        )
                    }
                },
            },
        ],
    }
    if token is not None:
        project["headers"] = {"Authorization": f"Token {token}"}
    return schemathesis.Config.from_dict(project)


# ---- what the run may aim at -----------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Real values for path parameters and bodies, so operations are not only 404s."""

    case_ids: list[int]  # cases in various states, and one id that does not exist
    region_codes: list[str]  # district, street, community, grid, a neighbour, a missing one
    category: str  # a leaf category code
    point: tuple[float, float]  # inside jianwai_grid1's grid (WGS 84)
    credentials: list[tuple[str, str]]  # demo accounts for the token endpoint


def _stable(value: object) -> str:
    """The same text for the same generated value in every run (no object addresses: a GET's
    body is a NotSet object)."""
    return json.dumps(value, sort_keys=True, default=lambda o: type(o).__name__)


def _pick(items: list[Any], seed: object) -> Any:
    """A deterministic choice (str hashes are salted per process; crc32 is not)."""
    return items[zlib.crc32(_stable(seed).encode()) % len(items)]


_REFUSED_IN_HEADERS = str.maketrans("", "", "\r\n\x00")


def _needs_wire_form(value: object) -> bool:
    return isinstance(value, str) and (
        any(c in value for c in "\r\n\x00")
        or any(ord(c) > 255 for c in value)
        or value != value.strip(" \t")
    )


def _wire_form(value: Any) -> Any:
    if not _needs_wire_form(value):
        return value
    value = value.translate(_REFUSED_IN_HEADERS).strip(" \t")
    return value.encode("utf-8").decode("latin-1") if not value.isascii() else value


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict | CaseInsensitiveDict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _positive_at(case: schemathesis.Case, location: ParameterLocation) -> bool:
    # The coverage phase may leave a component unrecorded in a negative case, so the case's
    # own mode counts too: rewriting a negative body could make it valid.
    meta = case.meta
    return (
        meta is not None
        and not meta.generation.mode.is_negative
        and not meta.is_negative_at(location)
    )


def install_hooks(schema: OpenApiSchema, targets: Targets, app: "App") -> None:
    """Schema-level hooks (they apply to this schema only, not to other tests)."""

    @schema.hook
    def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
        # Only where that part of the request is meant to be valid: a negative case keeps its
        # invalid value, or negative_data_rejection would judge a request we made valid.
        params = case.path_parameters
        # Three in four valid path parameters become real ones; the rest stay as generated
        # (well-formed, mostly naming nothing: 404). Chosen by the whole request, not the
        # parameter alone: the coverage phase sends many bodies with the same generated id.
        request = _stable([params, case.query, case.body])
        if (
            params
            and _positive_at(case, ParameterLocation.PATH)
            and zlib.crc32(request.encode()) % 4
        ):
            if "id" in params:
                case.path_parameters = {**params, "id": _pick(targets.case_ids, request)}
            if "code" in params:
                code = _pick(targets.region_codes, request)
                case.path_parameters = {**params, "code": code}
        # Header values as a real server would hand them to the app: in-process, werkzeug
        # passes them through as they are, so a generated "𠮷" or NUL would make the app fail in
        # a way no HTTP request can. A server refuses CR, LF and NUL in a header (gunicorn:
        # 400), drops the whitespace around a value and gives the rest to the app as latin-1
        # (PEP 3333).
        if case.headers and any(_needs_wire_form(v) for v in case.headers.values()):
            case.headers = CaseInsensitiveDict({k: _wire_form(v) for k, v in case.headers.items()})
        body = case.body
        # A changed body is validated again by schemathesis, which reads uploaded bytes as
        # "not a string" and would then count a valid upload as negative: bodies with photos
        # stay as generated.
        if (
            isinstance(body, dict)
            and not body.get("photos")
            and _positive_at(case, ParameterLocation.BODY)
        ):
            label = case.operation.label
            # Half of the valid-looking bodies get real references; the other half keep what
            # was generated (well-formed, but naming nothing that exists).
            if zlib.crc32(_stable(body).encode()) % 2:
                if label == "POST /api/v1/cases/":
                    lng, lat = targets.point
                    case.body = {**body, "category": targets.category, "lng": lng, "lat": lat}
                    case.body.pop("crs", None)
                elif label == "POST /api/v1/auth/token/":
                    username, password = _pick(targets.credentials, body)
                    case.body = {**body, "username": username, "password": password}
        return case

    @schema.hook
    def filter_failure(
        context: schemathesis.HookContext,
        failure: Failure,
        case: schemathesis.Case,
        response: schemathesis.Response,
    ) -> bool:
        # A string with NUL matches `type: string`, but PostgreSQL text cannot hold it and
        # Django's form and serializer fields refuse it (400). That refusal is right; saying so
        # in the schema would take a pattern on every string. So a 4xx for a request carrying
        # NUL is not "valid data refused". A 5xx for it still fails (not_a_server_error), and
        # the 400 still has to be documented (status_code_conformance).
        return not (
            isinstance(failure, RejectedPositiveData)
            and 400 <= response.status_code < 500
            and _has_nul([case.path_parameters, case.query, case.headers, case.cookies, case.body])
        )

    @schema.hook
    def after_call(
        context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response
    ) -> None:
        # Runs in the engine's thread right after the request: attach the server's exception
        # (logged by django.request) to the case, for the report.
        error = app.take_error()
        if error is not None and response.status_code >= 500:
            app.errors[case.id] = error


# ---- the app in-process ----------------------------------------------------------------


class _LastError(logging.Handler):
    """Keeps the last exception django.request logged, per thread."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.local.error = record.exc_info[1]


class App:
    """Django's WSGI handler, recording which database connections its threads opened.

    The token endpoint allows 30 attempts a minute per client (chaoyang.api.views.LoginThrottle)
    and a fuzz run sends more than that from one address: with `forget_logins` the throttle's
    history is cleared before each token request, so the run sees the endpoint itself rather
    than a wall of 429s. The throttle still runs; test_schemathesis checks its 429 on its own.
    """

    def __init__(self, *, forget_logins: bool = True) -> None:
        self.handler = WSGIHandler()
        self.forget_logins = forget_logins
        self.connections: dict[int, Any] = {}
        self.errors: dict[str, str] = {}  # case id → the exception behind its 5xx
        self._main = threading.get_ident()
        self._last_error = _LastError()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._last_error.local.error = None  # what this request logs is this request's
        if self.forget_logins and environ.get("PATH_INFO") == TOKEN_PATH:
            throttle = LoginThrottle()
            request = HttpRequest()
            request.META = environ
            ident = throttle.get_ident(request)  # type: ignore[arg-type]
            throttle.cache.delete(throttle.cache_format % {"scope": throttle.scope, "ident": ident})
        try:
            return self.handler(environ, start_response)
        finally:
            if threading.get_ident() != self._main:
                # Keyed by the object: a finished thread's ident can be reused by the next.
                conn = connections["default"]
                self.connections[id(conn)] = conn

    def take_error(self) -> str | None:
        exc = getattr(self._last_error.local, "error", None)
        self._last_error.local.error = None
        return describe_exception(exc) if exc is not None else None

    @contextmanager
    def quiet_logging(self) -> Iterator[None]:
        """django.request logs every 4xx and 5xx; keep the 5xx exceptions, print nothing."""
        logger = logging.getLogger("django.request")
        saved = logger.handlers, logger.propagate
        logger.handlers, logger.propagate = [self._last_error], False
        try:
            yield
        finally:
            logger.handlers, logger.propagate = saved

    @staticmethod
    @contextmanager
    def in_test_transaction() -> Iterator[None]:
        """For requests from the test's own thread, inside its transaction: Django would close
        that connection at the end of each request (autocommit differs from the settings);
        its test client disconnects the same handler."""
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            yield
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    def close_connections(self) -> None:
        """Close the worker threads' connections (a test database in use cannot be dropped)."""
        for conn in self.connections.values():
            conn.inc_thread_sharing()
            try:
                conn.close()
            finally:
                conn.dec_thread_sharing()
        self.connections.clear()


def describe_exception(exc: BaseException) -> str:
    """`DataError: …` and the innermost frame of the project's own code."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(ROOT) and ".venv" not in path.parts:
            where = f" at {path.relative_to(ROOT)}:{frame.lineno}"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}{where}"


# ---- running and reporting -------------------------------------------------------------


@dataclass
class Finding:
    role: str
    operation: str
    check: str
    title: str
    status: int | None
    phase: str
    request: str  # a curl line, credentials filtered
    body: str  # response body excerpt
    message: str
    server_error: str = ""
    count: int = 1

    @property
    def key(self) -> tuple[str, ...]:
        """What makes two failures the same problem: the operation, the check, the status
        and, for a schema violation, where in the schema; for a refused or accepted request,
        which fields the answer names; otherwise the message's first line."""
        lines = [x.strip() for x in self.message.strip().splitlines() if x.strip()]
        detail = lines[0] if lines else ""
        if self.check == "response_schema_conformance":
            detail += " " + " ".join(x for x in lines if x.startswith("Schema at"))
        elif self.check in ("positive_data_acceptance", "negative_data_rejection"):
            detail = " ".join(x for x in lines if x.startswith("Invalid component"))
            try:
                answer = json.loads(self.body)
            except ValueError:
                answer = None
            if isinstance(answer, dict) and self.status is not None and self.status >= 400:
                detail += " fields: " + ",".join(sorted(answer))
        return (self.operation, self.check, self.title, str(self.status), detail)

    def line(self) -> str:
        parts = [
            f"[{self.role}] {self.operation} · {self.check} · {self.title} · "
            f"HTTP {self.status} ({self.count}×, first in {self.phase})"
        ]
        lines = [x.strip() for x in self.message.strip().splitlines() if x.strip()]
        # The first lines say what is wrong; for a schema violation, "Schema at …" says where.
        message = " / ".join(lines[:2] + [x for x in lines[2:] if x.startswith("Schema at")])
        if message:
            parts.append(f"    {message[:300]}")
        if self.server_error:
            parts.append(f"    server: {self.server_error}")
        parts.append(f"    request: {self.request[:400]}")
        if self.body:
            parts.append(f"    body: {self.body[:200]}")
        return "\n".join(parts)


@dataclass
class RunResult:
    role: str
    seconds: float = 0.0
    requests: int = 0
    operations: set[str] = field(default_factory=set)  # operations that got a response
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)  # operation → status → n
    findings: list[Finding] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # the engine's own errors → count

    def summary(self) -> str:
        lines = [
            f"{self.role}: {len(self.findings)} distinct failures, {len(self.errors)} errors, "
            f"{self.requests} requests in {self.seconds:.1f} s"
        ]
        lines += [f.line() for f in self.findings]
        lines += [f"[{self.role}] engine error ({n}×): {e}" for e, n in self.errors.items()]
        return "\n".join(lines)


def _excerpt(content: bytes | None, limit: int = 300) -> str:
    if not content:
        return ""
    return content[:limit].decode("utf-8", "replace").replace("\n", " ")


def run(schema: OpenApiSchema, role: str, app: App) -> RunResult:
    result = RunResult(role)
    found: dict[tuple[str, ...], Finding] = {}
    started = time.monotonic()
    with app.quiet_logging():
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                _collect(event.recorder, role, event.phase.value, app, result, found)
            elif isinstance(event, events.NonFatalError):
                error = f"{event.label}: {event.info.title}: {event.info.message}"
                if event.info.has_useful_traceback:
                    error += "\n" + event.info.traceback[:9000]
                result.errors[error] = result.errors.get(error, 0) + 1
            elif isinstance(event, events.FatalError):
                error = f"fatal: {event.exception!r}"
                result.errors[error] = result.errors.get(error, 0) + 1
    result.seconds = time.monotonic() - started
    result.findings = sorted(found.values(), key=lambda f: (f.operation, f.check, f.title))
    return result


def _collect(
    recorder: Any,
    role: str,
    phase: str,
    app: App,
    result: RunResult,
    found: dict[tuple[str, ...], Finding],
) -> None:
    for case_id, interaction in recorder.interactions.items():
        if interaction.response is not None:
            label = recorder.cases[case_id].value.operation.label
            result.requests += 1
            result.operations.add(label)
            counts = result.statuses.setdefault(label, {})
            status = interaction.response.status_code
            counts[status] = counts.get(status, 0) + 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            info = check.failure_info
            if info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            finding = Finding(
                role=role,
                operation=recorder.cases[case_id].value.operation.label,
                check=check.name,
                title=info.failure.title,
                status=response.status_code if response is not None else None,
                phase=phase,
                request=info.code_sample,
                body=_excerpt(response.content if response is not None else None),
                message=info.failure.message,
                server_error=app.errors.get(case_id, ""),
            )
            if finding.key in found:
                found[finding.key].count += 1
            else:
                found[finding.key] = finding


def dump(results: list[RunResult], path: str) -> None:
    """Append a role's results as JSON lines (CHAOYANG_FUZZ_DUMP): material for a report."""
    with open(path, "a", encoding="utf-8") as out:
        for r in results:
            row = {
                "role": r.role,
                "seconds": r.seconds,
                "requests": r.requests,
                "operations": sorted(r.operations),
                "statuses": {op: dict(sorted(n.items())) for op, n in sorted(r.statuses.items())},
                "errors": r.errors,
                "findings": [asdict(f) for f in r.findings],
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")

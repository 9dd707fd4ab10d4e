"""Schemathesis over every operation of /api/schema/, as five roles: no 5xx, no response
outside its schema, every status documented, valid requests accepted, invalid ones refused.

Each role gets a fresh copy of the demo (committed: the engine sends requests from its own
thread) with cases in various states, and the checks listed in tests/api/fuzz.py. A failure
lists everything the run found for that role, not only the first problem. To keep the
findings as JSON lines: CHAOYANG_FUZZ_DUMP=/path/to/file.jsonl.
"""

import os

import pytest
import schemathesis
from django.test import Client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chaoyang.api.views import LoginThrottle
from tests.api.fuzz import (
    ANONYMOUS,
    ROLES,
    SCHEMA_PATH,
    TOKEN_PATH,
    App,
    Targets,
    config_for,
    dump,
    install_hooks,
    run,
)

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented_operations() -> set[str]:
    """`METHOD /path` of every operation the served schema documents."""
    paths = Client().get(SCHEMA_PATH).json()["paths"]
    return {
        f"{m.upper()} {path}" for path, item in paths.items() for m in item if m in HTTP_METHODS
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the same ids every run
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_to_the_schema(
    role: str,
    fuzz_world: tuple[Targets, dict[str, str]],
    app: App,
    wsgi_probe_fix: None,
) -> None:
    targets, tokens = fuzz_world
    documented = documented_operations()
    schema = schemathesis.openapi.from_wsgi(
        SCHEMA_PATH, app, config=config_for(role, tokens.get(role))
    )
    install_hooks(schema, targets, app)

    result = run(schema, role, app)

    print(result.summary().splitlines()[0])
    if path := os.environ.get("CHAOYANG_FUZZ_DUMP"):
        dump([result], path)
    problems = []
    if untested := documented - result.operations:
        problems.append(f"operations that got no response: {sorted(untested)}")
    if unknown := result.operations - documented:
        problems.append(f"operations tested but not in {SCHEMA_PATH}: {sorted(unknown)}")
    if result.findings or result.errors:
        problems.append(result.summary())
    assert not problems, "\n\n".join(problems)


@pytest.mark.django_db
def test_the_login_throttles_answer_keeps_to_the_schema() -> None:
    """The fuzz run clears the login throttle's history (see App); its 429 is checked here: a
    documented status, a documented content type and body."""
    app = App(forget_logins=False)
    with app.in_test_transaction():
        schema = schemathesis.openapi.from_wsgi(
            SCHEMA_PATH, app, config=config_for(ANONYMOUS, None)
        )
        case = schema[TOKEN_PATH]["POST"].Case(
            body={"username": "nobody", "password": "wrong"}, media_type="application/json"
        )
        allowed, _seconds = LoginThrottle().parse_rate(LoginThrottle.rate)
        for _ in range(allowed or 0):
            assert case.call().status_code == 401  # wrong credentials, not yet throttled
        response = case.call()
    assert response.status_code == 429
    case.validate_response(
        response,
        checks=[
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
        ],
    )

"""The OpenAPI schema: where it is served, what it promises, and a fuzzing pass against it."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, register, unique_email

DOCS = "/docs"
SCHEMA = "/api/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


@pytest.fixture
async def schema(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(SCHEMA)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
async def production_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    application = app_factory(env="production", cookie_secure=True)
    yield application
    await application.state.database.dispose()


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


# Where the docs are served ---------------------------------------------------------------------


async def test_docs_and_schema_in_development(client: httpx.AsyncClient) -> None:
    schema_response = await client.get(SCHEMA)
    assert schema_response.status_code == 200
    assert schema_response.headers["content-type"].startswith("application/json")
    assert schema_response.json()["openapi"].startswith("3.")
    docs = await client.get(DOCS)
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower()
    assert SCHEMA in docs.text
    # The docs page needs its own policy (Swagger UI's scripts), still never framed.
    csp = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert docs.headers["x-content-type-options"] == "nosniff"


async def test_redoc_is_not_served(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/redoc"), 404, "not_found")


async def test_no_docs_in_production(production_app: FastAPI) -> None:
    async with client_for(production_app) as client:
        for path in (DOCS, SCHEMA, "/openapi.json", "/docs/oauth2-redirect"):
            assert_problem(await client.get(path), 404, "not_found")
        assert (await client.get("/api/health")).status_code == 200


async def test_production_docs_when_enabled(app_factory: Callable[..., FastAPI]) -> None:
    application = app_factory(env="production", cookie_secure=True, docs_enabled=True)
    try:
        async with client_for(application) as client:
            assert (await client.get(SCHEMA)).status_code == 200
            assert (await client.get(DOCS)).status_code == 200
    finally:
        await application.state.database.dispose()


async def test_docs_can_be_turned_off_in_development(app_factory: Callable[..., FastAPI]) -> None:
    application = app_factory(docs_enabled=False)
    try:
        async with client_for(application) as client:
            assert_problem(await client.get(SCHEMA), 404, "not_found")
            assert_problem(await client.get(DOCS), 404, "not_found")
    finally:
        await application.state.database.dispose()


# What the schema says --------------------------------------------------------------------------


async def test_login_accepts_json_and_the_oauth2_form(schema: dict[str, Any]) -> None:
    login = schema["paths"]["/api/auth/login"]["post"]
    content = login["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= content.keys()
    form = resolve(schema, content["application/x-www-form-urlencoded"]["schema"])
    assert {"username", "password"} <= set(form["required"])
    assert content["application/json"]["schema"]


async def test_login_works_as_the_schema_says(client: httpx.AsyncClient) -> None:
    user = await register(client, email=unique_email("form"))
    form = await client.post(
        "/api/auth/login",
        data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
    )
    assert form.status_code == 200, form.text
    assert form.json()["token_type"] == "bearer"
    as_json = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert as_json.status_code == 200, as_json.text


async def test_oauth2_password_scheme_points_at_login(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    password_flows = [
        scheme["flows"]["password"]
        for scheme in schemes.values()
        if scheme["type"] == "oauth2" and "password" in scheme.get("flows", {})
    ]
    assert [flow["tokenUrl"] for flow in password_flows] == ["/api/auth/login"]
    name = next(iter(name for name, s in schemes.items() if s["type"] == "oauth2"))
    me = schema["paths"]["/api/auth/me"]["get"]
    assert {name: []} in me["security"]
    assert "security" not in schema["paths"]["/api/auth/register"]["post"]


async def test_every_list_endpoint_is_a_page(schema: dict[str, Any]) -> None:
    """Lists grow without bound: each returns {items, next_cursor} and takes a cursor."""
    lists = []
    for method, path, operation in operations(schema):
        if method != "get":
            continue
        success = operation["responses"].get("200", {}).get("content", {})
        body = success.get("application/json", {}).get("schema")
        if body is None:
            continue
        body = resolve(schema, body)
        assert body.get("type") != "array", f"GET {path} returns a bare, unpaged list"
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if "items" not in body.get("properties", {}) and "cursor" not in query:
            continue
        lists.append(path)
        assert {"items", "next_cursor"} <= set(body.get("required", [])), path
        assert body["properties"]["items"]["type"] == "array", path
        assert {"cursor", "limit"} <= query, path
    assert "/api/auth/sessions" in lists


async def test_every_operation_is_documented(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        assert path.startswith("/api/"), path
        assert operation.get("summary") or operation.get("description"), f"{method} {path}"
        assert operation.get("tags"), f"{method} {path}"
        assert operation.get("operationId"), f"{method} {path}"


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


async def test_every_reference_resolves(schema: dict[str, Any]) -> None:
    references = _references(schema)
    assert references
    for ref in references:
        resolve(schema, {"$ref": ref})
    login = schema["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]
    json_body = resolve(schema, login["application/json"]["schema"])
    assert {"email", "password"} <= set(json_body["required"])


async def test_documented_errors_are_problems(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and "content" in response:
                assert set(response["content"]) == {"application/problem+json"}, (
                    f"{method.upper()} {path} {status}"
                )


# Fuzzing ---------------------------------------------------------------------------------------

HAS_SCHEMATHESIS = importlib.util.find_spec("schemathesis") is not None
EXAMPLES_PER_OPERATION = 25


def _check_response(label: str, response: Any) -> None:
    """`response` is schemathesis's: its headers map a lower-case name to a list of values."""
    status = response.status_code
    headers = {name.lower(): values[-1] for name, values in response.headers.items()}
    assert status < 500, f"{label}: {status} {response.text[:500]}"
    assert headers.get("x-content-type-options") == "nosniff", label
    if status >= 400:
        content_type = headers.get("content-type", "")
        assert content_type.startswith("application/problem+json"), f"{label}: {content_type}"
        body = response.json()
        assert body["status"] == status, label
        assert isinstance(body["code"], str), label
        assert body["code"], label
        assert {"type", "title", "detail"} <= body.keys(), label
        assert "Traceback" not in response.text, label


def _fuzz(label: str, strategy: Any, fresh_token: Callable[[], str]) -> Callable[[], None]:
    """A Hypothesis test for one operation: its generated cases, sent signed in or not."""
    import hypothesis
    from hypothesis import strategies as st

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy, signed_in=st.booleans())
    def fuzz(case: Any, signed_in: bool) -> None:
        headers = {"Authorization": f"Bearer {fresh_token()}"} if signed_in else None
        _check_response(label, case.call(headers=headers))

    return fuzz  # type: ignore[no-any-return]


@pytest.mark.skipif(not HAS_SCHEMATHESIS, reason="schemathesis is not installed")
def test_fuzzed_requests_never_fail_on_the_server(app_factory: Callable[..., FastAPI]) -> None:
    """Valid and invalid requests from the schema, signed in or not: no 5xx, problems only."""
    import hypothesis
    import schemathesis
    from schemathesis.python import asgi

    application = app_factory()
    try:
        schema = schemathesis.openapi.from_asgi(SCHEMA, application)
        client = asgi.get_client(application)

        def fresh_token() -> str:
            email = unique_email("fuzz")
            body = {"email": email, "password": PASSWORD}
            assert client.post("/api/auth/register", json=body).status_code == 201
            signed_in = client.post("/api/auth/login", json=body)
            assert signed_in.status_code == 200, signed_in.text
            token: str = signed_in.json()["access_token"]
            return token

        modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
        checked = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in modes:
                label = f"{operation.label} [{mode.value}]"
                strategy = operation.as_strategy(generation_mode=mode)
                try:
                    _fuzz(label, strategy, fresh_token)()
                except hypothesis.errors.Unsatisfiable:
                    # Nothing in the operation can be made invalid (no parameters, no body).
                    assert mode is schemathesis.GenerationMode.NEGATIVE, label
                    continue
                checked += 1
        assert checked >= 10
    finally:
        asgi.shutdown_lifespans()

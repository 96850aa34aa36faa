"""Every route declares who may call it (access/dependencies.py): a route without a
declaration, or with two, fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, _IncludedRouter

from confide.access.dependencies import ACCESS_ATTRIBUTE
from confide.access.permissions import PermissionRegistry


def _declared(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        marker = getattr(sub.call, ACCESS_ATTRIBUTE, None)
        if marker is not None:
            yield str(marker)
        yield from _declared(sub)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every API and WebSocket route, those of included routers too (FastAPI keeps an
    included router whole, with its routes' effective contexts)."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            for context in route.effective_route_contexts():
                if context.dependant is not None:
                    yield context
        elif isinstance(route, APIRoute | APIWebSocketRoute):
            yield route


def declarations(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """(method, path) -> what the route declares."""
    out: dict[tuple[str, str], list[str]] = {}
    for route in _routes(app.routes):
        found = list(dict.fromkeys(_declared(route.dependant)))
        on_endpoint: Any = getattr(route.endpoint, ACCESS_ATTRIBUTE, None)
        if on_endpoint is not None:
            found.append(str(on_endpoint))
        methods = sorted(route.methods) if route.methods else ["WEBSOCKET"]
        for method in methods:
            out[(method, route.path)] = found
    return out


def test_every_route_declares_exactly_one_access_rule(app: FastAPI) -> None:
    found = declarations(app)
    assert found, "no routes found"
    undeclared = sorted(key for key, rules in found.items() if not rules)
    assert undeclared == [], f"routes without an access declaration: {undeclared}"
    # A permission route may also carry the authenticated marker (a dependency of its own
    # that reads the principal); anything else with two rules is ambiguous.
    ambiguous = {
        key: rules
        for key, rules in found.items()
        if len(set(rules) - {"authenticated"}) > 1 or ("public" in rules and len(set(rules)) > 1)
    }
    assert ambiguous == {}


def test_every_declared_permission_is_in_the_registry(app: FastAPI) -> None:
    registry = PermissionRegistry()
    named = {
        rule
        for rules in declarations(app).values()
        for rule in rules
        if rule not in ("public", "authenticated")
    }
    assert named
    assert sorted(named - set(registry.all)) == []


def test_a_route_without_a_declaration_is_found(app: FastAPI) -> None:
    """The check itself can fail: a route added bare is reported."""

    async def bare() -> None:
        return None

    app.add_api_route("/api/test/bare", bare)
    assert declarations(app)[("GET", "/api/test/bare")] == []

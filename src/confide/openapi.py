"""The OpenAPI schema says what the server does: every error is problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, TypeAdapter

from confide.errors import PROBLEM_JSON
from confide.runs.events import RunEvent, WsError
from confide.runs.schemas import WsClientMessage

PROBLEM_REF = "#/components/schemas/Problem"


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with Confide's stable `code`."""

    type: str = Field(examples=["urn:confide:problem:validation_error"])
    title: str
    status: int
    code: str = Field(description="Stable, machine-readable error code.")
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="Validation errors only.")


def install_problem_schema(app: FastAPI) -> None:
    """Generate the schema once, with error responses documented as problem+json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            _document_problems(schema)
            _document_events(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_problems(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema
    problem_content = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response["content"] = problem_content
            if "422" in responses:
                responses["422"]["description"] = "The request is not valid (`validation_error`)"
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


# Types that cross a boundary outside any route's body: the run events (SSE `data:` and
# WebSocket messages) and what a WebSocket client sends. Published so clients (the web app's
# generated types among them) read them from the schema.
STREAM_TYPES: dict[str, Any] = {
    "RunEvent": RunEvent,
    "WsClientMessage": WsClientMessage,
    "WsServerMessage": RunEvent | WsError,
}


def _document_events(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, kind in STREAM_TYPES.items():
        generated = TypeAdapter(kind).json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization"
        )
        for key, value in generated.pop("$defs", {}).items():
            components.setdefault(key, value)
        components[name] = generated
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            if "text/event-stream" in content and content.get("application/json") == {"schema": {}}:
                del content["application/json"]  # a stream only: nothing else is sent

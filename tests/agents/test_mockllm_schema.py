"""`minimal_value`: the smallest value a JSON schema accepts, checked against jsonschema and
pydantic, and the schemas it refuses to build for."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from confide.agents.mockllm import SchemaError, minimal_value


class Part(BaseModel):
    kind: Literal["bolt", "nut"]
    count: int = Field(ge=2)


class Order(BaseModel):
    title: str
    placed: datetime
    parts: list[Part]
    main: Part
    spare: Part | None
    rush: bool


DRAFT_4 = "http://json-schema.org/draft-04/schema#"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, ""),
        ({"type": "string", "minLength": 3}, "aaa"),
        ({"type": "string", "format": "date-time"}, "1970-01-01T00:00:00Z"),
        ({"type": "string", "format": "uuid"}, "00000000-0000-0000-0000-000000000000"),
        ({"type": "string", "pattern": "^[0-9]+$"}, "0"),
        ({"type": "integer"}, 0),
        ({"type": "integer", "minimum": 7}, 7),
        ({"type": "integer", "minimum": 1.5}, 2),
        ({"type": "integer", "exclusiveMinimum": 3}, 4),
        ({"type": "integer", "maximum": -4}, -4),
        ({"type": "integer", "minimum": 5, "multipleOf": 3}, 6),
        ({"type": "number", "minimum": 0.25}, 0.25),
        ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}, 0.25),
        ({"$schema": DRAFT_4, "type": "integer", "minimum": 0, "exclusiveMinimum": True}, 1),
        ({"type": "boolean"}, False),
        ({"type": "null"}, None),
        ({"type": ["integer", "null"]}, 0),
        ({}, None),
        ({"const": "fixed"}, "fixed"),
        ({"enum": ["b", "a"]}, "b"),
        ({"type": "integer", "default": 42}, 42),
        ({"anyOf": [{"type": "string", "pattern": "^x$"}, {"type": "integer"}]}, 0),
        ({"oneOf": [{"type": "boolean"}, {"type": "string"}]}, False),
        ({"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]}]}, {"a": 0}),
        ({"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2}, [1, 1]),
        (
            {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "boolean"}],
                "minItems": 2,
            },
            ["", False],
        ),
        ({"type": "array", "contains": {"const": 3}}, [3]),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, {}),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1},
            {"a": ""},
        ),
        (
            {"type": "object", "required": ["x"], "additionalProperties": {"type": "integer"}},
            {"x": 0},
        ),
        (
            {
                "type": "object",
                "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
                "required": ["next"],
            },
            {"next": None},
        ),
        (
            {
                "$ref": "#/$defs/A",
                "$defs": {
                    "A": {
                        "type": "object",
                        "properties": {"b": {"$ref": "#/$defs/B"}},
                        "required": ["b"],
                    },
                    "B": {"type": "integer", "minimum": 9},
                },
            },
            {"b": 9},
        ),
    ],
)
def test_minimal_value(schema: dict[str, Any], expected: Any) -> None:
    value = minimal_value(schema)
    assert value == expected
    assert type(value) is type(expected)
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(value)


class Tree(BaseModel):
    label: str = Field(min_length=1)
    children: list[Tree]
    parent: Tree | None


class Everything(BaseModel):
    order: Order
    trees: list[Tree] = Field(min_length=1)
    ratio: float = Field(gt=0, lt=1)
    code: str = Field(pattern=r"^[a-z]+$")
    level: Literal[3, 4]
    tags: set[str]
    scores: dict[str, int]


@pytest.mark.parametrize("model", [Order, Tree, Everything])
def test_minimal_value_of_pydantic_models_validates(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    value = minimal_value(schema)
    model.model_validate(value)
    jsonschema.Draft202012Validator(schema).validate(value)


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        (False, "accepts nothing"),
        ({"not": {"type": "null"}}, "`not` is not supported"),
        ({"type": "string", "pattern": "^[0-9]{4}$"}, "pattern"),
        ({"type": "string", "minLength": 3, "maxLength": 2}, "minLength"),
        ({"type": "integer", "minimum": 5, "maximum": 2}, "no integer fits"),
        ({"type": "banana"}, "unknown type"),
        ({"enum": []}, "enum"),
        ({"$ref": "#/$defs/Missing"}, "points at nothing"),
        ({"$ref": "https://example.com/schema.json"}, "only local $refs"),
        (
            {"type": "object", "properties": {"me": {"$ref": "#"}}, "required": ["me"]},
            "refers back",
        ),
        ({"type": "array", "items": {"const": 1}, "minItems": 2, "uniqueItems": True}, "unique"),
        ({"type": "object", "required": ["a"], "additionalProperties": False}, "'a'"),
        ({"type": "array", "minItems": "two"}, "this server can read"),
    ],
)
def test_minimal_value_refuses_what_it_cannot_build(schema: Any, says: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(says)):
        minimal_value(schema)

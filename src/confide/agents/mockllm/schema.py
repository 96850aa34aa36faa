"""The smallest value a JSON schema accepts, for answers `confide mock-llm` must fit to a schema.

`minimal_value(schema)` answers as a lazy but obedient model would: required properties only,
each at its smallest: `const`, else `default`, else the first `enum` value; `anyOf` / `oneOf`
take the first branch that can be built, `allOf` is merged; strings are "" (or `minLength`
letters, or a fixed value for a known `format` such as date-time), numbers the minimum or 0,
booleans false, arrays `minItems` copies of their smallest item. Local `$ref`s (`#/$defs/...`)
are followed; a `$ref` back into itself counts as unbuildable, so a recursive type falls back to
its next branch (often null). What it cannot build (`not`, an unmatched `pattern`, bounds that
exclude each other, a remote `$ref`) raises `SchemaError` saying where.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DEPTH = 32
# Values for the string formats clients parse (pydantic validates date-time, uuid, email...).
_FORMATS: dict[str, str] = {
    "date-time": "1970-01-01T00:00:00Z",
    "date": "1970-01-01",
    "time": "00:00:00Z",
    "duration": "PT0S",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "url": "https://example.com/",
    "uri-reference": "https://example.com/",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
_UNSUPPORTED = ("not", "if")
_KIND_HINTS = (
    ("object", ("properties", "required", "additionalProperties", "minProperties")),
    ("array", ("items", "prefixItems", "minItems", "contains")),
    ("string", ("minLength", "maxLength", "pattern", "format")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)


class SchemaError(ValueError):
    """A schema no value can be built for here; the message names the part (a JSON pointer)."""


def minimal_value(schema: Any) -> Any:
    """The smallest JSON value (as Python data) that `schema` accepts."""
    try:
        return _Builder(schema).build(schema, where="#", refs=("#",), depth=0)
    except SchemaError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:  # a keyword's value is mistyped
        raise SchemaError(f"not a JSON schema this server can read ({exc})") from None


class _Builder:
    def __init__(self, root: Any) -> None:
        self.root = root

    def build(self, schema: Any, *, where: str, refs: tuple[str, ...], depth: int) -> Any:
        schema, refs = self._follow(schema, where=where, refs=refs)
        if depth > MAX_DEPTH:
            raise SchemaError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        if schema is True:
            return None
        for keyword in _UNSUPPORTED:
            if keyword in schema:
                raise SchemaError(f"{where}: `{keyword}` is not supported")
        if "const" in schema:
            return schema["const"]
        if "default" in schema:
            return schema["default"]
        if "enum" in schema:
            if not isinstance(schema["enum"], list) or not schema["enum"]:
                raise SchemaError(f"{where}/enum: an enum needs at least one value")
            return schema["enum"][0]
        if "allOf" in schema:
            merged = {key: value for key, value in schema.items() if key != "allOf"}
            for index, part in enumerate(_schemas(schema["allOf"], f"{where}/allOf")):
                part, refs = self._follow(part, where=f"{where}/allOf/{index}", refs=refs)
                merged = _merge(merged, part if isinstance(part, dict) else {})
            return self.build(merged, where=where, refs=refs, depth=depth + 1)
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                return self._first_branch(schema, keyword, where=where, refs=refs, depth=depth)
        kind = schema.get("type", _inferred_kind(schema))
        if isinstance(kind, list):
            if not kind:
                raise SchemaError(f"{where}/type: an empty list of types accepts nothing")
            kind = kind[0]
        if kind == "object":
            return self._object(schema, where=where, refs=refs, depth=depth + 1)
        if kind == "array":
            return self._array(schema, where=where, refs=refs, depth=depth + 1)
        if kind == "string":
            return _string(schema, where)
        if kind in ("integer", "number"):
            return _number(schema, where, integer=kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null" or kind is None:  # no type and no hint: anything goes, null included
            return None
        raise SchemaError(f"{where}/type: unknown type {kind!r}")

    def _follow(
        self, schema: Any, *, where: str, refs: tuple[str, ...]
    ) -> tuple[dict[str, Any] | bool, tuple[str, ...]]:
        """`schema` with its `$ref`s resolved (sibling keywords kept), and the refs taken so far."""
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in refs:
                raise SchemaError(f"{where}: $ref {ref!r} refers back to itself")
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            target = self._resolve(ref, where)
            schema = _merge(target, siblings) if isinstance(target, dict) else target
            refs = (*refs, ref)
        if schema is False:
            raise SchemaError(f"{where}: the schema `false` accepts nothing")
        if schema is not True and not isinstance(schema, dict):
            raise SchemaError(f"{where}: a schema is an object or a boolean, not {schema!r}")
        return schema, refs

    def _resolve(self, ref: Any, where: str) -> Any:
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise SchemaError(f"{where}: only local $refs (#/...) are supported, not {ref!r}")
        node = self.root
        for raw in ref[2:].split("/") if ref != "#" else ():
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SchemaError(f"{where}: $ref {ref!r} points at nothing")
        return node

    def _first_branch(
        self, schema: dict[str, Any], keyword: str, *, where: str, refs: tuple[str, ...], depth: int
    ) -> Any:
        rest = {key: value for key, value in schema.items() if key != keyword}
        problems = []
        for index, branch in enumerate(_schemas(schema[keyword], f"{where}/{keyword}")):
            at = f"{where}/{keyword}/{index}"
            try:
                branch, taken = self._follow(branch, where=at, refs=refs)
                merged = _merge(rest, branch) if isinstance(branch, dict) else rest
                return self.build(merged, where=at, refs=taken, depth=depth + 1)
            except SchemaError as exc:
                problems.append(str(exc))
        raise SchemaError("; ".join(problems) or f"{where}/{keyword}: no branches")

    def _object(
        self, schema: dict[str, Any], *, where: str, refs: tuple[str, ...], depth: int
    ) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        names = list(schema.get("required") or [])
        wanted = int(schema.get("minProperties", 0))
        names += [name for name in properties if name not in names][: max(0, wanted - len(names))]
        if len(names) < wanted:
            raise SchemaError(f"{where}: needs {wanted} properties but names only {len(names)}")
        if len(names) > schema.get("maxProperties", math.inf):
            raise SchemaError(f"{where}: requires more properties than maxProperties allows")
        value: dict[str, Any] = {}
        for name in names:
            if name not in properties and extra is False:
                raise SchemaError(f"{where}: requires {name!r} but allows no such property")
            member = properties.get(name, extra if isinstance(extra, dict) else True)
            at = f"{where}/properties/{name}"
            value[name] = self.build(member, where=at, refs=refs, depth=depth)
        return value

    def _array(
        self, schema: dict[str, Any], *, where: str, refs: tuple[str, ...], depth: int
    ) -> list[Any]:
        items = schema.get("items", True)
        prefix = schema.get("prefixItems") or []
        if isinstance(items, list):  # draft 4 to 2019: `items` as a list is a tuple
            prefix, items = items, schema.get("additionalItems", True)
        length = int(schema.get("minItems", 0))
        if "contains" in schema:
            length = max(length, int(schema.get("minContains", 1)))
            items = (
                _merge(items, schema["contains"]) if isinstance(items, dict) else schema["contains"]
            )
        if length > schema.get("maxItems", math.inf):
            raise SchemaError(f"{where}: minItems is more than maxItems")
        value = [
            self.build(
                prefix[index] if index < len(prefix) else items,
                where=f"{where}/items/{index}",
                refs=refs,
                depth=depth,
            )
            for index in range(length)
        ]
        if schema.get("uniqueItems") and any(v in value[:i] for i, v in enumerate(value)):
            raise SchemaError(f"{where}: needs {length} unique items and can only build copies")
        return value


def _string(schema: dict[str, Any], where: str) -> str:
    shortest, longest = int(schema.get("minLength", 0)), schema.get("maxLength", math.inf)
    candidates = [_FORMATS[schema["format"]]] if schema.get("format") in _FORMATS else []
    at_least_one = max(shortest, 1)
    candidates += ["a" * shortest, "a" * at_least_one, "0" * at_least_one, "A" * at_least_one]
    pattern = schema.get("pattern")
    try:
        compiled = re.compile(pattern) if isinstance(pattern, str) else None
    except re.error as exc:
        raise SchemaError(f"{where}/pattern: not a regular expression ({exc})") from None
    for candidate in candidates:
        if shortest <= len(candidate) <= longest and (not compiled or compiled.search(candidate)):
            return candidate
    if compiled:
        raise SchemaError(f"{where}/pattern: cannot build a string matching {pattern!r}")
    raise SchemaError(f"{where}: minLength is more than maxLength")


def _number(schema: dict[str, Any], where: str, *, integer: bool) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(above, bool):  # draft 4: a flag that makes `minimum` exclusive
        low, above = (None, low) if above else (low, None)
    if isinstance(below, bool):
        high, below = (None, high) if below else (high, None)
    if low is not None and (above is None or low > above):
        value = math.ceil(low) if integer else low
    elif above is not None:
        value = math.floor(above) + 1 if integer else _just_above(above, high, below)
    elif high is not None and high < 0:
        value = math.floor(high) if integer else high
    elif below is not None and below <= 0:
        value = math.ceil(below) - 1 if integer else below - 1
    else:
        value = 0
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0 and value % multiple:
        value = math.ceil(value / multiple) * multiple
    fits = (
        (low is None or value >= low)
        and (high is None or value <= high)
        and (above is None or value > above)
        and (below is None or value < below)
        and (not integer or float(value).is_integer())
    )
    if not fits:
        raise SchemaError(f"{where}: no {'integer' if integer else 'number'} fits its bounds")
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _just_above(above: float, high: float | None, below: float | None) -> float:
    """A number greater than `above`: one more, or halfway to an upper bound that is closer."""
    ceiling = min((b for b in (high, below) if b is not None), default=None)
    if ceiling is not None and ceiling - above <= 1:
        return (above + ceiling) / 2
    return above + 1


def _inferred_kind(schema: dict[str, Any]) -> str | None:
    for kind, keywords in _KIND_HINTS:
        if any(keyword in schema for keyword in keywords):
            return kind
    return None


def _schemas(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(f"{where}: must be a list of schemas")
    return value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Two schemas that must both hold, shallowly: properties and required lists are united."""
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged

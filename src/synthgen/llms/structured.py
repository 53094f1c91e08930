"""Structured output: turn a schema or pydantic class into a JSON schema, and check what came back.

Backends constrain decoding with their native mechanism; this module checks the result anyway, because
no mechanism is perfect (a truncated generation is invalid JSON), and a failure becomes a per-row error.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (type(None),),
}


def schema_of(structured_output: dict[str, Any] | type[BaseModel] | None) -> dict[str, Any] | None:
    """The JSON schema for a schema dict or a pydantic model class (``None`` stays ``None``)."""
    if structured_output is None:
        return None
    if isinstance(structured_output, type) and issubclass(structured_output, BaseModel):
        return structured_output.model_json_schema()
    return dict(structured_output)


def parse_structured(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Parse ``text`` as JSON and validate it against ``schema``.

    Raises:
        ValueError: the text is not JSON or does not follow the schema (the message says where).
    """
    try:
        value = json.loads(_strip_fences(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"output is not valid JSON ({exc.msg} at position {exc.pos})") from None
    problems = validate(value, schema, schema, "$")
    if problems:
        raise ValueError("output does not match the schema: " + "; ".join(problems[:5]))
    if not isinstance(value, dict):
        raise ValueError(f"output must be a JSON object, got {type(value).__name__}")
    return value


def _strip_fences(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def validate(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    """A small JSON-schema check (type, enum, required, properties, items, $ref): a list of problems."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", root.get("definitions", {})).get(name, {})
    if "anyOf" in schema:
        options = [validate(value, s, root, path) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else options[0]
    problems = _check_type(value, schema, path)
    if problems:
        return problems
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path} must be one of {schema['enum']}, got {value!r}"]
    if isinstance(value, dict):
        problems += [f"{path} is missing required key '{k}'" for k in schema.get("required", []) if k not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += validate(value[key], sub, root, f"{path}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += validate(item, schema["items"], root, f"{path}[{i}]")
    return problems


def _check_type(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    expected = schema.get("type")
    if expected is None:
        return []
    names = expected if isinstance(expected, list) else [expected]
    for name in names:
        types = _TYPES.get(name, (object,))
        if isinstance(value, types) and not (isinstance(value, bool) and name in ("integer", "number")):
            return []
    return [f"{path} must be {'/'.join(names)}, got {type(value).__name__}"]


def example_for(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A deterministic value that follows ``schema`` (used by the fake LLM and the test servers)."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_for(root.get("$defs", root.get("definitions", {})).get(name, {}), root)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return example_for(schema["anyOf"][0], root)
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {k: example_for(v, root) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_for(schema.get("items", {"type": "string"}), root)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1) if kind == "integer" else float(schema.get("minimum", 1))
    return {"string": "text", "boolean": True, "null": None}.get(kind, "text")

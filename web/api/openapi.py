"""/api/v1/openapi.json, built from the route registry and the pydantic body models."""
from __future__ import annotations

import copy
import re

from flask import jsonify

import appliance

from . import ROUTES, responses, route

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "details"],
    "properties": {"error": {"type": "string", "description": "One sentence saying what went wrong."},
                   "details": {"type": "array", "items": {}}},
}


def build() -> dict:
    paths: dict = {}
    components: dict = {"Error": ERROR_SCHEMA, **copy.deepcopy(responses.SCHEMAS)}
    for spec in ROUTES:
        operation = {"summary": spec.summary, "operationId": spec.endpoint,
                     "parameters": _parameters(spec), "responses": _responses(spec)}
        if spec.role:
            operation["security"] = [{"bearer": []}]
            operation["x-role"] = spec.role
        if spec.body is not None:
            schema = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                components[name] = definition
            components[spec.body.__name__] = schema
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}}}
        if spec.endpoint in ("create_order", "pay_order"):
            operation["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                            "schema": {"type": "string", "maxLength": 255},
                                            "description": "Same key and body: the first answer again, nothing new is written "
                                                           "(one order, one payment); same key, other body: 409."})
        paths.setdefault("/api/v1" + spec.path, {})[spec.method.lower()] = operation
    _no_nul_in_text(paths)
    _no_nul_in_text(components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Store Appliance API", "version": appliance.__version__,
                 "description": "Money is integer minor units (*_cents); quantities are integers. "
                                'Errors: {"error": "<one sentence>", "details": [...]}. '
                                "A product's purchase cost (cost_cents) is in answers to managers and "
                                "admins only: staff get products without it."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


NO_NUL = "^[^\\u0000]*$"


def _no_nul_in_text(node) -> None:
    """Every free text refuses NUL (web.api.raw_json; PostgreSQL cannot store it): said in its schema."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "format", "const"} & node.keys():
            node["pattern"] = NO_NUL
        for value in node.values():
            _no_nul_in_text(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul_in_text(value)


def _parameters(spec) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", spec.path)]
    for name, text in spec.query.items():
        description, schema = text if isinstance(text, tuple) else (text, {"type": "string"})
        params.append({"name": name, "in": "query", "required": False, "schema": schema, "description": description})
    return params


def _responses(spec) -> dict:
    ok = "201" if 201 in spec.responses else "200"
    schema = responses.ref(spec.answer) if spec.answer else {"type": "object"}
    answers = {ok: {"description": spec.responses.get(int(ok), "OK"), "content": {"application/json": {"schema": schema}}}}
    if ok == "201" and spec.path == "/orders":
        answers[ok]["headers"] = {
            "Location": {"description": "The order's address.", "schema": {"type": "string"}},
            "Idempotent-Replayed": {"description": "true when this is the answer to an earlier request with the same "
                                                   "Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}}
    errors: dict[int, str] = {}
    if spec.role is not None:
        errors |= {401: "no or bad token", 403: "role not allowed"}
    if spec.body is not None:
        errors |= {400: "the body is not JSON, or nests deeper than 32", 413: "body too large",
                   415: "the body is not application/json", 422: "invalid fields"}
    if spec.query:
        errors[422] = errors.get(422, "invalid query parameters")
    if "{" in spec.path or spec.body is not None:
        errors[404] = "not found"
    errors |= {code: text for code, text in spec.responses.items() if code >= 400}
    for code, text in sorted(errors.items()):
        answers[str(code)] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    return answers


@route("GET", "/openapi.json", role=None, summary="This document.", answer="OpenAPI")
def openapi_document():
    return jsonify(build())

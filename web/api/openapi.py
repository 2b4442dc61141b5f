"""/api/v1/openapi.json, built from the route registry and the pydantic body models."""
from __future__ import annotations

import re

from flask import jsonify

import appliance

from . import ROUTES, route

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "details"],
    "properties": {"error": {"type": "string", "description": "One sentence saying what went wrong."},
                   "details": {"type": "array", "items": {}}},
}
STANDARD_ERRORS = {400: "malformed request", 401: "no or bad token", 403: "role not allowed",
                   404: "not found", 413: "body too large", 422: "invalid fields"}


def build() -> dict:
    paths: dict = {}
    components: dict = {"Error": ERROR_SCHEMA}
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
    ok = "201" if spec.method == "POST" and 201 in spec.responses else "200"
    responses = {ok: {"description": spec.responses.get(int(ok), "OK"),
                      "content": {"application/json": {"schema": {"type": "object"}}}}}
    errors = dict(STANDARD_ERRORS)
    if spec.role is None:
        errors = {}
    errors.update({code: text for code, text in spec.responses.items() if code >= 400})
    for code, text in errors.items():
        responses[str(code)] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    return responses


@route("GET", "/openapi.json", role=None, summary="This document.")
def openapi_document():
    return jsonify(build())

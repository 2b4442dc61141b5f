"""JSON API under /api/v1.

Every route is declared with `route(...)`: the same declaration registers the Flask view, checks
the caller's role, validates the body, and describes the route in /api/v1/openapi.json. The access
test walks the same registry, so no route can skip its role check unnoticed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, current_app, g, request, session
from pydantic import BaseModel, ValidationError
from werkzeug.routing import PathConverter

from appliance import accounts
from appliance.errors import AppError, BadRequest, Forbidden, Invalid, NotFound, TooLarge, Unauthorized
from appliance.limits import MAX_ID

blueprint = Blueprint("api", __name__)


class UnsupportedMediaType(AppError):
    status = 415


@dataclass(frozen=True)
class Principal:
    name: str        # who the audit log names: a username or "token:<name>"
    role: str
    via: str         # "token" or "session"


@dataclass
class RouteSpec:
    method: str
    path: str
    role: str | None            # None: public
    summary: str
    body: type[BaseModel] | None = None
    # name -> description, or (description, JSON schema of the value): typed in openapi.json
    query: dict[str, str | tuple[str, dict]] = field(default_factory=dict)
    responses: dict[int, str] = field(default_factory=dict)
    endpoint: str = ""
    answer: str | None = None   # the 2xx body's schema: a name in web.api.responses.SCHEMAS


ROUTES: list[RouteSpec] = []


def route(method: str, path: str, *, role: str | None, summary: str, body: type[BaseModel] | None = None,
          query: dict[str, str | tuple[str, dict]] | None = None, responses: dict[int, str] | None = None,
          answer: str | None = None):
    """Declares an API route: Flask rule + role check + body validation + OpenAPI entry.

    The view receives the validated body (if any) as keyword `body`.
    """
    def decorate(view: Callable) -> Callable:
        spec = RouteSpec(method, path, role, summary, body, query or {}, responses or {}, endpoint=view.__name__,
                         answer=answer)
        ROUTES.append(spec)

        @wraps(view)
        def wrapper(**kwargs):
            if role is not None:
                require(role)
            if body is not None:
                kwargs["body"] = parse_body(body)
            return view(**kwargs)

        blueprint.add_url_rule(_flask_rule(path), view.__name__, wrapper, methods=[method])
        return wrapper
    return decorate


def _flask_rule(path: str) -> str:
    """{sku} matches across "/": SKUs made before "/" was refused in them stay reachable. Under
    /stock/ it is not one of the fixed routes beside it (/stock/receive, /stock/adjust), so those
    answer OPTIONS and 405 with their own methods only (the stock of a product so named is in
    GET /products/<sku>)."""
    if path.startswith("/stock/"):
        path = path.replace("{sku}", "<stock_sku:sku>")
    return path.replace("{sku}", "<path:sku>").replace("{", "<").replace("}", ">")


class StockSku(PathConverter):
    regex = r"(?!(?:receive|adjust)$)[^/].*?"


@blueprint.record_once
def _converters(state) -> None:
    state.app.url_map.converters["stock_sku"] = StockSku


# -- authentication and roles -----------------------------------------------------------------

def current_principal() -> Principal | None:
    if "principal" in g:
        return g.principal
    g.principal = _token_principal() or _session_principal()
    return g.principal


def _token_principal() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>'.")
    found = accounts.token_for(token.strip())
    if found is None:
        raise Unauthorized("The API token is not valid or was revoked.")
    return Principal(f"token:{found.name}", found.role, "token")


def _session_principal() -> Principal | None:
    """A signed-in web user may call the API from the pages (with the CSRF token on writes)."""
    user = getattr(g, "user", None)
    if user is None:
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get("X-CSRF-Token", "")
        expected = session.get("csrf_token", "")
        if not expected or not hmac.compare_digest(sent, expected):
            raise Forbidden("The CSRF token is missing or wrong; reload the page.")
    return Principal(user.username, user.role, "session")


def require(role: str) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("Authentication is required: send 'Authorization: Bearer <token>'.")
    if not accounts.role_allows(principal.role, role):
        raise Forbidden(f"This needs the {role} role; you have {principal.role}.")
    return principal


def actor() -> str:
    return current_principal().name


COST_ROLE = "manager"


def sees_cost() -> bool:
    """Purchase cost (and so the margin) is for managers and admins, as in the reports."""
    principal = current_principal()
    return principal is not None and accounts.role_allows(principal.role, COST_ROLE)


# -- headers ----------------------------------------------------------------------------------

@blueprint.after_app_request
def _api_headers(response):
    """Like the pages: answers hold customers and stock, so no cache (a shared tablet, a proxy) keeps
    them, and no browser guesses another type than the JSON they are. Every /api/ path, errors and
    unknown routes too (after_app_request: a path that matches no route has no blueprint)."""
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


# -- bodies -----------------------------------------------------------------------------------

@blueprint.before_request
def _limit_body_size():
    limit = current_app.config["SETTINGS"].server.max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request body is larger than {limit} bytes.", [{"limit_bytes": limit}])
    request.max_content_length = limit
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            raise Invalid(f"Query parameter {name!r} cannot contain NUL characters.",
                          [{"field": name, "message": "NUL character"}])


MAX_JSON_DEPTH = 32  # objects and arrays inside each other; deeper bodies are refused (400)


def raw_body() -> bytes:
    """The whole request body, or TooLarge: a body is read whole or refused, never cut.

    With Content-Length, werkzeug refuses a body over the limit before reading it. A chunked body
    (no Content-Length) is read here from the server's terminated input up to one byte past the
    limit: werkzeug's own limit on such a stream stops reading at the limit and hands back a
    truncated body."""
    if "raw_body" in g:
        return g.raw_body
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        g.raw_body = request.get_data(cache=True)
        return g.raw_body
    limit = current_app.config["SETTINGS"].server.max_request_bytes
    stream = request.environ["wsgi.input"]
    pieces, size = [], 0
    while size <= limit:
        piece = stream.read(min(65536, limit + 1 - size))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    if size > limit:
        _drain(stream, 16 * limit)  # so the client reads the 413 instead of a reset connection
        raise TooLarge(f"The request body is larger than {limit} bytes.", [{"limit_bytes": limit}])
    g.raw_body = b"".join(pieces)
    return g.raw_body


def _drain(stream, at_most: int) -> None:
    left = at_most
    while left > 0:
        piece = stream.read(min(65536, left))
        if not piece:
            return
        left -= len(piece)


def raw_json() -> Any:
    if not request.mimetype == "application/json":
        raise UnsupportedMediaType("The request body must be JSON (Content-Type: application/json).",
                                   [{"field": "Content-Type", "message": "expected application/json"}])
    data = raw_body()
    try:
        parsed = json.loads(data, parse_float=_number)
    except RecursionError:
        parsed = None
        _too_deep()
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"The request body is not valid JSON: {e}.") from None
    if _depth_exceeds(parsed, MAX_JSON_DEPTH):
        _too_deep()
    if b"\\u0000" in data and _has_nul(parsed):  # PostgreSQL cannot store NUL in text
        raise Invalid("Text in the request body cannot contain NUL characters (\\u0000).",
                      [{"field": "", "message": "NUL character"}])
    return parsed


def _number(text: str) -> int | float:
    """JSON has one number type: 2.0 is the integer 2 (as JSON Schema says), 2.5 stays a fraction that
    no integer field takes. Money and quantities are integers, so nothing takes a fraction."""
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value  # exact below 2^53


def _too_deep():
    raise BadRequest(f"The request body nests objects or arrays more than {MAX_JSON_DEPTH} deep.",
                     [{"field": "", "message": f"at most {MAX_JSON_DEPTH} levels"}])


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth_exceeds(value: Any, allowed: int) -> bool:
    """True if containers nest deeper than `allowed` (iterative: a deep body cannot recurse here)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > allowed:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_body(model: type[BaseModel]) -> BaseModel:
    data = raw_json()
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.", [{"field": "", "message": "expected an object"}])
    try:
        return model.model_validate(data)
    except ValidationError as e:
        details = []
        for err in e.errors():
            # A union's members appear in the location by tag ("constrained-int"): not a field name.
            name = ".".join(str(p) for p in err["loc"] if isinstance(p, int) or _FIELD_NAME.match(str(p)))
            if {"field": name, "message": err["msg"]} not in details:
                details.append({"field": name, "message": err["msg"]})
        raise Invalid("Some fields are not valid.", details) from None


def integer_query(description: str, low: int, high: int) -> tuple[str, dict]:
    """A query parameter read by int_arg(name, default, low, high)."""
    return description, {"type": "integer", "minimum": low, "maximum": high}


def flag_query(description: str) -> tuple[str, dict]:
    """A query parameter read by flag_arg."""
    return description, {"type": "string", "enum": ["0", "1"]}


def choice_query(description: str, allowed: tuple[str, ...]) -> tuple[str, dict]:
    return description, {"type": "string", "enum": list(allowed)}


def flag_arg(name: str) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw not in ("0", "1"):
        raise Invalid(f"Query parameter {name} must be 0 or 1.", [{"field": name, "message": "not 0 or 1"}])
    return raw == "1"


def path_id(raw: str, what: str) -> int:
    """A numeric id from the path: ASCII digits within 64 bits, else NotFound naming it."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_ID:
        raise NotFound(f"No {what} {raw}.", [{what: raw}])
    return int(raw)


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def request_fingerprint() -> str:
    """sha256 of the body's canonical JSON: the same order sent twice hashes the same."""
    canonical = json.dumps(raw_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        if not raw.strip().lstrip("+-").isascii() or len(raw) > 40:
            raise ValueError(raw)
        value = int(raw)
    except ValueError:
        raise Invalid(f"Query parameter {name} must be a whole number.", [{"field": name, "message": "not a number"}]) from None
    if not low <= value <= high:
        raise Invalid(f"Query parameter {name} must be between {low} and {high}.", [{"field": name, "message": "out of range"}])
    return value


# Route modules register themselves on import.
from . import routes_catalog, routes_orders, routes_customers, routes_stocktake, routes_reports, openapi  # noqa: E402,F401
from . import routes_purchasing  # noqa: E402,F401

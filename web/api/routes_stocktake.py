"""Stocktake sessions and replenishment suggestions."""
from __future__ import annotations

from flask import current_app, jsonify

from appliance import replenishment, stocktake

from . import actor, path_id, route
from .schemas import CountIn, StocktakeIn


def _id(raw: str) -> int:
    return path_id(raw, "stocktake")


@route("POST", "/stocktakes", role="staff", summary="Open a stocktake (count session) for a location.", body=StocktakeIn,
       responses={201: "opened", 409: "one is already open for that location"}, answer="Stocktake")
def open_stocktake(body: StocktakeIn):
    return jsonify(stocktake.session_dict(stocktake.open_session(body.location, actor()))), 201


@route("GET", "/stocktakes/{session_id}", role="staff", summary="A stocktake with counts and variances.", answer="Stocktake")
def get_stocktake(session_id: str):
    return jsonify(stocktake.session_dict(stocktake.get_session(_id(session_id))))


@route("PUT", "/stocktakes/{session_id}/counts", role="staff", summary="Record the counted quantity of a product (SKU or barcode).",
       body=CountIn, responses={409: "the stocktake is not open"}, answer="Stocktake")
def count_stock(session_id: str, body: CountIn):
    stocktake.record_count(_id(session_id), body.sku, body.counted, actor())
    return jsonify(stocktake.session_dict(stocktake.get_session(_id(session_id))))


@route("POST", "/stocktakes/{session_id}/post", role="manager", summary="Post every variance as an adjustment, all or nothing.",
       responses={409: "not open, or a count is below reserved stock"}, answer="Stocktake")
def post_stocktake(session_id: str):
    stocktake.post(_id(session_id), actor())
    return jsonify(stocktake.session_dict(stocktake.get_session(_id(session_id))))


@route("POST", "/stocktakes/{session_id}/cancel", role="manager", summary="Cancel an open stocktake without changing stock.",
       responses={409: "the stocktake is not open"}, answer="Stocktake")
def cancel_stocktake(session_id: str):
    stocktake.cancel(_id(session_id), actor())
    return jsonify(stocktake.session_dict(stocktake.get_session(_id(session_id))))


@route("GET", "/replenishment", role="manager", summary="Products at or below their reorder point, with suggested quantities.", answer="Replenishment")
def replenishment_suggestions():
    return jsonify({"suggestions": replenishment.suggestions(current_app.config["SETTINGS"])})

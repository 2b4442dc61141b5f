"""/api/v1/openapi.json lists every registered route with its role and body schema."""
from web.api import ROUTES


def test_every_route_is_in_the_document_with_its_role(api, db):
    doc = api.get(None, "/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for spec in ROUTES:
        operation = doc["paths"]["/api/v1" + spec.path][spec.method.lower()]
        assert operation["summary"] == spec.summary
        assert operation.get("x-role") == spec.role
        if spec.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.split("/")[-1] in doc["components"]["schemas"]


def test_the_order_schema_requires_lines_with_positive_quantities(api, db):
    schemas = api.get(None, "/openapi.json").get_json()["components"]["schemas"]
    assert "lines" in schemas["OrderIn"]["required"]
    assert schemas["OrderLineIn"]["properties"]["qty"]["exclusiveMinimum"] == 0

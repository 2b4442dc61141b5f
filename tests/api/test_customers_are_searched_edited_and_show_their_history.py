"""Customers: search by name/phone/e-mail, contact changes, purchase history."""


def test_search_finds_by_name_phone_or_email(api, db):
    api.post("staff", "/customers", json={"name": "Grace Hopper", "phone": "+49 151 2345", "email": "grace@example.org"})
    api.post("staff", "/customers", json={"name": "Alan Turing", "phone": "0151 999"})
    for term, expected in (("grace", ["Grace Hopper"]), ("2345", ["Grace Hopper"]), ("example.org", ["Grace Hopper"]),
                           ("a", ["Alan Turing", "Grace Hopper"])):
        found = api.get("staff", f"/customers?q={term}").get_json()["customers"]
        assert [c["name"] for c in found] == expected, term


def test_a_customer_needs_a_name_and_a_plausible_email(api, db):
    assert api.post("staff", "/customers", json={"phone": "1"}).status_code == 422
    assert api.post("staff", "/customers", json={"name": "X", "email": "not-an-address"}).status_code == 422


def test_contact_data_can_be_changed(api, db):
    customer = api.post("staff", "/customers", json={"name": "Ada"}).get_json()
    changed = api.patch("staff", f"/customers/{customer['id']}", json={"phone": "+1 (555) 010"}).get_json()
    assert (changed["name"], changed["phone"]) == ("Ada", "+1555010")
    assert api.get("staff", "/customers/999").status_code == 404
    assert api.get("staff", "/customers/abc").status_code == 404

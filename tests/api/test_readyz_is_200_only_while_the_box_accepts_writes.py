"""/healthz says the process is alive; /readyz is 200 only while this box accepts writes."""
from appliance.models import KeyValue


def test_healthz_and_readyz_answer_without_a_token(api, db):
    assert api.client.get("/healthz").status_code == 200
    response = api.client.get("/readyz")
    assert (response.status_code, response.get_json()["status"]) == (200, "ready")


def test_a_fenced_box_is_not_ready(api, db):
    KeyValue.create(key="fenced", value="promoted standby took over")
    response = api.client.get("/readyz")
    assert response.status_code == 503
    assert "fenced" in response.get_json()["reason"]

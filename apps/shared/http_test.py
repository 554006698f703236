import json

import pytest

from apps.shared.http import BadRequest, json_body, json_response


def test_json_response():
    r = json_response(201, {"b": 1, "a": 2})
    assert r["statusCode"] == 201 and r["body"] == '{"a": 2, "b": 1}'


@pytest.mark.parametrize(
    "body, message",
    [
        (None, "body must be a JSON object"),
        ("[1]", "body must be a JSON object"),
        ('{"item": 3}', "field 'item' must be a str"),
        ('{"item": "x", "quantity": true}', "field 'quantity' must be a int"),
    ],
)
def test_json_body_rejects(body, message):
    with pytest.raises(BadRequest, match=message):
        json_body({"body": body}, required={"item": str, "quantity": int})


def test_json_body_accepts():
    body = json_body(
        {"body": json.dumps({"item": "x", "quantity": 2})},
        required={"item": str, "quantity": int},
    )
    assert body == {"item": "x", "quantity": 2}

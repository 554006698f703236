import json

from apps.greeter.handler import greeting, handle


def test_greeting_defaults_to_world():
    assert greeting(None) == "Hello, world!"
    assert greeting("   ") == "Hello, world!"


def test_greeting_truncates_long_names():
    assert greeting("x" * 100) == f"Hello, {'x' * 64}!"


def test_handle_returns_json_response(monkeypatch):
    monkeypatch.setenv("JITI_ENV", "dev")
    response = handle({"queryStringParameters": {"name": "Ada"}}, None)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == {"message": "Hello, Ada!", "env": "dev"}


def test_handle_without_query_string():
    response = handle({"queryStringParameters": None}, None)
    assert json.loads(response["body"])["message"] == "Hello, world!"

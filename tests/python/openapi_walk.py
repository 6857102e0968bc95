#!/usr/bin/env python3
"""Valid requests against a running `sufler serve`, checked against its own /openapi.json.

    python3 tests/python/openapi_walk.py URL ADMIN_TOKEN

schemathesis generates requests from the schema; when the schema is looser or wrong, few of
them get past validation and the success answers are barely checked. This walk complements it:
one hand-written, valid request per operation (and a few documented error answers), in an order
that makes them succeed (a suggestion before its feedback, a template created before it is
read, edited, approved and retired). For each:

1. the request body must validate against the operation's documented request schema (a valid
   request the schema refuses is a spec bug: generated clients could not send it);
2. the answer must have the expected status;
3. schemathesis's own checks must pass on the answer: `not_a_server_error`,
   `status_code_conformance`, `response_schema_conformance`.

Every failure is listed with its request; exit 1 if there is any.
"""

import json
import sys

import jsonschema_rs
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
FAILURES = []
LOOSE = []


def main():
    url, token = sys.argv[1].rstrip("/"), sys.argv[2]
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    raw = schema.raw_schema
    components = raw.get("components", {})
    auth = {"Authorization": f"Bearer {token}"}

    def body_schema(path, method, media):
        op = raw["paths"][path][method.lower()]
        content = op.get("requestBody", {}).get("content", {})
        return content.get(media, {}).get("schema")

    def call(method, path, expect, body=None, media="application/json", path_parameters=None, query=None,
             headers=None, valid=True):
        """One request; returns the parsed JSON answer (or None). `valid=False`: a request the
        server must refuse, which the schema should refuse too (reported, not failed)."""
        label = f"{method} {path}" + (f" {path_parameters}" if path_parameters else "") + (f" ?{query}" if query else "")
        if body is not None:
            definition = body_schema(path, method, media)
            if definition is None:
                FAILURES.append(f"{label}: no documented {media} request body")
            else:
                validator = jsonschema_rs.validator_for({**definition, "components": components})
                errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]
                if not valid:
                    if not errors:
                        LOOSE.append(f"{label}: the schema accepts {json.dumps(body, ensure_ascii=False)}, "
                                     f"which the server refuses with {expect}")
                elif errors:
                    FAILURES.append(f"{label}: the documented request schema refuses a valid request: {errors}\n"
                                    f"    body: {json.dumps(body, ensure_ascii=False)}")
        op = schema[path][method]
        kwargs = {"headers": {**auth, **(headers or {})}}
        if body is not None:
            kwargs.update(body=body, media_type=media)
        if path_parameters:
            kwargs["path_parameters"] = path_parameters
        if query:
            kwargs["query"] = query
        case = op.Case(**kwargs)
        response = case.call(base_url=url)
        if response.status_code != expect:
            FAILURES.append(f"{label}: status {response.status_code}, expected {expect}: {response.text[:300]}")
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as e:  # schemathesis raises a group of check failures
            FAILURES.append(f"{label}: schemathesis checks failed: {e}")
        print(f"{label}: {response.status_code}", flush=True)
        try:
            return response.json()
        except ValueError:
            return None

    # Service.
    for path in ("/healthz", "/readyz", "/v2/languages", "/openapi.json", "/metrics"):
        call("GET", path, 200)

    # Operator routes.
    dialogue = [
        {"role": "operator", "text": "Здравствуйте! Меня зовут Мария, чем могу помочь?"},
        {"role": "client", "text": "где мой заказ 4821-1934? обещали вчера", "ts": "2024-05-01T22:30:00+03:00"},
    ]
    suggested = call("POST", "/v1/suggest", 200, {
        "dialogue": dialogue, "client": {"name": "Анна"}, "operator": {"name": "Мария"},
        "values": {"order": "4821-1934"}, "k": 3,
    }) or {}
    call("POST", "/v1/suggest", 200, {"dialogue": [{"role": "client", "text": "как вернуть товар?"}]})
    draft = "привет, щас гляну твой заказ!!! подожди"
    full = {"text": draft, "dialogue": dialogue, "client": {"name": "Анна"}, "operator": {"name": "Мария"},
            "profile": "chat", "first_message": False, "name_uses": 0, "client_time": "23:30"}
    call("POST", "/v1/check", 200, full)
    call("POST", "/v1/check", 200, {"text": draft})
    call("POST", "/v1/rewrite", 200, full)
    call("POST", "/v1/rewrite", 200, {"text": "😀 ты где?", "profile": "email"})
    top = (suggested.get("suggestions") or [{}])[0].get("id", "order-status")
    call("POST", "/v1/feedback", 201, {"suggestion_id": suggested.get("suggestion_id"),
                                       "message": dialogue[-1]["text"], "chosen": top, "edited": True})
    call("POST", "/v1/feedback", 201, {"message": "как вернуть товар?", "chosen": top})

    # The template library.
    call("GET", "/v1/templates", 200)
    call("GET", "/v1/templates", 200, query={"status": "approved"})
    new = {"id": "walk-return", "title": "Возврат товара", "category": "returns", "tags": ["возврат"],
           "text": "Здравствуйте, {name}! Вернуть товар можно в течение 14 дней в любом пункте выдачи.",
           "examples": ["как вернуть товар?"], "profile": ""}
    call("POST", "/v1/templates", 201, new)
    call("POST", "/v1/templates", 409, new)
    ids = {"id": "walk-return"}
    call("GET", "/v1/templates/{id}", 200, path_parameters=ids)
    edited = {k: v for k, v in new.items() if k != "id"}
    edited["text"] = "Здравствуйте, {name}! Вернуть товар можно в течение 30 дней в любом пункте выдачи."
    call("PUT", "/v1/templates/{id}", 200, edited, path_parameters=ids)
    call("POST", "/v1/templates/{id}/approve", 200, path_parameters=ids)
    call("GET", "/v1/templates/{id}/history", 200, path_parameters=ids)
    call("DELETE", "/v1/templates/{id}", 200, path_parameters=ids)
    call("GET", "/v1/templates/{id}", 404, path_parameters={"id": "no-such-template"})

    # LanguageTool.
    call("POST", "/v2/check", 200, {"text": draft, "language": "ru-RU"}, media="application/x-www-form-urlencoded")
    annotated = {"annotation": [{"text": "Привет "}, {"markup": "<b>"}, {"text": "ты где"}, {"markup": "</b>"}]}
    call("POST", "/v2/check", 200, {"data": json.dumps(annotated, ensure_ascii=False), "language": "ru",
                                    "disabledRules": "emoji", "enabledOnly": "false"},
         media="application/x-www-form-urlencoded")
    call("POST", "/v2/check", 400, {"text": "hello", "language": "en-US"}, media="application/x-www-form-urlencoded",
         valid=False)

    # Tokens (admin).
    call("GET", "/v1/tokens", 200)
    call("POST", "/v1/tokens", 201, {"name": "walk-operator", "role": "operator"})

    # Errors in the documented shape.
    call("POST", "/v1/check", 422, {"text": ""}, valid=False)
    call("POST", "/v1/suggest", 422, {"dialogue": [{"role": "client", "text": "где заказ?"}], "k": 0}, valid=False)
    call("POST", "/v1/suggest", 422, {"dialogue": [{"role": "client", "text": "где заказ?"}], "k": 21}, valid=False)
    call("POST", "/v1/templates", 422, {"title": "Без id", "text": "Текст."}, valid=False)
    call("POST", "/v1/templates", 422, {"id": "empty-text", "title": "Пустой", "text": ""}, valid=False)
    call("POST", "/v1/suggest", 401, {"dialogue": [{"role": "client", "text": "где заказ?"}]},
         headers={"Authorization": "Bearer wrong-token-0123456789"})

    for note in LOOSE:
        print("LOOSE:", note)
    if FAILURES:
        print(f"\nopenapi_walk: {len(FAILURES)} failure(s):")
        for f in FAILURES:
            print(" -", f)
        sys.exit(1)
    print("openapi_walk: ok")


if __name__ == "__main__":
    main()

"""User-facing messages are in Simplified Chinese by default and in English on request (Accept-Language)."""

import pytest

from tests.factories import client_for, valid_uscc


def post_bad_uscc(user, **headers):
    payload = {"name": "x", "kind": "entity", "category": "tech_sme", "jurisdiction": "640104"}
    payload["uscc"] = valid_uscc()[:-2]
    return client_for(user).post("/api/v1/organizations/", payload, format="json", **headers)


@pytest.mark.django_db
def test_messages_default_to_simplified_chinese(program_admin):
    response = post_bad_uscc(program_admin)
    body = response.json()["error"]
    assert body["message"] == "请求无效。"
    assert body["fields"]["uscc"][0]["message"] == "统一社会信用代码应为 18 位，此代码为 16 位。"
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_accept_language_en_gives_english(program_admin):
    response = post_bad_uscc(program_admin, HTTP_ACCEPT_LANGUAGE="en")
    body = response.json()["error"]
    assert body["message"] == "The request is not valid."
    assert body["fields"]["uscc"][0]["message"] == "A unified social credit code has 18 characters; this one has 16."


@pytest.mark.django_db
def test_framework_messages_follow_the_language_too():
    zh = client_for(None).get("/api/v1/me/")
    en = client_for(None).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert zh.json()["error"]["message"] == "身份认证信息未提供。"
    assert en.json()["error"]["message"] == "Authentication credentials were not provided."

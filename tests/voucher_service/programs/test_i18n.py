"""Programs messages are in Simplified Chinese by default and in English on request (Accept-Language)."""

from __future__ import annotations

import pytest

from tests.factories import client_for

pytestmark = pytest.mark.django_db


def patch_as(user, program, **headers):
    return client_for(user).patch(
        f"/api/v1/programs/{program.pk}/", {"rules": {"annual_cap": "0.00"}}, format="json", **headers
    )


def test_refusals_default_to_simplified_chinese(seeds, reviewer, program_admin):
    # when a reviewer tries to edit, and an administrator sends a zero cap
    refused = patch_as(reviewer, seeds.ningxia).json()["error"]
    invalid = patch_as(program_admin, seeds.ningxia).json()["error"]
    # then both answers are in Chinese
    assert refused["message"] == "只有主管部门的计划管理员可以修改该政策。"
    assert invalid["fields"]["rules.annual_cap"][0]["message"] == "金额必须大于零。"


def test_accept_language_en_gives_english(seeds, program_admin):
    invalid = patch_as(program_admin, seeds.ningxia, HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert invalid["fields"]["rules.annual_cap"][0]["message"] == "An amount must be greater than zero."

"""Settings read the environment strictly: a typo in a yes/no or a number is refused, never read as the default."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from voucher_service.settings import env_bool, env_int


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("TRUE", True), (" yes ", True), ("0", False), ("off", False)]
)
def test_yes_no_words_are_read(monkeypatch, value, expected):
    monkeypatch.setenv("EXAMPLE_FLAG", value)
    assert env_bool("EXAMPLE_FLAG", default=not expected) is expected


@pytest.mark.parametrize("value", ["ture", "2", "enabled", "-"])
def test_anything_else_is_refused(monkeypatch, value):
    monkeypatch.setenv("EXAMPLE_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match="EXAMPLE_FLAG"):
        env_bool("EXAMPLE_FLAG", default=True)


def test_unset_or_empty_is_the_default(monkeypatch):
    monkeypatch.delenv("EXAMPLE_FLAG", raising=False)
    assert env_bool("EXAMPLE_FLAG", default=True) is True
    monkeypatch.setenv("EXAMPLE_FLAG", "")
    assert env_bool("EXAMPLE_FLAG", default=False) is False
    assert env_int("EXAMPLE_FLAG", 7) == 7


def test_a_number_that_is_not_whole_is_refused(monkeypatch):
    monkeypatch.setenv("EXAMPLE_COUNT", "12")
    assert env_int("EXAMPLE_COUNT", 1) == 12
    monkeypatch.setenv("EXAMPLE_COUNT", "1O")
    with pytest.raises(ImproperlyConfigured, match="EXAMPLE_COUNT"):
        env_int("EXAMPLE_COUNT", 1)

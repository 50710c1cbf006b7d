"""The service refuses to start where demo users or the embedded mode's local defaults could be reached
(issue 10, item 6): Django's system checks (runserver, every management command) and the WSGI startup guard."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.models import User
from voucher_service import checks
from voucher_service.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ["localhost", "127.0.0.1", "[::1]"]


@pytest.fixture
def demo_loaded(settings):
    settings.LOCAL, settings.ALLOWED_HOSTS = True, LOCAL
    call_command("load_demo")
    return settings


def ids(messages):
    return [message.id for message in messages]


@pytest.mark.django_db
def test_a_local_demo_starts(demo_loaded):
    assert checks.check_demo_users(databases=["default"]) == []
    assert checks.check_local_mode_is_local() == []
    checks.startup_guard()


@pytest.mark.django_db
def test_demo_users_refuse_a_public_restart(demo_loaded):
    # given the embedded instance is restarted with a public ALLOWED_HOSTS
    demo_loaded.ALLOWED_HOSTS = ["vouchers.example.gov.cn"]
    # then both checks refuse, and so does the WSGI guard
    assert ids(checks.check_demo_users(databases=["default"])) == ["voucher_service.E001"]
    assert ids(checks.check_local_mode_is_local()) == ["voucher_service.E002"]
    with pytest.raises(ImproperlyConfigured, match="demo_staff"):
        checks.startup_guard()


@pytest.mark.django_db
def test_demo_users_refuse_production_settings(demo_loaded):
    # given the same database served with the production settings (no embedded mode, no DEBUG)
    demo_loaded.LOCAL = False
    demo_loaded.ALLOWED_HOSTS = ["vouchers.example.gov.cn"]
    assert ids(checks.check_demo_users(databases=["default"])) == ["voucher_service.E001"]
    assert checks.check_local_mode_is_local() == []  # production mode is meant to be public


@pytest.mark.django_db
def test_disable_demo_clears_the_refusal(demo_loaded):
    # given
    demo_loaded.LOCAL = False
    # when
    call_command("disable_demo")
    # then the demo users cannot log in, and the service may start
    assert checks.check_demo_users(databases=["default"]) == []
    staff = User.objects.get(username="demo_staff")
    assert not staff.is_active
    assert not staff.check_password(DEMO_PASSWORD)


def test_embedded_mode_with_a_public_host_refuses_to_run_a_command(tmp_path):
    # when `manage.py check` (as any command, and runserver) runs embedded with a host other machines can reach
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "DATA_DIR": str(tmp_path), "ALLOWED_HOSTS": "192.168.1.20"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it refuses, naming the host
    assert result.returncode != 0
    assert "voucher_service.E002" in result.stderr
    assert "192.168.1.20" in result.stderr

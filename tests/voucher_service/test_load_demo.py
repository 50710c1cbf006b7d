"""manage.py load_demo: idempotent, one user per role; refused outside DEBUG/embedded mode and wherever
ALLOWED_HOSTS names a host that other machines could reach (the demo superuser's password is published)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.models import Membership, Organization, Role, User
from voucher_service.demo import DEMO_PASSWORD

LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


@pytest.fixture
def demo_enabled(settings):
    """Embedded or DEBUG mode, serving only this machine (the test run adds "testserver" to ALLOWED_HOSTS)."""
    settings.LOCAL = True
    settings.ALLOWED_HOSTS = LOCAL_HOSTS
    return settings


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_covers_every_role(demo_enabled, capsys):
    # when run twice
    call_command("load_demo")
    counts = (Organization.objects.count(), User.objects.count(), Membership.objects.count())
    call_command("load_demo")
    # then nothing new appears, and every role has a demo user who can log in
    assert (Organization.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    assert {m.role for m in Membership.objects.all()} == set(Role.values)
    assert User.objects.get(username="demo_reviewer").check_password(DEMO_PASSWORD)
    assert User.objects.get(username="demo_staff").is_superuser
    assert "demo_applicant" in capsys.readouterr().out


@pytest.mark.django_db
def test_load_demo_refuses_in_production(settings):
    settings.LOCAL = False
    settings.ALLOWED_HOSTS = LOCAL_HOSTS
    with pytest.raises(ImproperlyConfigured):
        call_command("load_demo")
    assert not User.objects.filter(username__startswith="demo_").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "allowed_hosts",
    [
        [],  # Django then accepts only localhost and the loopback addresses
        ["localhost", "127.0.0.1", "[::1]", "::1"],
        ["LOCALHOST", "127.0.0.2", "[0:0:0:0:0:0:0:1]"],
        [".localhost", "voucher.localhost"],  # RFC 6761: *.localhost is loopback
    ],
)
def test_load_demo_runs_when_only_this_machine_is_served(demo_enabled, allowed_hosts):
    # given
    demo_enabled.ALLOWED_HOSTS = allowed_hosts
    # when
    call_command("load_demo")
    # then
    assert User.objects.filter(username="demo_staff", is_superuser=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("allowed_hosts", "named"),
    [
        (["vouchers.example.gov.cn"], "vouchers.example.gov.cn"),
        (["localhost", "127.0.0.1", "192.168.1.20"], "192.168.1.20"),
        (["localhost", ".example.gov.cn"], ".example.gov.cn"),
        (["*"], "*"),
        (["0.0.0.0"], "0.0.0.0"),  # noqa: S104 (serving every interface is exactly what is refused)
        (["localhost.example.com"], "localhost.example.com"),
        (["testserver"], "testserver"),  # a single-label name: an intranet's DNS may resolve it
    ],
)
def test_load_demo_refuses_when_allowed_hosts_reach_beyond_this_machine(demo_enabled, allowed_hosts, named):
    # given embedded or DEBUG mode whose ALLOWED_HOSTS names a host other machines can use
    demo_enabled.ALLOWED_HOSTS = allowed_hosts
    # when
    with pytest.raises(ImproperlyConfigured) as refused:
        call_command("load_demo")
    # then no demo user (least of all the superuser) exists, and the message says which entry is the problem
    assert named in str(refused.value)
    assert not User.objects.filter(username__startswith="demo_").exists()
    assert not Organization.objects.exists()

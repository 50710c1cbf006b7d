"""manage.py load_demo: idempotent, one user per role, refused outside DEBUG/embedded mode."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.models import Membership, Organization, Role, User
from voucher_service.demo import DEMO_PASSWORD


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_covers_every_role(settings, capsys):
    # given
    settings.DEMO_ENABLED = True
    # when run twice
    call_command("load_demo")
    counts = (Organization.objects.count(), User.objects.count(), Membership.objects.count())
    call_command("load_demo")
    # then nothing new appears, and every role has a demo user who can log in
    assert (Organization.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    assert {m.role for m in Membership.objects.all()} == set(Role.values)
    assert User.objects.get(username="demo_reviewer").check_password(DEMO_PASSWORD)
    assert "demo_applicant" in capsys.readouterr().out


@pytest.mark.django_db
def test_load_demo_refuses_in_production(settings):
    settings.DEMO_ENABLED = False
    with pytest.raises(ImproperlyConfigured):
        call_command("load_demo")
    assert not User.objects.filter(username__startswith="demo_").exists()

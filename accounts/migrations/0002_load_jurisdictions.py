from django.db import migrations


def load(apps, schema_editor):
    from accounts.jurisdictions import read_fixture, upsert_jurisdictions

    upsert_jurisdictions(apps.get_model("accounts", "Jurisdiction"), read_fixture())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    # Reference data every environment needs (tests, demo, production); reversing leaves it in place.
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

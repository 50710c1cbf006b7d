"""Take the hash chain off the posting path: entries carry a body digest, the sealer appends ``ChainLink`` rows.

* ``JournalEntry.id`` becomes an ordinary sequence (gaps allowed); ``prev_hash``/``hash`` move to ``ChainLink``.
* Existing entries keep their chain exactly: they were chained by id (gapless, height + 1), and the old hash was
  ``SHA-256(prev_hash:id:body_digest)``, which is the new link formula with position = id. So each existing
  entry gets its body digest stored and one link at position = id with its old hashes, and the head is kept.
* ``UnsealedEntry``: the sealer's queue of entries to seal (empty after this migration: all are linked).
* PostgreSQL: links refuse UPDATE and DELETE, like entries and postings (same trigger function as 0002).

Backfilling ``body_digest`` updates entries, which the append-only trigger refuses; the trigger is switched off
for that one statement per row and back on (ALTER TABLE is transactional on PostgreSQL).
"""

from collections import defaultdict

import django.db.models.deletion
from django.db import migrations, models

from core.migration_operations import PostgreSQLOnlyRunSQL


LINK_TRIGGER_SQL = """
CREATE TRIGGER ledger_chainlink_append_only
    BEFORE UPDATE OR DELETE ON ledger_chainlink
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""
DROP_LINK_TRIGGER_SQL = "DROP TRIGGER IF EXISTS ledger_chainlink_append_only ON ledger_chainlink;"
# The identity column Django adds starts at 1; existing entries already use 1..n.
START_SEQUENCE_AFTER_EXISTING_IDS_SQL = """
SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), COALESCE(MAX(id), 0) + 1, false)
FROM ledger_journalentry;
"""


def _entry_trigger(schema_editor, enabled: bool) -> None:
    if schema_editor.connection.vendor == "postgresql":
        action = "ENABLE" if enabled else "DISABLE"
        schema_editor.execute(f"ALTER TABLE ledger_journalentry {action} TRIGGER ledger_journalentry_append_only")


def link_existing_entries(apps, schema_editor):
    from ledger.hashing import entry_body_digest

    alias = schema_editor.connection.alias
    JournalEntry = apps.get_model("ledger", "JournalEntry")
    Posting = apps.get_model("ledger", "Posting")
    ChainLink = apps.get_model("ledger", "ChainLink")
    entries = list(JournalEntry.objects.using(alias).order_by("id"))
    if not entries:
        return
    postings = defaultdict(list)
    for posting in Posting.objects.using(alias).all():
        postings[posting.entry_id].append(posting)
    _entry_trigger(schema_editor, enabled=False)
    for entry in entries:
        digest = entry_body_digest(entry, postings[entry.id])
        JournalEntry.objects.using(alias).filter(pk=entry.pk).update(body_digest=digest)
    _entry_trigger(schema_editor, enabled=True)
    now = entries[-1].recorded_at
    ChainLink.objects.using(alias).bulk_create(
        [
            ChainLink(position=e.id, entry_id=e.id, prev_hash=e.prev_hash, hash=e.hash, sealed_at=now)
            for e in entries
        ],
        batch_size=1000,
    )


def unlink_entries(apps, schema_editor):
    """Reverse: put each link's hashes back on its entry (entries never sealed keep empty hashes)."""
    alias = schema_editor.connection.alias
    JournalEntry = apps.get_model("ledger", "JournalEntry")
    ChainLink = apps.get_model("ledger", "ChainLink")
    links = list(ChainLink.objects.using(alias).all())
    _entry_trigger(schema_editor, enabled=False)
    for link in links:
        JournalEntry.objects.using(alias).filter(pk=link.entry_id).update(prev_hash=link.prev_hash, hash=link.hash)
    _entry_trigger(schema_editor, enabled=True)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_invariants")]

    operations = [
        migrations.CreateModel(
            name="ChainLink",
            fields=[
                ("position", models.BigIntegerField(primary_key=True, serialize=False)),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64)),
                ("sealed_at", models.DateTimeField()),
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="chain_link",
                        to="ledger.journalentry",
                    ),
                ),
            ],
            options={"ordering": ["position"]},
        ),
        PostgreSQLOnlyRunSQL(LINK_TRIGGER_SQL, reverse_sql=DROP_LINK_TRIGGER_SQL),
        migrations.CreateModel(
            name="UnsealedEntry",
            fields=[("entry_id", models.BigIntegerField(primary_key=True, serialize=False))],
        ),
        migrations.AddField(
            model_name="journalentry",
            name="body_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(link_existing_entries, unlink_entries),
        # Only for the reverse direction: re-adding the columns then fills existing rows with "" (NOT NULL),
        # before ``unlink_entries`` copies the hashes back.
        migrations.AlterField("journalentry", "prev_hash", models.CharField(max_length=64, default="")),
        migrations.AlterField("journalentry", "hash", models.CharField(max_length=64, default="")),
        migrations.RemoveField(model_name="journalentry", name="prev_hash"),
        migrations.RemoveField(model_name="journalentry", name="hash"),
        migrations.AlterField(
            model_name="journalentry",
            name="id",
            field=models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
        ),
        PostgreSQLOnlyRunSQL(START_SEQUENCE_AFTER_EXISTING_IDS_SQL, reverse_sql=migrations.RunSQL.noop),
    ]

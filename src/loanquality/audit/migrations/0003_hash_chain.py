"""Chain the audit log: sequence numbers and hashes, computed for the rows already there.

The append-only triggers are dropped for the backfill and put back by 0004.
"""

from django.db import migrations, models

from loanquality.audit.chain import GENESIS, entry_hash

DROP = {
    "sqlite": ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"],
    "postgresql": [
        "DROP TRIGGER audit_append_only ON audit_auditentry",
        "DROP FUNCTION audit_append_only()",
    ],
}


def drop_triggers(apps, schema_editor):
    for statement in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def backfill(apps, schema_editor):
    entry_model = apps.get_model("audit", "AuditEntry")
    prev_hash = GENESIS
    for seq, entry in enumerate(entry_model.objects.order_by("at", "id"), start=1):
        entry.seq, entry.prev_hash = seq, prev_hash  # org_id is "" as added
        digest = entry_hash(entry)
        entry_model.objects.filter(pk=entry.pk).update(seq=seq, prev_hash=prev_hash, hash=digest)
        prev_hash = digest


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]
    operations = [
        migrations.RunPython(drop_triggers, migrations.RunPython.noop),
        migrations.AddField("auditentry", "seq", models.PositiveBigIntegerField(null=True)),
        migrations.AddField(
            "auditentry",
            "org_id",
            models.CharField("机构号", max_length=64, blank=True, default=""),
        ),
        migrations.AddField("auditentry", "prev_hash", models.CharField(max_length=64, default="")),
        migrations.AddField("auditentry", "hash", models.CharField(max_length=64, default="")),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

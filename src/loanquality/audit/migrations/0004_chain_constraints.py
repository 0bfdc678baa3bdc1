"""Sequence numbers unique and required; the append-only triggers back in place."""

import importlib

from django.db import migrations, models

append_only = importlib.import_module("loanquality.audit.migrations.0002_append_only")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_hash_chain")]
    operations = [
        migrations.AlterField(
            "auditentry", "seq", models.PositiveBigIntegerField("序号", unique=True)
        ),
        migrations.AlterField("auditentry", "at", models.DateTimeField("时间", db_index=True)),
        migrations.AlterField(
            "auditentry",
            "target",
            models.CharField("对象", max_length=200, blank=True, db_index=True),
        ),
        migrations.AlterField(
            "auditentry", "org_id", models.CharField("机构号", max_length=64, blank=True)
        ),
        migrations.AlterField("auditentry", "prev_hash", models.CharField(max_length=64)),
        migrations.AlterField("auditentry", "hash", models.CharField(max_length=64)),
        migrations.AlterModelOptions(
            "auditentry", options={"verbose_name": "审计日志", "ordering": ["-seq"]}
        ),
        migrations.RunPython(append_only.forwards, migrations.RunPython.noop),
    ]

"""Carry a log hashed the first way (SHA-256, no key) over to the keyed MAC chain.

Its rows stay as written: rewriting them now would sign whatever is in the table today,
and the log is append-only. The checkpoint's first line records how many rows were hashed
the old way and the last one's hash; ``verify`` checks those rows the old way, the rows
after them under the key, and the first MAC'd row links to that hash, so rewriting an old
row (and recomputing the hashes after it) still shows. The key is made here too, so a log
with a checkpoint always has one.
"""

from django.db import migrations

from loanquality.audit.checkpoint import append_head, checkpoint_path
from loanquality.audit.keys import audit_key


def anchor_the_old_rows(apps, schema_editor):
    entry_model = apps.get_model("audit", "AuditEntry")
    last = entry_model.objects.order_by("-seq").values("seq", "hash").first()
    path = checkpoint_path()
    if last is None or path.exists():
        return
    audit_key(may_create=True)
    append_head(path, last["seq"], last["hash"], legacy=last["seq"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_chain_constraints")]
    operations = [migrations.RunPython(anchor_the_old_rows, migrations.RunPython.noop)]

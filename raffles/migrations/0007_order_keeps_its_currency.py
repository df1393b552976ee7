"""An order keeps its own currency: existing orders take their raffle's (set-based)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_from_raffle(apps, schema_editor):
    Order = apps.get_model("raffles", "Order")
    Raffle = apps.get_model("raffles", "Raffle")
    Order.objects.update(
        currency=Subquery(Raffle.objects.filter(pk=OuterRef("raffle_id")).values("currency")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("raffles", "0006_proofs_wait_for_their_files")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="currency",
            field=models.CharField(default="", editable=False, max_length=3),
            preserve_default=False,
        ),
        migrations.RunPython(fill_from_raffle, migrations.RunPython.noop),
    ]

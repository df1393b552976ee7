"""The "Cashier" group: sees orders and buyers, confirms and cancels payments, edits no raffle."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CASHIER = "Cashier"
CASHIER_PERMISSIONS = [
    ("raffles", "view_order"),
    ("raffles", "confirm_payment"),
    ("raffles", "cancel_order"),
    ("raffles", "view_paymentproof"),
    ("raffles", "view_orderevent"),
    ("raffles", "view_raffle"),
    ("raffles", "view_ticketnumber"),
    ("whatsapp", "view_contact"),
    ("whatsapp", "view_inboundmessage"),
    ("whatsapp", "view_outboundmessage"),
]


def create_cashier_group(apps, schema_editor):
    # Permissions are normally created after all migrations run; this group needs them now.
    for label in ("raffles", "whatsapp"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=CASHIER)
    for app_label, codename in CASHIER_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_cashier_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CASHIER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("raffles", "0001_initial"),
        ("whatsapp", "0002_transport"),
    ]

    operations = [migrations.RunPython(create_cashier_group, remove_cashier_group)]

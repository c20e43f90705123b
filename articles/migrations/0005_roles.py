"""Groups Authors and Editors with the permissions their roles need."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Authors": [
        "add_article", "change_article", "view_article",
        "view_category", "add_image", "view_image", "view_articlerevision",
        "add_tag", "view_tag",
    ],
    "Editors": [
        "add_article", "change_article", "delete_article", "view_article", "publish_article",
        "add_category", "change_category", "view_category",
        "add_image", "change_image", "delete_image", "view_image", "view_articlerevision",
        "add_tag", "change_tag", "delete_tag", "view_tag",
    ],
}  # fmt: skip


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make
    # sure they exist now so the groups can be given them.
    for app_label in ("articles", "taggit"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # what create_permissions looks for
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label__in=["articles", "taggit"], codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        assert not missing, f"missing permissions: {missing}"
        group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0004_editing"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

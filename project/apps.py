"""The project app's configuration: registers system checks and the `__any_of` lookup."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectConfig(AppConfig):
    """Wiring that belongs to no single app: serving, health, periodic housekeeping."""

    name = "project"
    verbose_name = _("Project")

    def ready(self) -> None:
        from project import checks  # noqa: F401  (registers system checks)
        from project.id_sets import register

        register()  # the `__any_of` lookup

        from project.labels import make_labels_translatable

        make_labels_translatable()

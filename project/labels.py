"""Our models' names, field labels and choice labels, said in the admin's language.

Django derives a model's name ("payment proof") and a field's label ("ticket price") from the
code, as plain strings that no catalogue can translate. Wrapping every one in `gettext_lazy` by
hand would touch every field and write a migration per app for text that never reaches the
database; instead, once the models are loaded, the derived ones are wrapped here, and each app's
catalogue (`<app>/locale/es/LC_MESSAGES/django.po`) holds their Spanish. Names already marked
for translation where they are written are left as they are.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

# Apps whose labels are ours to translate (Django's own come translated already).
OUR_APPS = ("raffles", "whatsapp", "conversation", "events", "project")


def _lazy(text: object) -> object:
    return text if isinstance(text, Promise) else gettext_lazy(str(text))


def make_labels_translatable() -> None:
    for app_label in OUR_APPS:
        for model in apps.get_app_config(app_label).get_models():
            meta = model._meta
            if "verbose_name_plural" not in meta.original_attrs:
                # Django's own "{name}s", lazy but never translated: read it while the name is
                # still the plain English one.
                meta.verbose_name_plural = gettext_lazy(str(meta.verbose_name_plural))
            meta.verbose_name = _lazy(meta.verbose_name)
            meta.verbose_name_plural = _lazy(meta.verbose_name_plural)
            for field in meta.get_fields():
                if not isinstance(field, models.Field):
                    continue  # reverse relations carry no label of their own
                field.verbose_name = _lazy(field.verbose_name)
                if field.choices and not callable(field.choices):
                    field.choices = [(value, _lazy(label)) for value, label in field.choices]


def derived_labels(app_label: str, *, unique: bool = True) -> list[str]:
    """Every label `make_labels_translatable` wraps for an app: what its catalogue must hold."""
    texts: list[str] = []
    for model in apps.get_app_config(app_label).get_models():
        meta = model._meta
        texts += [str(meta.verbose_name), str(meta.verbose_name_plural)]
        for field in meta.get_fields():
            if isinstance(field, models.Field):
                texts.append(str(field.verbose_name))
                if field.choices and not callable(field.choices):
                    texts += [str(label) for _, label in field.choices]
    return list(dict.fromkeys(texts)) if unique else texts

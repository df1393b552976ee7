"""Root URLs: admin, internal API, WhatsApp webhook, health probe."""

from django.contrib import admin
from django.urls import include, path

from project.api import api
from project.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("whatsapp/", include("whatsapp.urls")),
]

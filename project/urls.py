"""Root URLs: admin, internal API, WhatsApp webhook, health probe."""

from django.contrib import admin
from django.urls import include, path

from project.api import api
from project.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # The DRF compatibility layer: the original paths older n8n workflows call.
    path("api/", include("raffles.compat.urls")),
    path("healthz", healthz, name="healthz"),
    path("whatsapp/", include("whatsapp.urls")),
]

"""Root URLs: admin, internal API, WhatsApp webhook, health probe."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from project.api import api
from project.health import healthz

urlpatterns = [
    # Nothing public lives at the root: whoever opens the site wants the back office.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # The DRF compatibility layer: the original paths older n8n workflows call.
    path("api/", include("raffles.compat.urls")),
    path("healthz", healthz, name="healthz"),
    path("whatsapp/", include("whatsapp.urls")),
]

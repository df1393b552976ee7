"""URLs under /whatsapp/: Meta's webhook."""

from whatsapp.webhook import api

app_name = "whatsapp"
urlpatterns = api.urls[0]

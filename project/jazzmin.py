"""Jazzmin's look and navigation for the operators' back office."""

JAZZMIN_SETTINGS: dict[str, object] = {
    "site_title": "Raffle Backoffice",
    "site_header": "Raffle Backoffice",
    "site_brand": "Raffles",
    "welcome_sign": "Raffle Backoffice — sign in to run today's raffles",
    "copyright": "Raffle Backoffice",
    "search_model": ["raffles.Order", "whatsapp.Contact"],
    "topmenu_links": [
        {"name": "Home", "url": "admin:index", "permissions": ["auth.view_user"]},
        {"name": "API docs", "url": "/api/v1/docs", "new_window": True},
    ],
    "order_with_respect_to": ["raffles", "whatsapp", "conversation", "auth", "authtoken"],
    "icons": {
        "auth": "fas fa-users-cog",
        "auth.user": "fas fa-user",
        "auth.Group": "fas fa-users",
    },
    "default_icon_parents": "fas fa-chevron-circle-right",
    "default_icon_children": "fas fa-circle",
    "show_ui_builder": False,
    "changeform_format": "horizontal_tabs",
}

JAZZMIN_UI_TWEAKS: dict[str, object] = {
    "navbar": "navbar-dark",
    "sidebar": "sidebar-dark-primary",
    "theme": "default",
}

"""Jazzmin's look and navigation for the operators' back office."""

from django.utils.translation import gettext_lazy as _

JAZZMIN_SETTINGS: dict[str, object] = {
    "site_title": "Raffle Backoffice",
    "site_header": "Raffle Backoffice",
    "site_brand": "Raffles",
    "welcome_sign": "Raffle Backoffice — sign in to run today's raffles",
    "copyright": "Raffle Backoffice",
    "search_model": ["raffles.Order", "whatsapp.Contact"],
    "topmenu_links": [
        {"name": _("Dashboard"), "url": "admin:index"},
        {
            "name": _("Payments to review"),
            "url": "/admin/raffles/order/?status__exact=PENDING_PAYMENT&has_proof=yes",
            "permissions": ["raffles.view_order"],
        },
        {"name": _("API docs"), "url": "/api/v1/docs", "new_window": True},
    ],
    "order_with_respect_to": [
        "raffles",
        "raffles.Order",
        "raffles.PaymentProof",
        "raffles.Raffle",
        "raffles.TicketNumber",
        "whatsapp",
        "whatsapp.Contact",
        "whatsapp.OutboundMessage",
        "whatsapp.InboundMessage",
        "whatsapp.WebhookCapture",
        "conversation",
        "authtoken",
        "auth",
    ],
    "hide_apps": ["django_tasks_db"],
    "icons": {
        "raffles.Raffle": "fas fa-ticket-alt",
        "raffles.TicketNumber": "fas fa-hashtag",
        "raffles.Order": "fas fa-receipt",
        "raffles.PaymentProof": "fas fa-file-invoice-dollar",
        "raffles.OrderEvent": "fas fa-history",
        "whatsapp.Contact": "fab fa-whatsapp",
        "whatsapp.InboundMessage": "fas fa-inbox",
        "whatsapp.OutboundMessage": "fas fa-paper-plane",
        "whatsapp.WebhookCapture": "fas fa-satellite-dish",
        "conversation.Conversation": "fas fa-comments",
        "authtoken.tokenproxy": "fas fa-key",
        "auth": "fas fa-users-cog",
        "auth.user": "fas fa-user",
        "auth.Group": "fas fa-users",
        "axes.AccessAttempt": "fas fa-user-lock",
        "axes.AccessFailureLog": "fas fa-user-times",
        "axes.AccessLog": "fas fa-sign-in-alt",
    },
    "default_icon_parents": "fas fa-chevron-circle-right",
    "default_icon_children": "fas fa-circle",
    "show_ui_builder": False,
    # Our fixes to the theme: long text wraps inside its card, sidebar headers wrap.
    "custom_css": "backoffice/admin.css",
    "changeform_format": "horizontal_tabs",
    # The order page is read at a glance: proofs and history below the order, not in tabs.
    "changeform_format_overrides": {"raffles.order": "single", "whatsapp.contact": "single"},
}

JAZZMIN_UI_TWEAKS: dict[str, object] = {
    # Light bar, dark links: "navbar-dark" alone left white links on Jazzmin's white bar.
    "navbar": "navbar-white navbar-light",
    "sidebar": "sidebar-dark-primary",
    "theme": "default",
}

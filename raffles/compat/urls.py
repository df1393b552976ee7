"""The original /api/ paths, each with and without the trailing slash."""

from django.urls import re_path

from raffles.compat import views

app_name = "compat"

urlpatterns = [
    re_path(r"^orders/?$", views.OrderList.as_view(), name="orders"),
    re_path(
        r"^orders/pending-payment/?$",
        views.PendingPaymentOrders.as_view(),
        name="orders-pending-payment",
    ),
    re_path(
        r"^orders/(?P<order_id>[0-9]{1,18})/confirm-payment/?$",
        views.ConfirmPayment.as_view(),
        name="orders-confirm-payment",
    ),
    re_path(
        r"^orders/(?P<order_id>[0-9]{1,18})/cancel/?$",
        views.CancelOrder.as_view(),
        name="orders-cancel",
    ),
    re_path(
        r"^raffles/(?P<raffle_id>[0-9]{1,18})/availability/?$",
        views.RaffleAvailability.as_view(),
        name="raffle-availability",
    ),
]

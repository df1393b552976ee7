"""`/healthz`: a load balancer's probe that the process is up and the database answers.

It answers 503 only when *this* process cannot reach the database: a stale task worker or
periodic job must not make a load balancer drop a web node that can still store webhooks.
`?detail=1` adds the worker's, the dispatcher's and each periodic command's heartbeat
(ok / stale / never, age).
"""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from project import heartbeats
from project.outage import OutageLog

logger = logging.getLogger(__name__)

# Per process: a probe every few seconds during an outage logs the change, not each failure.
_outage = OutageLog("health check")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        detail = heartbeats.report() if request.GET.get("detail") else {}
    except Exception as error:  # any database failure means "not healthy", never a 500 page
        # The driver's text names the host and the user: neither goes to whoever can reach the
        # probe (and the log gets the error's class, once per outage).
        _outage.failed(error)
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    _outage.answered()
    return JsonResponse({"status": "ok", "database": connection.vendor, **detail})

"""The Celery app: Redis broker, JSON only, late acks, one task at a time per process.

Messages carry document ids, never bytes or rows. A task is acknowledged only after its document
is finished, a worker lost mid-task gives its message back (``task_reject_on_worker_lost``), and
an unacknowledged message returns after the visibility timeout. Anything the broker loses,
``recover`` re-sends from the database.
"""

from __future__ import annotations

from celery import Celery

from digitize.settings import Settings, get_settings

QUEUE = "digitize"


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("digitize", include=["worker.tasks"])
    app.conf.update(
        broker_url=settings.broker_url,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a broker restart is waited out, not fatal
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_max_tasks_per_child=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


app = make_app()

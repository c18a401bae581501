"""The one place the annotations app queues its Celery tasks: by name, so that the services that
queue them never import the tasks module, which imports the services (tasks -> services -> queueing)."""

from django.db import transaction

from clickme_site.celery import app

MAP_REBUILD = "annotations.tasks.map_rebuild"
MAPS_REBUILD_STALE = "annotations.tasks.maps_rebuild_stale"
MAPS_REBUILD_ALL = "annotations.tasks.maps_rebuild_all"
EXPORT_BUILD = "annotations.tasks.export_build"


def map_rebuild_queue(*, image_id: int) -> None:
    """Queue the image's map rebuild now, without retrying a broker that is down (the caller
    decides; the periodic stale rebuild catches what was not queued)."""
    app.send_task(MAP_REBUILD, args=[image_id], retry=False)


def maps_rebuild_all_queue() -> None:
    app.send_task(MAPS_REBUILD_ALL)


def export_build_queue(*, export_id: str) -> None:
    """Queue the export's build once the transaction commits."""
    transaction.on_commit(lambda: app.send_task(EXPORT_BUILD, args=[export_id]))

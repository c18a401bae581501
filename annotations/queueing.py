"""The one place the annotations app queues its Celery tasks: by name, so that the services that
queue them never import the tasks module, which imports the services (tasks -> services -> queueing)."""

from django.utils import timezone

from clickme_site.publishing import publish, send_after_commit, send_now

MAP_REBUILD = "annotations.tasks.map_rebuild"
MAPS_REBUILD_STALE = "annotations.tasks.maps_rebuild_stale"
MAPS_REBUILD_ALL = "annotations.tasks.maps_rebuild_all"
EXPORT_BUILD = "annotations.tasks.export_build"
EXPORTS_PUBLISH_UNSENT = "annotations.tasks.exports_publish_unsent"


def map_rebuild_queue(*, image_id: int) -> None:
    """Queue the image's map rebuild now, without retrying a broker that is down or hung (the caller
    decides; the periodic stale rebuild catches what was not queued)."""
    publish(MAP_REBUILD, args=[image_id])


def maps_rebuild_all_queue() -> None:
    """Queue the rebuild of every map; kombu's OperationalError (a 503) when the broker does not take it."""
    publish(MAPS_REBUILD_ALL)


def _export_published(export_id: str) -> None:
    from .models import Export

    Export.objects.filter(pk=export_id, published_at__isnull=True).update(published_at=timezone.now())


def export_build_queue(*, export_id: str) -> None:
    """Queue the export's build once the transaction commits; with the broker down the export stays
    queued and unpublished, and `services.exports_publish_unsent` sends it later."""
    send_after_commit(EXPORT_BUILD, args=[export_id], on_sent=lambda: _export_published(export_id))


def export_build_send(*, export_id: str) -> bool:
    """Send the export's build now (the sweep); True when the broker took it."""
    return send_now(EXPORT_BUILD, args=[export_id], on_sent=lambda: _export_published(export_id))

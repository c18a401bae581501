"""Celery tasks of the annotations app (queue `maps`): thin, idempotent, by id."""

from celery import shared_task

from . import queueing, services


@shared_task(name=queueing.MAP_REBUILD, acks_late=True)
def map_rebuild_task(image_id):
    services.map_rebuild(image_id=image_id)


@shared_task(name=queueing.MAPS_REBUILD_STALE)
def maps_rebuild_stale_task():
    return services.maps_rebuild_stale()


@shared_task(name=queueing.MAPS_REBUILD_ALL)
def maps_rebuild_all_task():
    return services.maps_rebuild_all()


@shared_task(name=queueing.EXPORT_BUILD, acks_late=True)
def export_build_task(export_id):
    services.export_build(export_id=export_id)


@shared_task(name=queueing.EXPORTS_PUBLISH_UNSENT)
def exports_publish_unsent_task():
    return services.exports_publish_unsent()

"""Connects the game's round_finished signal to the map rebuild (wired in AnnotationsConfig.ready)."""

import logging

log = logging.getLogger(__name__)


def queue_map_rebuild(sender, round_id, image_id, **kwargs):
    from .queueing import map_rebuild_queue

    try:
        map_rebuild_queue(image_id=image_id)
    except Exception as error:  # broker down: the periodic stale rebuild picks the round up later
        log.warning("could not queue the map rebuild of image %s: %s", image_id, error)


def queue_maps_rebuild(sender, image_ids, **kwargs):
    """Rounds of these images were flagged, banned or deleted: rebuild their maps (a no-op when unchanged)."""
    from .queueing import map_rebuild_queue

    for image_id in image_ids:
        try:
            map_rebuild_queue(image_id=image_id)
        except Exception as error:  # broker down: the periodic stale rebuild finds the map out of date
            log.warning("could not queue the map rebuild of image %s: %s", image_id, error)
            return

from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "ClickMe maps"

    def ready(self):
        from game.signals import images_changed, round_finished

        from .receivers import queue_map_rebuild, queue_maps_rebuild

        round_finished.connect(queue_map_rebuild, dispatch_uid="annotations.queue_map_rebuild")
        images_changed.connect(queue_maps_rebuild, dispatch_uid="annotations.queue_maps_rebuild")

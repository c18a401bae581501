from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "ClickMe maps"

    def ready(self):
        from game.signals import round_finished

        from .receivers import queue_map_rebuild

        round_finished.connect(queue_map_rebuild, dispatch_uid="annotations.queue_map_rebuild")

"""The one place the game app queues its Celery tasks: by name, so that the services that queue them
never import the tasks module, which imports the services (tasks -> services -> queueing)."""

from clickme_site.publishing import send_after_commit

IMAGES_SCREEN = "game.tasks.images_screen"


def images_screen_queue() -> None:
    """Ask a worker, once the transaction commits, to screen the images the active partner has not
    screened (a no-op when none is left). A broker that is down only delays it: the beat's sweep
    (`images-screen-pending`) asks again."""
    send_after_commit(IMAGES_SCREEN, args=[], on_sent=lambda: None)

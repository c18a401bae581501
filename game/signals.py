"""Signals the game sends; other apps connect to them in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent once, after commit, when a round becomes won or expired. Arguments: round_id, image_id.
round_finished = Signal()

# Sent once, after commit, when rounds of these images changed in a way their maps must follow: a
# quality flag found later, a ban set or lifted, rounds deleted. Arguments: image_ids (a sorted list).
images_changed = Signal()

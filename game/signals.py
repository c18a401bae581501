"""Signals the game sends; other apps connect to them in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent once, after commit, when a round becomes won or expired. Arguments: round_id, image_id.
round_finished = Signal()

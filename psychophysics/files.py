"""Where an experiment's stimuli and masks live: PRIVATE_ROOT/psychophysics/<experiment id>/, outside
every public prefix (a stimulus shows where the ClickMe map points). Participants fetch their own
trials' files through the participants' API; researchers see samples through the results page."""

from pathlib import Path

from clickme_site.private_files import private_path, private_relative


def stimuli_dir(experiment_id: int) -> Path:
    return private_path("psychophysics", str(experiment_id))


def stored_name(path: Path) -> str:
    """What a Stimulus or Mask row stores for its file (a path under PRIVATE_ROOT)."""
    return private_relative(path)


def stored_path(name: str) -> Path:
    """The file a stored name points to."""
    return private_path(name)

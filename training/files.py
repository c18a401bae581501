"""Where a training job's private files live (its folder, log, checkpoints, curves, partner artifact),
and how a model row names them. The one place to change when these files move. They are private
(PRIVATE_ROOT, outside MEDIA_ROOT): no public URL reaches them."""

from pathlib import Path
from uuid import UUID

from clickme_site.private_files import private_path, private_relative

LOG_FILE = "log.txt"
MODEL_CHECKPOINT_FILE = "model.pt"
CURVES_FILE = "curves.png"
PARTNER_ARTIFACT_FILE = "partner.pt2"


def job_dir(job_id: UUID | str | int) -> Path:
    """The folder of one job: its log, its resume checkpoint (checkpoints.RESUME_FILE), its final
    checkpoint, its curves and, once promoted, its partner artifact."""
    return private_path("training", str(job_id))


def curves_name(job_id: UUID | str) -> str:
    """What a ModelVersion stores for the curves of job `job_id` (and the path of their URL under /media/)."""
    return f"training/{job_id}/{CURVES_FILE}"


def stored_name(path: Path) -> str:
    """What a ModelVersion stores for a file of a job (a path under PRIVATE_ROOT)."""
    return private_relative(Path(path))


def stored_path(name: str) -> Path:
    """The file a ModelVersion's stored name points to."""
    return private_path(name)

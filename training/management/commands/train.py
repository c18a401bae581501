"""python manage.py train --config FILE: trains in the foreground with a progress bar (the jobs' code)."""

import json
import os
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from training.allocator import keep_freed_memory
from training.config import ConfigError, config_from_dict
from training.job_execution import job_execute
from training.models import TrainingJob
from training.selectors import TrainingDataError, n_training_images


def foreground_job(config):
    """The job row of a foreground run. Under torchrun every rank runs this command: they share the
    launch's run id, so they agree on one job (rank 0 writes it, the others train beside it)."""
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if run_id is None or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return TrainingJob.objects.create(config=config.to_dict())
    job_id = uuid.uuid5(uuid.NAMESPACE_URL, f"clickme-torchrun:{run_id}:{json.dumps(config.to_dict(), sort_keys=True)}")
    job, _created = TrainingJob.objects.get_or_create(pk=job_id, defaults={"config": config.to_dict()})
    return job


class Command(BaseCommand):
    help = "Train a network from a JSON config in the foreground (or run a queued job with --job)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--config", help='a JSON file: {"arch", "lambda_clickme", "epochs", ...}')
        group.add_argument("--job", help="run this queued training job (what the worker's child process does)")
        parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")

    def handle(self, *args, config, job, device, **options):
        keep_freed_memory()  # a training process: reuse freed activations (training/allocator.py)
        if config:
            try:
                raw = json.loads(Path(config).read_text())
                checked = config_from_dict(raw, n_train_images=n_training_images())
            except (OSError, json.JSONDecodeError) as error:
                raise CommandError(f"cannot read {config}: {error}") from error
            except ConfigError as error:
                raise CommandError(f"bad config: {error}") from error
            job = foreground_job(checked).pk
            self.stdout.write(f"training job {job}")
        bar = tqdm(desc="training", unit="step", disable=not self.stdout.isatty() and job is None)
        try:
            version = job_execute(
                job_id=job, device=device, progress_bar=bar if config else None, echo=self.stdout.write
            )
        except (TrainingDataError, ConfigError) as error:
            raise CommandError(str(error)) from error
        finally:
            bar.close()
        state = TrainingJob.objects.get(pk=job).status
        if version is not None:
            self.stdout.write(f"done: model {version.name} (id {version.pk}); metrics {json.dumps(version.metrics)}")
        else:
            self.stdout.write(f"job {job} ended: {state}")

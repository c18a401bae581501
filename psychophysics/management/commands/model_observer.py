"""python manage.py model_observer --experiment SLUG --partner ID: a registered network on the stimuli."""

from django.core.management.base import BaseCommand, CommandError

from clickme_site.errors import ServiceError
from game.models import Partner
from psychophysics.models import Experiment, ObserverRun
from psychophysics.observers import observer_request, observer_run
from psychophysics.selectors import observer_results


class Command(BaseCommand):
    help = "Show every main stimulus of the experiment to a registered partner network and print its curve."

    def add_arguments(self, parser):
        parser.add_argument("--experiment", required=True, help="the experiment's slug")
        parser.add_argument("--partner", type=int, required=True, help="the Partner's id (admin, or /api/v1/models/)")
        parser.add_argument("--queue", action="store_true", help="queue it for a worker instead of running it here")

    def handle(self, *args, experiment, partner, queue, **options):
        the_experiment = Experiment.objects.filter(slug=experiment).first()
        if the_experiment is None:
            raise CommandError(f"no experiment {experiment!r}")
        the_partner = Partner.objects.filter(pk=partner).first()
        if the_partner is None:
            raise CommandError(f"no partner {partner}")
        try:
            run = observer_request(experiment=the_experiment, partner=the_partner, enqueue=queue)
        except ServiceError as error:
            raise CommandError(error.detail) from error
        if queue:
            self.stdout.write(f"observer run {run.pk} queued")
            return
        done = observer_run(run_id=run.pk)
        if done is None or done.status != ObserverRun.Status.DONE:
            raise CommandError(
                f"observer run {run.pk} {done.status if done else 'vanished'}: {done.error if done else ''}"
            )
        run = done
        results = observer_results(run, the_experiment, n_boot=1000)
        self.stdout.write(f"observer run {run.pk}: {the_partner.name} answered {run.n_stimuli} stimuli")
        for source, rows in results["curves"].items():
            cells = " ".join(f"{r['level']}%:{r['accuracy']:.3f}" for r in rows if r["accuracy"] is not None)
            self.stdout.write(f"accuracy, {source}: {cells}")

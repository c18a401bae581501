"""python manage.py screen_images [--partner ID] [--again]: screen the active images against a partner in
the foreground (docs/SCIENCE.md section 1), what the worker's game.tasks.images_screen does in the
background, with a progress bar and the counts by verdict."""

from django.core.management.base import BaseCommand, CommandError

from game.management.progress import progress_bar
from game.models import ImageScreening, Partner
from game.screening import playability_counts, screen_pending, unscreened_images


class Command(BaseCommand):
    help = (
        "Screen the active images the partner (default: the active one) has not screened: only images it "
        "cannot win unpainted or from careless strokes, and careful paint can win, are served."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner", type=int, help="partner id (default: the active partner)")
        parser.add_argument("--again", action="store_true", help="forget its verdicts and screen every image again")

    def handle(self, *args, partner, again, **options):
        chosen = (
            Partner.objects.filter(pk=partner).first() if partner else Partner.objects.filter(is_active=True).first()
        )
        if chosen is None:
            raise CommandError("no such partner" if partner else "no active partner (pass --partner ID)")
        if again:
            ImageScreening.objects.filter(partner=chosen).delete()
        pending = len(unscreened_images(partner=chosen))
        with progress_bar(total=pending, desc=f"screening against {chosen.name}") as bar:
            done = screen_pending(partner=chosen, on_progress=lambda n: bar.update(n))
        self.stdout.write(f"screened {done} images against {chosen.name}")
        if chosen.is_active:
            counts = ", ".join(f"{n} {verdict}" for verdict, n in playability_counts().items() if n)
            self.stdout.write(f"active, unretired images: {counts}")

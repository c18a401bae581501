"""python manage.py psychophysics_demo [--out docs]: the README's figures of the rapid-categorisation
experiment, made end to end in a throwaway database (created and dropped here; never the live one).

1. The synthetic benchmark: two of its categories (a two-way choice between two badges), maps from a
   simulated crowd playing the game against the demo partner (training/experiments/played_benchmark.py),
   the stimuli built by the worker's code, simulated participants answering through the services, and
   the demo partner as a model observer: docs/psychophysics-results.png.
2. Real photographs: the ones that ship with installed packages (game/sample_photos.py), cat (ImageNet's
   five domestic cats) against every other category, maps from a simulated crowd playing against EfficientNet-Lite0
   (careful players paint the centre: no mask is known), and EfficientNet-Lite0 as the model observer:
   docs/psychophysics-photos.png. No simulated people here: five photographs make no human curve.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from annotations.services import map_rebuild
from game.importing import images_import
from game.models import Category, Image, Partner, Playability
from game.partner_registry import partner_register
from game.sample_photos import sample_photos_write
from game.simulated_crowd import crowd_play
from game.synthetic_benchmark import CATEGORIES
from game.validity import diagnostic_region
from psychophysics.experiments import experiment_open
from psychophysics.models import Experiment
from psychophysics.observers import observer_request, observer_run
from psychophysics.plots import results_png
from psychophysics.selectors import experiment_results
from psychophysics.stimulus_generation import stimuli_generate
from training.experiments.played_benchmark import generate, map_receivers_off, played_maps, throwaway_database

PRACTICE_PER_CATEGORY = 2
# ImageNet's five domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian): the "cat" side of the choice
DOMESTIC_CATS = ("n02123045", "n02123159", "n02123394", "n02123597", "n02124075")


def _curve_lines(results):
    lines = []
    humans = results["humans"]
    for source, rows in humans["curves"].items():
        cells = ", ".join(f"{row['level']}% {row['accuracy']:.2f}" for row in rows if row["accuracy"] is not None)
        lines.append(f"people ({humans['n_participants']}), {source}: {cells}")
    for observer in results["observers"]:
        for source, rows in observer.get("curves", {}).items():
            cells = ", ".join(f"{row['level']}% {row['accuracy']:.2f}" for row in rows if row["accuracy"] is not None)
            lines.append(f"{observer['partner']}, {source}: {cells}")
    return lines


class Command(BaseCommand):
    help = "Make the README's psychophysics figures end to end in a throwaway database."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="docs", help="folder of the two PNG figures")
        parser.add_argument("--per-category", type=int, default=24, help="main images per category (benchmark)")
        parser.add_argument("--participants", type=int, default=36)
        parser.add_argument("--partner-time-budget", type=float, default=240.0, help="seconds to train the partner")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--n-boot", type=int, default=2000)
        parser.add_argument("--parts", default="benchmark,photos", help="which figures: benchmark, photos or both")

    def handle(self, *args, out, per_category, participants, partner_time_budget, seed, n_boot, parts, **options):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with throwaway_database("psychophysics_demo") as folder:
            if "benchmark" in parts:
                self._benchmark(folder, out, per_category, participants, partner_time_budget, seed, n_boot)
            if "photos" in parts:
                self._photographs(folder, out, seed, n_boot)

    def _experiment(self, slug, title, images, practice, choice_a, choice_b, labels):
        experiment = Experiment.objects.create(
            slug=slug,
            title=title,
            choice_a_label=labels[0],
            choice_b_label=labels[1],
            n_trials=len(images),
            n_practice=len(practice),
            completion_code="DEMO",
        )
        experiment.choice_a_categories.set(choice_a)
        experiment.choice_b_categories.set(choice_b)
        experiment.images.set(images)
        experiment.practice_images.set(practice)
        stimuli_generate(experiment_id=experiment.pk)
        experiment.refresh_from_db()
        if experiment.stimuli_state != Experiment.StimuliState.READY:
            raise RuntimeError(f"stimuli of {slug}: {experiment.stimuli_error}")
        return experiment

    def _observe(self, experiment, partner):
        run = observer_request(experiment=experiment, partner=partner, enqueue=False)
        observer_run(run_id=run.pk)

    def _write(self, experiment, path, n_boot):
        results = experiment_results(experiment, n_boot=n_boot)
        path.write_bytes(results_png(results, experiment.title))
        self.stdout.write(f"wrote {path}")
        for line in _curve_lines(results):
            self.stdout.write(f"  {line}")

    def _benchmark(self, folder, out, per_category, participants, partner_time_budget, seed, n_boot):
        n_per = per_category + PRACTICE_PER_CATEGORY
        images, masks, labels = generate(2, n_per, seed)
        played = played_maps(
            images,
            masks,
            labels,
            n_categories=2,
            folder=folder,
            partner_time_budget_s=partner_time_budget,
            seed=seed,
            log=self.stdout.write,
        )
        self.stdout.write(f"maps from {played['crowd']['all']['rounds']} rounds of play")
        rows = list(Image.objects.order_by("id"))  # imported in the order generated: category-interleaved
        practice, main = rows[: 2 * PRACTICE_PER_CATEGORY], rows[2 * PRACTICE_PER_CATEGORY :]
        category_a, category_b = (Category.objects.get(wnid=CATEGORIES[k][1]) for k in (0, 1))
        experiment = self._experiment(
            "demo-badges",
            f"{CATEGORIES[0][0]} or {CATEGORIES[1][0]}? (synthetic benchmark, simulated people)",
            main,
            practice,
            [category_a],
            [category_b],
            (CATEGORIES[0][0], CATEGORIES[1][0]),
        )
        experiment_open(experiment=experiment)
        call_command(
            "simulate_participants", "--experiment", experiment.slug, "--n", str(participants), "--seed", str(seed)
        )
        self._observe(experiment, Partner.objects.get(is_active=True))
        self._write(experiment, out / "psychophysics-results.png", n_boot)

    def _photographs(self, folder, out, seed, n_boot):
        from game import pretrained  # torch and timm

        Image.objects.update(active=False)  # the crowd plays the photographs only
        sample_photos_write(Path(folder) / "photos")
        images_import(Path(folder) / "photos", size_px=settings.CLICKME["IMAGE_SIZE_PX"])
        photos = list(Image.objects.filter(active=True).order_by("id"))
        names = dict(pretrained.imagenet_classes())
        cats = [
            Category.objects.get_or_create(wnid=wnid, defaults={"name": names[wnid].split(",")[0]})[0]
            for wnid in DOMESTIC_CATS
        ]  # before registering, so that the network's cat outputs map to them
        partner = partner_register(
            name="efficientnet_lite0",
            weights_path=pretrained.weights_path(),
            architecture="efficientnet_lite0",
            activate=True,
            force=True,  # it names some of these close-ups through the noise (README); measured, not hidden
        )
        # It reads these close-ups through the noise, so the screening serves none of them; the demo's
        # crowd plays them anyway (the experiment's stimuli need maps), and says so.
        Image.objects.filter(pk__in=[photo.pk for photo in photos]).update(playability=Playability.PLAYABLE)
        self.stdout.write("the photographs are served whatever their screening says (a demo, not the game)")
        centre = {image.pk: diagnostic_region((image.height, image.width)) for image in photos}
        with map_receivers_off():
            crowd = crowd_play(centre.get, seed=seed, log=self.stdout.write)
            for image in photos:
                map_rebuild(image_id=image.pk)
        self.stdout.write(
            f"maps of the photographs from {crowd.summary()['all']['rounds']} rounds against {partner.name}"
        )
        experiment = self._experiment(
            "demo-photos",
            "cat or not? (photographs from installed packages, EfficientNet-Lite0)",
            photos,
            [],
            cats,
            [],
            ("cat", "not a cat"),
        )
        self._observe(experiment, partner)
        self._write(experiment, out / "psychophysics-photos.png", n_boot)

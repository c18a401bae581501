"""python manage.py partner_report [--images N] [--partner ID]: the game-validity report of a partner."""

from django.core.management.base import BaseCommand, CommandError

from game.models import Partner
from game.partner_validity import partner_validity_compute, promotion_refusal, validity_rows


class Command(BaseCommand):
    help = (
        "Play simulated rounds (zero clicks, a careless and a careful player) against a partner on the "
        "active images, print its win rates beside chance and store them in its metrics (docs/SCIENCE.md 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner", type=int, help="partner id (default: the active partner)")
        parser.add_argument("--images", type=int, help="screen at most this many active images (default 100)")
        parser.add_argument("--rounds", type=int, help="rounds per image (default: enough for 20 rounds)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, partner, images, rounds, seed, **options):
        chosen = (
            Partner.objects.filter(pk=partner).first() if partner else Partner.objects.filter(is_active=True).first()
        )
        if chosen is None:
            raise CommandError("no such partner" if partner else "no active partner (pass --partner ID)")
        stored, report = partner_validity_compute(chosen, n_images=images, rounds_per_image=rounds, seed=seed)
        self.stdout.write(f"partner {chosen.name} (id {chosen.pk}){', active' if chosen.is_active else ''}")
        for label, text in validity_rows(stored):
            self.stdout.write(f"  {label:<40} {text}")
        per = report.rounds_per_image
        for start in range(0, len(report.per_image), per):
            rows = report.per_image[start : start + per]
            won_at = [row["careful_clicks"] for row in rows if row["careful_clicks"]]
            self.stdout.write(
                f"    {rows[0]['name']:<38} zero-click {sum(r['zero_click'] for r in rows)}/{per}, "
                f"careless {sum(r['careless'] for r in rows)}/{per}, careful {len(won_at)}/{per}"
                + (f" (clicks to a win {sorted(won_at)})" if won_at else "")
            )
        refusal = promotion_refusal(stored)
        self.stdout.write(f"  promotion: {'refused: ' + refusal if refusal else 'allowed'}")

"""Judge the stored, closed rounds again by the quality rule (game/round_quality.py): for rounds from
before the rule, or after it changed. Flags are only added; the maps concerned are rebuilt."""

from django.core.management.base import BaseCommand

from game.moderation import rounds_review


class Command(BaseCommand):
    help = "Judge every closed round again by the quality rule (flags are only added); rebuilds affected maps."

    def handle(self, *args, **options):
        judged, newly_flagged = rounds_review()
        self.stdout.write(f"judged {judged} rounds; {newly_flagged} newly flagged")

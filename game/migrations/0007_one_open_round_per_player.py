"""A player has at most one open round (game/services.py round_start); a partial unique index, which
PostgreSQL and SQLite both have. 0006 closed the extra ones first."""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("game", "0006_close_extra_open_rounds")]

    operations = [
        migrations.AddConstraint(
            model_name="round",
            constraint=models.UniqueConstraint(
                condition=Q(state="open"), fields=("player",), name="one_open_round_per_player"
            ),
        ),
    ]

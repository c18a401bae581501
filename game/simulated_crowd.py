"""A crowd of simulated players that plays the real game through game.services until every active
image is retired (docs/SCIENCE.md sections 1, 2 and 7): the science experiment's maps come from here.

Each player starts rounds with `round_start` (the game picks the image: never one the player had,
fewest completed rounds first), paints with the brush of game/simulated_players.py (a bubble centre
every 50 ms, at most 7 px from the last), posts the clicks every 10 as the browser does
(`click_post.clicks_record`, where the active partner looks at what is revealed) and stops when the partner
recognises the image or the 7 s run out (`round_finish`). Careful players paint the diagnostic part
(the mask, with aim noise and a few stray glances), careless ones anywhere. Rounds are judged by
the game's own quality rules (game/round_quality.py) like any other; nothing here bypasses them.

A player plays at most `rounds_per_player` rounds: a real crowd is many people playing a few
rounds each, and the simulation runs faster than a person would (the quality rule flags 10 rounds
started within 10 s by one player).
"""

from dataclasses import dataclass, field

import numpy as np

from clickme_site.errors import Conflict

from . import click_post, services
from .models import Player, Round
from .simulated_players import trajectory

POST_EVERY = 10  # the browser posts about every 10 clicks (docs/SCIENCE.md section 1)


@dataclass
class CrowdReport:
    """What the crowd did: per round, its clicks, whether it was won and whether the player was careless."""

    n_players: int = 0
    n_careless_players: int = 0
    round_ids: list = field(default_factory=list)
    clicks: list = field(default_factory=list)
    won: list = field(default_factory=list)
    careless: list = field(default_factory=list)

    def summary(self):
        clicks = np.asarray(self.clicks, dtype=np.float64)
        won = np.asarray(self.won, dtype=bool)
        careless = np.asarray(self.careless, dtype=bool)
        flagged = Round.objects.filter(pk__in=self.round_ids, flagged=True).count()

        def part(selector):
            chosen = clicks[selector]
            if len(chosen) == 0:
                return {"rounds": 0}
            return {
                "rounds": int(len(chosen)),
                "win_rate": float(won[selector].mean()),
                "clicks_mean": float(chosen.mean()),
                "clicks_median": float(np.median(chosen)),
                "clicks_won_mean": float(clicks[selector & won].mean()) if (selector & won).any() else None,
            }

        return {
            "players": self.n_players,
            "careless_players": self.n_careless_players,
            "flagged_rounds": flagged,
            "all": part(np.ones(len(clicks), dtype=bool)),
            "careful": part(~careless),
            "careless": part(careless),
        }


def round_play(player, round_, mask, rng, careless, time_limit_ms):
    """Play one started round to its end; returns (clicks posted, won)."""
    n_clicks = int(time_limit_ms // 50)  # the brush's cadence: one bubble centre every 50 ms
    clicks = trajectory(mask, rng, careless=careless, n_clicks=n_clicks).tolist()
    posted = 0
    for begin in range(0, len(clicks), POST_EVERY):
        chunk = clicks[begin : begin + POST_EVERY]
        try:
            stored, _guesses, recognized = click_post.clicks_record(player=player, round_id=round_.pk, raw_clicks=chunk)
        except Conflict:  # the round's time ran out on the server's clock
            break
        posted += len(chunk)
        if recognized or stored.state != Round.State.OPEN:
            return posted, stored.state == Round.State.WON
    finished = services.round_finish(player=player, round_id=round_.pk)
    return posted, finished.state == Round.State.WON


def crowd_play(mask_for, *, careless_fraction=0.2, rounds_per_player=8, seed=0, max_players=100_000, log=None):
    """Players play until no active image is left to play (all retired after PLAYS_PER_IMAGE
    map-eligible rounds). `mask_for(image_id)` is what a careful player believes diagnostic."""
    rng = np.random.default_rng(seed)
    report = CrowdReport()
    time_limit_ms = services.game_setting("TIME_LIMIT_MS")
    while report.n_players < max_players:
        careless = bool(rng.random() < careless_fraction)
        player = Player.objects.create(
            ip_hash=services.ip_hash(f"10.{report.n_players // 65536}.{report.n_players // 256 % 256}.1"),
            nickname=f"sim-{'careless' if careless else 'careful'}-{report.n_players}",
        )
        services.player_update(player=player, changes={"consented": True})
        report.n_players += 1
        report.n_careless_players += careless
        player_rng = np.random.default_rng(rng.integers(2**32))
        played = 0
        for _ in range(rounds_per_player):
            try:
                round_ = services.round_start(player=player, user_agent="clickme-simulated-crowd")
            except Conflict:
                break
            posted, won = round_play(player, round_, mask_for(round_.image_id), player_rng, careless, time_limit_ms)
            report.round_ids.append(round_.pk)
            report.clicks.append(posted)
            report.won.append(won)
            report.careless.append(careless)
            played += 1
        if played == 0:
            break  # even a new player finds nothing left: every image is retired
        if log and report.n_players % 100 == 0:
            log(f"  {report.n_players} players, {len(report.clicks)} rounds")
    return report

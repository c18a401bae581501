"""How simulated players paint (docs/SCIENCE.md sections 1 and 7): numpy only, no Django.

A careful player aims at points inside the ground-truth mask (with Gaussian aim noise) and now
and then lifts the pointer to paint a short glance elsewhere; a careless one aims anywhere. The
pointer trail is turned into bubble centres as the browser does: one every 50 ms, at most 7 px
from the last; lifting the pointer and pressing elsewhere starts a new trail there.
"""

import numpy as np

STEP_MS = 50
MAX_STEP_PX = 7


def aim_points(mask, rng, careless, n, aim_noise_px=4.0, stray_fraction=0.03):
    """(n, 2) pointer targets and a flag per target: True where the pointer is lifted to reach it."""
    height, width = mask.shape
    anywhere = np.column_stack([rng.uniform(0, width, n), rng.uniform(0, height, n)])
    ys, xs = np.nonzero(mask)
    if careless or len(xs) == 0:
        return anywhere, np.zeros(n, dtype=bool)
    pick = rng.integers(0, len(xs), n)
    inside = np.column_stack([xs[pick], ys[pick]]).astype(float) + rng.normal(0, aim_noise_px, (n, 2))
    stray = rng.random(n) < stray_fraction
    inside[stray] = anywhere[stray]
    # a glance elsewhere is reached, and left, by lifting the pointer
    lifted = stray | np.roll(stray, 1)
    return inside, lifted


def trajectory(mask, rng, careless=False, n_clicks=140):
    """(n_clicks, 3) int array of [x, y, t_ms]: bubble centres every STEP_MS along the pointer trail."""
    height, width = mask.shape
    targets, lifted = aim_points(mask, rng, careless, n_clicks + 1)
    position = targets[0].copy()
    target_index = 1
    clicks = np.empty((n_clicks, 3), dtype=np.int64)
    for step in range(n_clicks):
        if step:
            delta = targets[target_index] - position
            distance = float(np.hypot(*delta))
            if distance <= MAX_STEP_PX or lifted[target_index]:
                position = targets[target_index].copy()
                target_index = min(target_index + 1, len(targets) - 1)
            else:
                position = position + delta * (MAX_STEP_PX / distance)
        clicks[step] = (
            int(np.clip(round(position[0]), 0, width - 1)),
            int(np.clip(round(position[1]), 0, height - 1)),
            step * STEP_MS,
        )
    return clicks

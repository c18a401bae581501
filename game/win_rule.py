"""The game's win rule (docs/SCIENCE.md section 1): the true category must be in the partner's top k.

Pure Python, no Django: the game's services, the validity report and the benchmark share it.
k is the setting CLICKME_WIN_TOP_K when set; otherwise 5 where the partner chooses among 100 or more
outputs (the original game: top 5 of ImageNet's 1,000) and 1 below that, so that winning by chance,
k / outputs, stays near 0.5-2%.
"""

MANY_CATEGORIES = 100


def win_top_k(n_outputs, setting=None):
    """The k of the win rule for a partner with `n_outputs` categories in play."""
    if setting:
        return max(1, min(int(setting), max(int(n_outputs), 1)))
    return 5 if n_outputs >= MANY_CATEGORIES else 1


def chance_rate(n_outputs, k):
    """The win rate of a partner that guesses at random: k of its n_outputs categories."""
    return min(1.0, k / n_outputs) if n_outputs else 0.0


def is_win(ranked_indices, target_indices, k):
    """True when one of the first k ranked outputs is one of the image's category's outputs."""
    targets = set(target_indices)
    return any(int(index) in targets for index in list(ranked_indices)[:k])

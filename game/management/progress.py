"""The progress bar of the management commands that take minutes: tqdm on stderr, redrawn on a
terminal, a line every 5 s in a log."""

import sys

from tqdm import tqdm


def progress_bar(*, total: int | None, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit="image", file=sys.stderr, mininterval=0.5 if sys.stderr.isatty() else 5.0)

"""game/partner.py ForwardBatcher: the process's forward thread. Views queued while a forward runs share
the next one, each post gets its own view's answer, and a failed forward fails only its own posts."""

import threading

import numpy as np
import pytest

from game.partner import ForwardBatcher


class GatedForward:
    """A forward that records its batch sizes and holds its first call until released."""

    def __init__(self, fail_on=None):
        self.sizes: list[int] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, views):
        self.sizes.append(len(views))
        if len(self.sizes) == 1:
            self.started.set()
            assert self.release.wait(10)
        if self.fail_on is not None and any(view[0, 0, 0] == self.fail_on for view in views):
            raise RuntimeError("forward failed")
        return views.reshape(len(views), -1).sum(axis=1, keepdims=True) * np.array([[1.0, -1.0]])


def view(value):
    return np.full((4, 4, 3), value, dtype=np.float32)


def test_views_queued_during_a_forward_share_the_next_one_and_each_gets_its_own_answer():
    forward = GatedForward()
    batcher = ForwardBatcher(forward, max_batch=8)
    first = batcher.submit(view(1))
    assert forward.started.wait(10)
    waiting = [batcher.submit(view(value)) for value in (2, 3, 4)]
    forward.release.set()
    assert first.result(10).tolist() == [48.0, -48.0]
    assert [future.result(10).tolist() for future in waiting] == [[96.0, -96.0], [144.0, -144.0], [192.0, -192.0]]
    assert forward.sizes == [1, 3]
    batcher.close()


def test_no_forward_takes_more_than_max_batch_views():
    forward = GatedForward()
    batcher = ForwardBatcher(forward, max_batch=2)
    first = batcher.submit(view(0))
    assert forward.started.wait(10)
    waiting = [batcher.submit(view(value)) for value in range(1, 6)]
    forward.release.set()
    assert [future.result(10)[0] for future in [first, *waiting]] == [0.0, 48.0, 96.0, 144.0, 192.0, 240.0]
    assert forward.sizes == [1, 2, 2, 1]
    batcher.close()


def test_a_failed_forward_fails_its_own_posts_only_and_the_thread_goes_on():
    forward = GatedForward(fail_on=7)
    batcher = ForwardBatcher(forward)
    first = batcher.submit(view(1))
    assert forward.started.wait(10)
    doomed = [batcher.submit(view(7)), batcher.submit(view(2))]  # one batch: the bad view fails both
    forward.release.set()
    assert first.result(10)[0] == 48.0
    for future in doomed:
        with pytest.raises(RuntimeError, match="forward failed"):
            future.result(10)
    assert batcher.submit(view(3)).result(10)[0] == 144.0
    batcher.close()


def test_a_closed_batcher_refuses_new_views():
    batcher = ForwardBatcher(GatedForward())
    batcher.close()
    with pytest.raises(RuntimeError, match="replaced"):
        batcher.submit(view(1))


def test_a_forked_child_starts_its_own_forward_thread():
    import multiprocessing

    batcher = ForwardBatcher(lambda views: views.reshape(len(views), -1).sum(axis=1, keepdims=True))
    assert batcher.submit(view(1)).result(10)[0] == 48.0  # the parent's thread exists before the fork

    def child(queue):
        queue.put(float(batcher.submit(view(2)).result(10)[0]))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    assert queue.get(timeout=20) == 96.0
    process.join(20)
    assert process.exitcode == 0
    batcher.close()

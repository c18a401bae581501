"""The demo partner's pieces, fast: the code-book head scores a category as the sum of its four parts,
and training teaches a view's true label only as far as the view shows the diagnostic part."""

import numpy as np
import pytest
import torch

from game.synthetic_benchmark import CATEGORIES, category_codes, scene
from training.demo_partner import DemoConfig, ViewMaker
from training.nets.local_fcn import LocalFCN, code_book_matrix


def test_category_codes_are_the_benchmarks_or_none():
    wnids = [wnid for _name, wnid, _code in CATEGORIES[:5]]
    assert category_codes(wnids) == [code for _name, _wnid, code in CATEGORIES[:5]]
    assert category_codes([*wnids, "n02123045"]) is None and category_codes([]) is None


def test_the_code_book_marks_one_part_per_slot_and_refuses_bad_codes():
    book = code_book_matrix([(0, 1, 2, 3), (3, 3, 3, 3)])
    assert book.shape == (2, 16) and book.sum(dim=1).tolist() == [4.0, 4.0]
    assert book[0].nonzero().flatten().tolist() == [0, 5, 10, 15]
    assert book[1].nonzero().flatten().tolist() == [3, 7, 11, 15]
    with pytest.raises(ValueError):
        code_book_matrix([(0, 1, 4, 0)])
    with pytest.raises(ValueError):
        LocalFCN(3, codes=[(0, 0, 0, 0)])


def test_a_category_scores_the_sum_of_its_parts_at_each_position():
    torch.manual_seed(0)
    codes = [code for _name, _wnid, code in CATEGORIES[:8]]
    net = LocalFCN(8, width=4, codes=codes).eval()
    x = torch.randn(2, 3, 32, 32)
    parts = net.parts(net.features(x))  # (2, 16, 8, 8)
    scores = net.score_map(x)
    for c, code in enumerate(codes):
        expected = sum(parts[:, slot * 4 + value] for slot, value in enumerate(code)) + net.category_bias[c]
        torch.testing.assert_close(scores[:, c], expected)
    torch.testing.assert_close(net(x), scores.amax(dim=(2, 3)))


def test_a_view_teaches_its_label_only_as_far_as_it_shows_the_part():
    rng = np.random.default_rng(0)
    image, mask = scene(rng, 3)
    maker = ViewMaker([image], [mask], DemoConfig(), np.random.default_rng(1))
    ys, xs = np.nonzero(mask)
    centre = np.array([[int(xs.mean()), int(ys.mean())]])
    view, shown = maker.view(0, np.zeros((0, 2), np.int64))
    assert view.shape == (224, 224, 3) and shown == 0.0 and maker._weighted(view, shown)[1] == 0.0
    _view, shown = maker.view(0, centre)  # one 21 px square in a ~42 px badge: about a quarter
    assert 0.15 < shown < 0.35 and maker._weighted(_view, shown)[1] == pytest.approx(shown / 0.5)
    grid = np.array([[x, y] for x in range(xs.min(), xs.max() + 1, 10) for y in range(ys.min(), ys.max() + 1, 10)])
    _view, shown = maker.view(0, grid)
    assert shown == 1.0 and maker._weighted(_view, shown)[1] == 1.0
    reader = ViewMaker([image], [mask], DemoConfig(label_reveal=0.0), np.random.default_rng(1))
    assert reader._weighted(view, 0.0)[1] == 1.0

"""Issue 9 item 6: the partner trains on the view it plays on, the 224 px centre crop of the 256 px image."""

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from game.reveal import centre_crop
from training.datasets import MEAN, STD, ClickMeDataset, Sample


def test_training_view_is_the_game_view():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    image[:16] = 255  # a frame outside the partner's crop that the network must never see
    the_map = np.zeros((256, 256), np.float32)
    the_map[:16] = 1.0
    the_map[100:140, 100:140] = 0.5
    tensor, _label, map_out, has_map = ClickMeDataset([Sample(image, 0, the_map)], 224, augment=False)[0]
    game_view = torch.from_numpy(centre_crop(image, 224).astype(np.float32) / 255).permute(2, 0, 1)
    assert torch.allclose(tensor, TF.normalize(game_view, MEAN, STD), atol=1e-6)
    assert has_map and float(map_out.max()) == 0.5  # the map is cut the same way


def test_augmented_crops_stay_inside_the_game_view():
    image = np.zeros((256, 256, 3), dtype=np.uint8)
    image[:16] = image[-16:] = 255
    image[:, :16] = image[:, -16:] = 255
    dataset = ClickMeDataset([Sample(image, 0, None)], 64, augment=True)
    black = (0.0 - MEAN[0]) / STD[0]
    for _ in range(10):
        tensor = dataset[0][0]
        assert torch.allclose(tensor[0], torch.full_like(tensor[0], black), atol=1e-5)

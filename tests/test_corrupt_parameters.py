"""The parameter tables and size rules against the numbers of shared/CORRUPTIONS.md, and the sizes
of the original frost textures (fetching them: test_texture_download.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from augmix_bench.corrupt import CorruptionSetting, table_for_side, textures


def test_zoom_factor_lists_keep_numpys_float_quirks() -> None:
    counts = {t: [len(CorruptionSetting(t, 224, s).zoom_factors()) for s in range(1, 6)] for t in ("cifar", "imagenet")}
    assert counts == {"cifar": [7, 12, 16, 21, 26], "imagenet": [12, 16, 11, 13, 11]}
    assert CorruptionSetting("cifar", 32, 1).zoom_factors()[-1] == pytest.approx(1.06)
    assert CorruptionSetting("imagenet", 224, 5).zoom_factors()[-1] == pytest.approx(1.30)


def test_sizes_that_follow_the_image_side() -> None:
    sides = {t: [int(s * CorruptionSetting(t, s, k).parameter("pixelate")) for k in range(1, 6)] for t, s in (("cifar", 32), ("imagenet", 224))}
    assert sides == {"cifar": [30, 28, 27, 24, 20], "imagenet": [134, 112, 89, 67, 56]}
    assert CorruptionSetting("cifar", 32, 2).elastic() == pytest.approx((1.6, 6.4, 2.24))
    assert CorruptionSetting("imagenet", 224, 1).elastic() == pytest.approx((488, 170.8, 24.4))
    assert CorruptionSetting("imagenet", 224, 5).elastic() == pytest.approx((29.28, 2.44, 4.88))
    assert [CorruptionSetting("cifar", s, 1).fog_map_size() for s in (32, 33, 48, 64)] == [32, 64, 64, 64]
    assert CorruptionSetting("imagenet", 224, 1).fog_map_size() == 256
    assert [CorruptionSetting("cifar", s, 1).frost_scale() for s in (32, 48)] == [0.2, pytest.approx(0.3)]
    assert [CorruptionSetting("imagenet", s, 1).frost_scale() for s in (96, 224, 448)] == [1.0, 1.0, 2.0]
    assert [table_for_side(s) for s in (32, 64, 65, 224)] == ["cifar", "cifar", "imagenet", "imagenet"]
    assert table_for_side(32, "imagenet") == "imagenet"
    with pytest.raises(ValueError, match="unknown parameter table 'tiny'; choose from: cifar, imagenet"):
        table_for_side(32, "tiny")


def test_frost_textures_have_the_original_sizes(frost_cache: Path) -> None:
    full = [t.shape for t in textures.frost_textures(1.0)]
    assert full == [(600, 900, 3), (315, 560, 3), (315, 560, 3), (350, 527, 3), (495, 660, 3)]
    small = textures.frost_textures(0.2)
    assert [t.shape[:2] for t in small] == [(120, 180), (63, 112), (63, 112), (70, 105), (99, 132)]
    # for these files OpenCV's 0.2 bilinear resize takes pixel (5i + 2, 5j + 2)
    assert np.array_equal(small[3], textures.frost_textures(1.0)[3][2::5, 2::5])

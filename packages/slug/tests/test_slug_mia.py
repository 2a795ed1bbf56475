from __future__ import annotations

import numpy as np
from unlearnkit.slug.mia import mia_accuracy


def test_mia_separable_vs_indistinguishable():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (200, 2)), rng.normal(0, 1, (200, 2))
    assert 35 < mia_accuracy(a, b) < 65
    assert mia_accuracy(a + 5.0, b) > 95

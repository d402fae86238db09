"""The pre-trained loader under hostile sidecars and weight files (issue 19)."""

import json

import numpy as np
import pytest
from flax import nnx

from course_lib import pretrained


@pytest.fixture
def saved(tmp_path):
    model = nnx.Linear(2, 2, rngs=nnx.Rngs(0))
    pretrained.train_or_load("nb/m", (model,), lambda: {"loss": np.zeros(3)}, retrain=True,
                             directory=tmp_path)
    return tmp_path, model


@pytest.mark.parametrize("sidecar", ["[1, 2]", "{}", "{", '{"sha256": 3}', "\udcff"])
def test_a_hand_edited_sidecar_is_one_value_error(saved, sidecar):
    root, model = saved
    (root / "nb" / "m.json").write_text(sidecar, errors="surrogateescape")
    with pytest.raises(ValueError, match="nb/m"):
        pretrained.train_or_load("nb/m", (model,), lambda: {}, retrain=False, directory=root)


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04 broken"])
def test_retraining_over_a_corrupt_weight_file_replaces_it(saved, content):
    root, model = saved
    good = (root / "nb" / "m.npz").read_bytes()
    (root / "nb" / "m.npz").write_bytes(content)
    pretrained.train_or_load("nb/m", (model,), lambda: {"loss": np.zeros(3)}, retrain=True,
                             directory=root)
    assert (root / "nb" / "m.npz").read_bytes() == good
    assert json.loads((root / "nb" / "m.json").read_text())["sha256"] == pretrained.sha256(
        root / "nb" / "m.npz")
    pretrained.train_or_load("nb/m", (model,), lambda: {}, retrain=False, directory=root)

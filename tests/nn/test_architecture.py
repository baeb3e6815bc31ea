"""Module.load on a class: the file records the architecture, and the class builds it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinygrad_edu import CheckpointError, Tensor
from tinygrad_edu.nn import (
    MLP,
    AvgPool2d,
    BatchNorm1d,
    Conv2d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Tanh,
)


def same_outputs(a, b, x):
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(Tensor(x)).data, b(Tensor(x)).data)


def test_mlp_load_as_a_classmethod_builds_the_saved_model(tmp_path):
    model = MLP([3, 5, 2], activation="tanh", rng=0)
    model.save(tmp_path / "m.npz")
    loaded = MLP.load(tmp_path / "m.npz")
    assert type(loaded) is MLP and loaded.sizes == [3, 5, 2]
    assert isinstance(loaded.layers[1], Tanh)
    same_outputs(model, loaded, np.random.default_rng(1).normal(size=(4, 3)))
    same_outputs(model, Module.load(tmp_path / "m.npz"), np.ones((1, 3)))


def test_an_image_model_round_trips_through_its_architecture(tmp_path):
    model = Sequential(
        Conv2d(1, 4, 3, padding=1, rng=0), LeakyReLU(0.2), MaxPool2d(2),
        Conv2d(4, 2, (3, 1), stride=(1, 2), bias=False, rng=1), ReLU(), AvgPool2d((1, 2), stride=1),
        Flatten(), Dropout(0.25), Linear(2, 3, rng=2), BatchNorm1d(3),
    )
    x = np.random.default_rng(0).normal(size=(5, 1, 6, 6))
    model.train()
    model(Tensor(x))  # moves BatchNorm's running statistics away from their start
    model.save(tmp_path / "cnn")
    loaded = Sequential.load(tmp_path / "cnn")
    assert [type(m).__name__ for m in loaded] == [type(m).__name__ for m in model]
    assert loaded[1].slope == 0.2 and loaded[3].stride == (1, 2) and loaded[3].bias is None
    assert loaded[7].p == 0.25
    np.testing.assert_array_equal(loaded[9].running_mean, model[9].running_mean)
    same_outputs(model, loaded, x)


def test_instance_load_and_load_state_dict_still_read_such_files(tmp_path):
    model = MLP([2, 3, 1], rng=0)
    model.save(tmp_path / "m.npz")
    other = MLP([2, 3, 1], rng=5).load(tmp_path / "m.npz")
    same_outputs(model, other, np.ones((2, 2)))
    third = MLP([2, 3, 1], rng=6)
    assert third.load_state_dict(dict(np.load(tmp_path / "m.npz"))) == ([], [])
    same_outputs(model, third, np.ones((2, 2)))


class Net(Module):  # a user's model that does not say how to rebuild it
    def __init__(self):
        super().__init__()
        self.fc = Linear(2, 1, rng=0)

    def forward(self, x):
        return self.fc(x)


class Scaled(Module):  # one that does
    def __init__(self, n, factor):
        super().__init__()
        self.n, self.factor = n, factor
        self.fc = Linear(n, n, rng=0)

    def forward(self, x):
        return self.fc(x) * self.factor

    def config(self):
        return {"n": self.n, "factor": self.factor}


def test_a_model_without_config_loads_into_an_instance_only(tmp_path):
    Net().save(tmp_path / "net.npz")
    with pytest.raises(CheckpointError, match=r"records no architecture.*model.load\(path\)"):
        Net.load(tmp_path / "net.npz")
    assert Net().load(tmp_path / "net.npz").fc.weight.shape == (1, 2)


def test_a_users_class_with_config_round_trips(tmp_path):
    Scaled(3, 2.5).save(tmp_path / "s.npz")
    loaded = Scaled.load(tmp_path / "s.npz")
    assert (loaded.n, loaded.factor) == (3, 2.5)
    same_outputs(Scaled(3, 2.5), loaded, np.eye(3))


def test_the_class_must_match_the_file(tmp_path):
    Linear(2, 2, rng=0).save(tmp_path / "lin.npz")
    with pytest.raises(CheckpointError, match="holds a Linear, not a MLP; use Linear.load"):
        MLP.load(tmp_path / "lin.npz")


def architecture_file(path, spec, **arrays):
    text = json.dumps(spec).encode()
    np.savez(path, __architecture__=np.frombuffer(text, dtype=np.uint8), **arrays)


def test_a_file_can_name_only_classes_already_defined(tmp_path):
    path = tmp_path / "evil.npz"
    architecture_file(path, {"class": "os.system", "config": {"command": "touch pwned"}})
    with pytest.raises(CheckpointError, match="holds a os.system, which is not defined here"):
        Module.load(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"class": "Linear"}, "must be {'class': name, 'config'"),
        ({"class": "Linear", "config": {"in_features": 2}}, "cannot build Linear"),
        ({"class": "Linear", "config": {"in_features": 2, "out_features": 3, "bias": True}},
         "missing keys: weight, bias"),
    ],
)
def test_bad_architectures_are_refused_clearly(tmp_path, spec, message):
    path = tmp_path / "bad.npz"
    architecture_file(path, spec)
    with pytest.raises(CheckpointError, match=message):
        Module.load(path)

"""Tests for tinygrad_edu.nn.module: discovery, modes, state dicts, checkpoints and repr."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from tinygrad_edu import Tensor
from tinygrad_edu.errors import CheckpointError, InvalidArgumentError
from tinygrad_edu.nn import (
    MLP,
    BatchNorm1d,
    Dropout,
    IncompatibleKeys,
    Linear,
    Module,
    ReLU,
    Sequential,
    Tanh,
)


def param(*shape, seed=0, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return Tensor(data, requires_grad=requires_grad)


class Block(Module):
    def __init__(self, seed=0):
        super().__init__()
        self.fc = Linear(3, 3, rng=seed)
        self.scale = param(3, seed=seed)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(Module):
    """Parameters in every place discovery must look: attributes, lists, tuples, dicts."""

    def __init__(self):
        super().__init__()
        self.first = param(2, 3)
        self.stack = [Linear(3, 4, rng=1), Tanh(), Linear(4, 3, rng=2)]
        self.blocks = {"key": Block(3), "other": Block(4)}
        self.pair = (param(1, seed=5), [param(2, seed=6)])
        self.body = Sequential(Linear(3, 3, rng=7), Sequential(BatchNorm1d(3), ReLU()))
        self.constant = param(4, requires_grad=False)
        self.sizes = [2, 3, 4]
        self.nothing = None

    def forward(self, x):
        x = x @ self.first
        for layer in self.stack:
            x = layer(x)
        x = self.blocks["key"](x) + self.blocks["other"](x)
        return self.body(x + self.pair[0] + self.pair[1][0].sum())


NET_PARAMETERS = [
    ("first", (2, 3)),
    ("stack.0.weight", (4, 3)),
    ("stack.0.bias", (4,)),
    ("stack.2.weight", (3, 4)),
    ("stack.2.bias", (3,)),
    ("blocks.key.fc.weight", (3, 3)),
    ("blocks.key.fc.bias", (3,)),
    ("blocks.key.scale", (3,)),
    ("blocks.other.fc.weight", (3, 3)),
    ("blocks.other.fc.bias", (3,)),
    ("blocks.other.scale", (3,)),
    ("pair.0", (1,)),
    ("pair.1.0", (2,)),
    ("body.0.weight", (3, 3)),
    ("body.0.bias", (3,)),
    ("body.1.0.weight", (3,)),
    ("body.1.0.bias", (3,)),
]


def snapshot(model):
    """A copy of every parameter and buffer, to show a failed load changed nothing."""
    return {name: np.array(a) for name, a in model.state_dict().items()}


def assert_unchanged(model, before):
    after = model.state_dict()
    assert list(after) == list(before)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


# ----------------------------------------------------------------------------- discovery


def test_parameters_are_found_in_definition_order_with_dotted_names():
    net = Net()
    assert [(name, p.shape) for name, p in net.named_parameters()] == NET_PARAMETERS
    assert [p.shape for p in net.parameters()] == [shape for _, shape in NET_PARAMETERS]
    assert net.num_parameters() == sum(int(np.prod(s)) for _, s in NET_PARAMETERS) == 88
    assert dict(net.named_parameters())["stack.0.weight"] is net.stack[0].weight


def test_tensors_not_requiring_grad_and_computed_tensors_are_not_parameters():
    class M(Module):
        def __init__(self):
            super().__init__()
            self.w = param(2)
            self.frozen = param(2, requires_grad=False)
            self.cache = self.w * 2  # requires grad but is not a leaf: an activation

    m = M()
    assert m.cache.requires_grad
    assert [name for name, _ in m.named_parameters()] == ["w"]


def test_a_shared_tensor_and_a_shared_module_count_once_under_their_first_name():
    class Tied(Module):
        def __init__(self):
            super().__init__()
            self.encoder = Linear(4, 4, rng=0)
            self.decoder = self.encoder  # the same module again
            self.w = param(4)
            self.again = [self.w, self.encoder.weight]

    m = Tied()
    assert [name for name, _ in m.named_parameters()] == ["encoder.weight", "encoder.bias", "w"]
    assert m.num_parameters() == 16 + 4 + 4
    assert len(m.modules()) == 2
    assert list(m.state_dict()) == ["encoder.weight", "encoder.bias", "w"]


def test_modules_children_and_their_names():
    net = Net()
    children = net.named_children()
    assert [name for name, _ in children] == [
        "stack.0", "stack.1", "stack.2", "blocks.key", "blocks.other", "body"
    ]
    assert [type(m).__name__ for m in net.children()] == [
        "Linear", "Tanh", "Linear", "Block", "Block", "Sequential"
    ]
    names = [name for name, _ in net.named_modules()]
    assert names == [
        "", "stack.0", "stack.1", "stack.2", "blocks.key", "blocks.key.fc", "blocks.other",
        "blocks.other.fc", "body", "body.0", "body.1", "body.1.0", "body.1.1",
    ]
    assert net.modules()[0] is net


def test_a_cycle_back_to_a_parent_does_not_loop():
    outer = Sequential(Linear(2, 2, rng=0))
    outer[0].parent = outer
    assert [name for name, _ in outer.named_parameters()] == ["0.weight", "0.bias"]
    assert "<cycle: Sequential>" in repr(outer)


def test_a_subclass_that_forgets_super_init_still_works():
    class Lazy(Module):
        def __init__(self):
            self.w = param(3)

    m = Lazy()
    assert m.training is True
    assert [name for name, _ in m.named_parameters()] == ["w"]
    m.register_buffer("count", np.zeros(1))
    assert [name for name, _ in m.named_buffers()] == ["count"]


def test_call_runs_forward_and_a_missing_forward_says_so():
    net = Net()
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(net(x).data, net.forward(x).data)
    with pytest.raises(NotImplementedError, match="forward"):
        Module()(x)


# ----------------------------------------------------------------------------- modes and grads


def test_train_and_eval_reach_every_module_and_return_self():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert not net.body[1][0].training and not net.blocks["key"].fc.training
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not any(m.training for m in net.modules())


def test_zero_grad_sets_every_gradient_to_none():
    net = Net()
    x = np.random.default_rng(0).standard_normal((5, 2))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ----------------------------------------------------------------------------- buffers


def test_buffers_are_registered_arrays_in_definition_order():
    net = Net()
    assert [(n, b.tolist()) for n, b in net.named_buffers()] == [
        ("body.1.0.running_mean", [0.0, 0.0, 0.0]),
        ("body.1.0.running_var", [1.0, 1.0, 1.0]),
    ]
    assert net.buffers()[0] is net.body[1][0].running_mean


def test_register_buffer_validates_and_copies():
    m = Module()
    source = np.arange(3.0)
    m.register_buffer("stats", source)
    source[0] = 99.0
    assert m.stats.tolist() == [0.0, 1.0, 2.0]
    m.register_buffer("stats", np.ones(2))  # re-registering replaces, without a second name
    assert [name for name, _ in m.named_buffers()] == ["stats"]
    with pytest.raises(InvalidArgumentError, match="attribute name"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(InvalidArgumentError, match="numeric"):
        m.register_buffer("names", np.array(["x"]))


# ----------------------------------------------------------------------------- state dicts


def test_state_dict_holds_copies_of_every_parameter_and_buffer():
    net = Net()
    state = net.state_dict()
    assert list(state) == [
        *[name for name, _ in NET_PARAMETERS[:15]],
        "body.1.0.weight", "body.1.0.bias", "body.1.0.running_mean", "body.1.0.running_var",
    ]
    before = net.first.data.copy()
    state["first"][...] = 123.0
    state["body.1.0.running_mean"][...] = 7.0
    np.testing.assert_array_equal(net.first.data, before)
    assert net.body[1][0].running_mean.tolist() == [0.0, 0.0, 0.0]
    net.first.data[...] = -1.0
    assert (state["first"] == 123.0).all()


def test_load_state_dict_copies_in_place_and_casts_to_the_parameter_dtype():
    src, dst = MLP([2, 5, 3], rng=0), MLP([2, 5, 3], rng=1)
    held = dst.parameters()  # what an optimiser would hold
    arrays = [p.data for p in held]
    state = {k: v.astype(np.float64) for k, v in src.state_dict().items()}
    assert dst.load_state_dict(state) == IncompatibleKeys([], [])
    for p, a, (name, value) in zip(held, arrays, src.state_dict().items()):
        assert p.data is a, name  # the same arrays, filled in place
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.data, value)
    state["layers.0.weight"][...] = 5.0
    assert (dst.layers[0].weight.data != 5.0).all()


def test_load_state_dict_refuses_bad_states_and_changes_nothing():
    model = MLP([2, 4, 1], rng=0)
    before = snapshot(model)
    good = MLP([2, 4, 1], rng=1).state_dict()
    cases = {
        "missing keys: layers.2.bias": {k: v for k, v in good.items() if k != "layers.2.bias"},
        "unexpected keys: extra": {**good, "extra": np.zeros(1)},
        r"'layers.0.weight': shape \(2, 4\) does not match the model's \(4, 2\)": {
            **good, "layers.0.weight": np.zeros((2, 4))
        },
        "'layers.0.bias': dtype object is not numeric": {
            **good, "layers.0.bias": np.array([None] * 4, dtype=object)
        },
        "'layers.0.bias': dtype <U1 is not numeric": {**good, "layers.0.bias": np.array(["a"] * 4)},
        "expected a mapping": [("layers.0.weight", np.zeros((4, 2)))],
    }
    for message, state in cases.items():
        with pytest.raises(CheckpointError, match=message):
            model.load_state_dict(state)
        assert_unchanged(model, before)


def test_load_state_dict_names_every_problem_at_once():
    model = Linear(2, 3, rng=0)
    with pytest.raises(CheckpointError) as exc:
        model.load_state_dict({"weight": np.zeros((2, 2)), "bais": np.zeros(3)})
    message = str(exc.value)
    assert "missing keys: bias" in message
    assert "unexpected keys: bais" in message
    assert "'weight': shape (2, 2)" in message


def test_non_strict_loading_skips_and_reports_keys_but_still_checks_shapes():
    model = Linear(2, 3, rng=0)
    bias = model.bias.data.copy()
    keys = model.load_state_dict({"weight": np.ones((3, 2)), "extra": 1.0}, strict=False)
    assert keys == IncompatibleKeys(missing_keys=["bias"], unexpected_keys=["extra"])
    np.testing.assert_array_equal(model.weight.data, np.ones((3, 2)))
    np.testing.assert_array_equal(model.bias.data, bias)
    with pytest.raises(CheckpointError, match="shape"):
        model.load_state_dict({"weight": np.ones((2, 3))}, strict=False)


# ----------------------------------------------------------------------------- save and load


def trained_model():
    """An MLP with BatchNorm whose running statistics have moved away from their defaults."""
    model = Sequential(MLP([3, 8, 4], rng=0), BatchNorm1d(4), Dropout(0.3, rng=0))
    x = np.random.default_rng(1).standard_normal((16, 3))
    for _ in range(3):
        model(x)
    return model.eval()


def fresh_model():
    return Sequential(MLP([3, 8, 4], rng=99), BatchNorm1d(4), Dropout(0.3, rng=0)).eval()


@pytest.mark.parametrize("filename", ["model.npz", "model", "model.ckpt", "with.dots.v2"])
def test_save_then_load_restores_outputs_exactly(tmp_path, filename):
    model = trained_model()
    path = tmp_path / filename
    model.save(path)
    assert sorted(os.listdir(tmp_path)) == [filename]  # exactly the path given, nothing else
    x = np.random.default_rng(2).standard_normal((5, 3))
    expected = model(x).data
    other = fresh_model()
    assert not np.array_equal(other(x).data, expected)
    assert other.load(str(path)) is other
    np.testing.assert_array_equal(other(x).data, expected)
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert other[1].running_var.tolist() != [1.0] * 4


def test_load_also_finds_numpy_s_own_npz_suffix(tmp_path):
    model = Linear(2, 2, rng=0)
    np.savez(tmp_path / "weights", **model.state_dict())  # numpy writes weights.npz
    other = Linear(2, 2, rng=1).load(tmp_path / "weights")
    np.testing.assert_array_equal(other.weight.data, model.weight.data)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        other.load(tmp_path / "absent")


def write_tampered(path, state, **changes):
    np.savez(path, **{**state, **changes})


def test_tampered_files_are_refused_and_the_model_is_unchanged(tmp_path):
    model = trained_model()
    before = snapshot(model)
    good = fresh_model().state_dict()
    files = {}
    files["extra"] = tmp_path / "extra.npz"
    write_tampered(files["extra"], good, extra=np.zeros(2))
    files["shape"] = tmp_path / "shape.npz"
    write_tampered(files["shape"], good, **{"0.layers.0.weight": np.zeros((3, 8))})
    files["missing"] = tmp_path / "missing.npz"
    np.savez(files["missing"], **{k: v for k, v in good.items() if k != "1.running_var"})
    files["object"] = tmp_path / "object.npz"
    np.savez(
        files["object"],
        allow_pickle=True,
        **{**good, "0.layers.0.bias": np.array([{"code": "run me"}] * 8, dtype=object)},
    )
    files["npy"] = tmp_path / "single.npy"
    np.save(files["npy"], np.zeros(3))
    files["text"] = tmp_path / "text.npz"
    files["text"].write_text("not a checkpoint")
    files["empty"] = tmp_path / "empty.npz"
    files["empty"].write_bytes(b"")
    model.save(tmp_path / "whole.npz")
    files["truncated"] = tmp_path / "truncated.npz"
    files["truncated"].write_bytes((tmp_path / "whole.npz").read_bytes()[:200])
    messages = {
        "extra": "unexpected keys: extra",
        "shape": r"'0.layers.0.weight': shape \(3, 8\)",
        "missing": "missing keys: 1.running_var",
        "object": "cannot be read without pickle",
        "npy": "single array",
        "text": "pickle",
        "empty": "not a readable",
        "truncated": "not a readable",
    }
    for kind, path in files.items():
        with pytest.raises(CheckpointError, match=messages[kind]):
            model.load(path)
        assert_unchanged(model, before)


def test_an_object_array_is_not_unpickled(tmp_path, monkeypatch):
    import pickle

    def forbidden(*args, **kwargs):
        raise AssertionError("loading a checkpoint must never unpickle")

    model = Linear(2, 2, rng=0)
    path = tmp_path / "evil.npz"
    np.savez(path, allow_pickle=True, weight=np.array([[object()] * 2] * 2), bias=np.zeros(2))
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    with pytest.raises(CheckpointError, match="'weight'"):
        model.load(path)


def test_a_crash_while_saving_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = Linear(2, 3, rng=0)
    old.save(path)
    old_bytes = path.read_bytes()

    def crashing_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half an archive")  # some bytes reach the disk, then the crash
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(KeyboardInterrupt):
        Linear(2, 3, rng=1).save(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"]
    assert path.read_bytes() == old_bytes
    restored = Linear(2, 3, rng=5).load(path)
    np.testing.assert_array_equal(restored.weight.data, old.weight.data)


def test_a_crash_on_the_first_save_leaves_nothing(tmp_path, monkeypatch):
    def crashing_savez(file, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="disk full"):
        Linear(2, 3, rng=1).save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []


def test_a_saved_file_is_a_plain_npz_of_the_state_dict(tmp_path):
    model = trained_model()
    model.save(tmp_path / "m.npz")
    assert zipfile.is_zipfile(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        # the state_dict's arrays, and the architecture when the model can record it
        files = [f for f in archive.files if f != "__architecture__"]
        assert files == list(model.state_dict())
        if model.config() is not None:
            assert archive["__architecture__"].dtype == np.uint8


def test_save_refuses_names_np_savez_would_take_as_arguments(tmp_path):
    class Odd(Module):
        def __init__(self):
            super().__init__()
            self.file = param(2)

    with pytest.raises(InvalidArgumentError, match="file"):
        Odd().save(tmp_path / "odd.npz")
    with pytest.raises(FileNotFoundError, match="directory"):
        Linear(2, 2).save(tmp_path / "no" / "such" / "dir.npz")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- repr


def test_repr_is_a_tree_ending_with_the_parameter_count():
    model = MLP([2, 32, 32, 1], activation="tanh", rng=0)
    text = repr(model)
    assert text == (
        "MLP(\n"
        "  (layers): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=32, bias=True)\n"
        "    (1): Tanh()\n"
        "    (2): Linear(in_features=32, out_features=32, bias=True)\n"
        "    (3): Tanh()\n"
        "    (4): Linear(in_features=32, out_features=1, bias=True)\n"
        "  )\n"
        ")\n"
        "Trainable parameters: 1,185"
    )
    assert model.num_parameters() == 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1 == 1185


def test_repr_of_custom_modules_shows_their_parameters_and_counts_once():
    net = Net()
    text = repr(net)
    assert text.count("Trainable parameters") == 1
    assert text.endswith("Trainable parameters: 88")
    assert "(first): Parameter(shape=(2, 3), dtype=float64)" in text
    assert "(blocks.key): Block(\n" in text
    assert "(stack.0): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "BatchNorm1d(3, eps=1e-05, momentum=0.1)" in text
    assert repr(ReLU()) == "ReLU()"
    assert repr(Linear(2, 3, bias=False)) == (
        "Linear(in_features=2, out_features=3, bias=False)\nTrainable parameters: 6"
    )

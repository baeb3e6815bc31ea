"""Checkpoint files: written atomically, read without pickle, validated before anything changes.

A crash while saving (simulated by a ``numpy.savez`` that writes half an archive and then
fails) must leave the previous file byte for byte and no temporary file behind. A tampered
or damaged file must raise CheckpointError and leave every parameter and every optimiser
state exactly as it was (same values, same arrays).
"""

import os
import pickle
import re
import struct
import zipfile

import numpy as np
import pytest

import tinygrad_edu.checkpoint as checkpoint
from tinygrad_edu import CheckpointError, Tensor, TinygradEduError, no_grad
from tinygrad_edu.losses import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD, AdaGrad, Adam, RMSProp

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0]], dtype=np.float32)
Y = np.array([0, 1, 2, 1])


def train(model, opt, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture
def trained():
    """A small model and an Adam optimiser with non-trivial state, both saved in tmp."""
    model = MLP([2, 3, 3], rng=0)
    opt = Adam(model.parameters(), lr=0.01)
    train(model, opt, 3)
    return model, opt


def model_snapshot(model):
    return [(name, id(p.data), p.data.copy()) for name, p in model.named_parameters()]


def assert_model_unchanged(model, snapshot):
    now = model.named_parameters()
    assert [n for n, _ in now] == [n for n, _, _ in snapshot]
    for (name, p), (_, ident, values) in zip(now, snapshot):
        assert id(p.data) == ident, f"{name}: the array was replaced"
        np.testing.assert_array_equal(p.data, values, err_msg=name)


def opt_snapshot(opt):
    return opt.state, opt.state_dict(), [[id(a) for a in s.values()] for s in opt.state]


def assert_opt_unchanged(opt, snapshot):
    state, saved, ids = snapshot
    assert opt.state is state
    assert [[id(a) for a in s.values()] for s in opt.state] == ids
    now = opt.state_dict()
    assert now.keys() == saved.keys()
    for key, value in saved.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(now[key], value, err_msg=key)
        else:
            assert now[key] == value, key


def files_in(folder) -> list[str]:
    return sorted(os.listdir(folder))


# ----------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("what", ["model", "optimizer"])
@pytest.mark.parametrize("crash", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_a_crash_mid_save_leaves_the_previous_file_intact(trained, tmp_path, monkeypatch,
                                                          what, crash):
    model, opt = trained
    obj = model if what == "model" else opt
    path = tmp_path / f"{what}.npz"
    obj.save(path)
    old = path.read_bytes()
    train(model, opt, 1)  # the next save would write different numbers
    during = []

    def crashing_savez(file, *args, **kwds):
        file.write(b"PK\x03\x04" + b"half an archive" * 20)
        file.flush()
        during.append(files_in(tmp_path))
        # While the new archive is being written, the target still holds the old one.
        assert path.read_bytes() == old
        raise crash

    monkeypatch.setattr(checkpoint.np, "savez", crashing_savez)
    with pytest.raises(type(crash)):
        obj.save(path)
    monkeypatch.undo()
    # The new archive went to a temporary file beside the target, not to the target.
    assert len(during) == 1 and len(during[0]) == 2 and f"{what}.npz" in during[0]
    assert path.read_bytes() == old
    assert files_in(tmp_path) == [f"{what}.npz"]  # no temporary file left behind
    # The old checkpoint still loads.
    if what == "model":
        MLP([2, 3, 3], rng=5).load(path)
    else:
        Adam(MLP([2, 3, 3], rng=5).parameters(), lr=0.5).load(path)


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_crash_while_finishing_the_save_leaves_the_previous_file(trained, tmp_path,
                                                                   monkeypatch, step):
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    old = path.read_bytes()
    with no_grad():
        model.parameters()[0] += 1.0

    def fail(*args):
        raise OSError(5, f"{step} failed")

    monkeypatch.setattr(checkpoint.os, step, fail)
    with pytest.raises(OSError, match=f"{step} failed"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert files_in(tmp_path) == ["model.npz"]


def test_a_crash_during_the_first_save_leaves_nothing(trained, tmp_path, monkeypatch):
    model, _ = trained

    def crashing_savez(file, *args, **kwds):
        file.write(b"PK\x03\x04")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.np, "savez", crashing_savez)
    with pytest.raises(OSError):
        model.save(tmp_path / "model.npz")
    assert files_in(tmp_path) == []


def test_a_save_writes_exactly_the_given_path(trained, tmp_path):
    model, opt = trained
    model.save(tmp_path / "weights")
    opt.save(tmp_path / "opt.state")
    assert files_in(tmp_path) == ["opt.state", "weights"]
    assert zipfile.is_zipfile(tmp_path / "weights")


# ----------------------------------------------------------------------------- tampered models


def _savez(path, arrays, **kw):
    with open(path, "wb") as f:  # a file object: numpy then writes exactly this name
        np.savez(f, **arrays, **kw)


def _edit(change):
    def make(path, state):
        state = dict(state)
        change(state)
        _savez(path, state)

    return make


def _object_array(path, state):
    state = dict(state)
    state["layers.0.bias"] = np.array([1.0, "x", None], dtype=object)
    _savez(path, state, allow_pickle=True)


def _pickle_file(path, state):
    with open(path, "wb") as f:
        pickle.dump(dict(state), f)


def _truncated(path, state):
    _savez(path, state)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _cut_tail(path, state):
    _savez(path, state)
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])  # the end of the central directory is gone


def _single_array(path, state):
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


def _text(path, state):
    path.write_text("weights: 1 2 3\n")


def _empty(path, state):
    path.write_bytes(b"")


def _directory(path, state):
    path.mkdir()


def _unsupported_zip_feature(path, state):
    """The central directory asks for a newer zip version (as a damaged byte can)."""
    _savez(path, state)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02")  # the first central directory record
    struct.pack_into("<H", raw, at + 6, 210)  # "version needed to extract": 21.0
    path.write_bytes(bytes(raw))


TAMPERED_MODEL = {
    "extra-key": (_edit(lambda s: s.update(extra=np.zeros(2))), ["unexpected keys: extra"]),
    "missing-key": (_edit(lambda s: s.pop("layers.2.bias")), ["missing keys: layers.2.bias"]),
    "wrong-shape": (_edit(lambda s: s.update({"layers.0.bias": np.zeros(5)})),
                    ["'layers.0.bias'", r"\(5,\)", r"\(3,\)"]),
    "strings": (_edit(lambda s: s.update({"layers.0.bias": np.array(["a", "b", "c"])})),
                ["'layers.0.bias'", "<U1", "not numeric"]),
    "bools": (_edit(lambda s: s.update({"layers.0.bias": np.array([True, False, True])})),
              ["'layers.0.bias'", "bool"]),
    "complex": (_edit(lambda s: s.update({"layers.0.bias": np.zeros(3, complex)})),
                ["'layers.0.bias'", "complex128"]),
    "object-array": (_object_array, ["'layers.0.bias'", "pickle"]),
    "pickle-renamed": (_pickle_file, ["pickle", "refused"]),
    "truncated": (_truncated, ["not a readable .npz"]),
    "cut-tail": (_cut_tail, ["not a readable .npz"]),
    "single-array": (_single_array, ["single array", r"\(3,\)"]),
    "text": (_text, []),
    "empty": (_empty, []),
    "directory": (_directory, []),
    "unsupported-zip-feature": (_unsupported_zip_feature, []),
}


@pytest.mark.parametrize("make, patterns", TAMPERED_MODEL.values(), ids=TAMPERED_MODEL.keys())
def test_a_tampered_model_file_raises_and_changes_nothing(trained, tmp_path, make, patterns):
    model, _ = trained
    path = tmp_path / "model.npz"
    make(path, MLP([2, 3, 3], rng=7).state_dict())
    before = model_snapshot(model)
    with pytest.raises(Exception) as excinfo:
        model.load(path)
    err = excinfo.value
    assert type(err) is CheckpointError, f"{type(err).__name__}: {err}"
    assert isinstance(err, ValueError) and isinstance(err, TinygradEduError)
    message = str(err)
    assert repr(str(path)) in message, message  # names the file
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in {message}"
    assert_model_unchanged(model, before)


def test_load_state_dict_lists_every_problem_and_changes_nothing(trained):
    model, _ = trained
    state = model.state_dict()
    state["layers.0.weight"] = np.zeros((4, 4))
    state["layers.2.bias"] = np.array(["x", "y", "z"])
    state["surprise"] = np.zeros(1)
    before = model_snapshot(model)
    with pytest.raises(CheckpointError) as excinfo:
        model.load_state_dict(state)
    message = str(excinfo.value)
    for part in ("nothing was changed", "unexpected keys: surprise", "'layers.0.weight'",
                 "(4, 4)", "'layers.2.bias'"):
        assert part in message, message
    assert_model_unchanged(model, before)


def test_every_single_byte_corruption_is_refused_or_harmless(trained, tmp_path):
    """Flip each byte of a checkpoint in turn: the load raises CheckpointError (model
    unchanged) or, where the byte is metadata nobody reads, loads exactly the saved numbers."""
    model, _ = trained
    path, damaged = tmp_path / "model.npz", tmp_path / "damaged.npz"
    MLP([2, 3, 3], rng=7).save(path)
    expected = MLP([2, 3, 3], rng=7).state_dict()
    raw = path.read_bytes()
    escaped = {}
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0xFF
        damaged.write_bytes(bytes(flipped))
        before = model_snapshot(model)
        try:
            model.load(damaged)
        except CheckpointError:
            assert_model_unchanged(model, before)
            continue
        except Exception as exc:  # noqa: BLE001  (collected and reported below)
            escaped.setdefault(type(exc).__name__, []).append(i)
            assert_model_unchanged(model, before)
            continue
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, expected[name], err_msg=f"byte {i}: {name}")
    assert not escaped, f"errors other than CheckpointError at byte offsets: {escaped}"


# ----------------------------------------------------------------------------- tampered optimisers


def _opt_edit(change, **kw):
    def make(path, state):
        state = dict(state)
        change(state)
        _savez(path, state, **kw)

    return make


def _other_optimizer(path, state):
    SGD(MLP([2, 3, 3], rng=0).parameters(), lr=0.1, momentum=0.9).save(path)


def _fewer_params(path, state):
    Adam(MLP([2, 3, 3], rng=0).parameters()[:2], lr=0.1).save(path)


def _set(key, value):
    return lambda s: s.update({key: value})


TAMPERED_OPT = {
    "extra-key": (_opt_edit(_set("state.0.extra", np.zeros((3, 2)))), ["unexpected", "extra"]),
    "missing-state": (_opt_edit(lambda s: s.pop("state.1.v")), ["missing", "state.1.v"]),
    "missing-hyper": (_opt_edit(lambda s: s.pop("eps")), ["missing", "eps"]),
    "wrong-shape": (_opt_edit(_set("state.0.m", np.zeros((2, 3)))),
                    ["state.0.m", r"\(2, 3\)", r"\(3, 2\)"]),
    "wrong-param-shape": (_opt_edit(_set("shape.0", (2, 3))), ["parameter 0", r"\(3, 2\)"]),
    "strings": (_opt_edit(_set("state.0.m", np.full((3, 2), "x"))), ["state.0.m", "<U1"]),
    "string-lr": (_opt_edit(_set("lr", "fast")), ["lr", "fast"]),
    "nan-lr": (_opt_edit(_set("lr", float("nan"))), ["lr", "nan"]),
    "negative-step": (_opt_edit(_set("step_count", -3)), ["step_count", "-3"]),
    "float-step-counter": (_opt_edit(_set("state.0.step", np.array(2.5))), ["state.0.step"]),
    "object-array": (_opt_edit(_set("state.0.m", np.array([None] * 6, dtype=object)
                                    .reshape(3, 2)), allow_pickle=True), ["state.0.m", "pickle"]),
    "other-optimizer": (_other_optimizer, ["'SGD'", "'Adam'"]),
    "fewer-params": (_fewer_params, ["2 parameters", "4"]),
    "pickle-renamed": (_pickle_file, ["pickle"]),
    "truncated": (_truncated, ["not a readable .npz"]),
    "unsupported-zip-feature": (_unsupported_zip_feature, []),
}


@pytest.mark.parametrize("make, patterns", TAMPERED_OPT.values(), ids=TAMPERED_OPT.keys())
def test_a_tampered_optimizer_file_raises_and_changes_nothing(trained, tmp_path, make,
                                                              patterns):
    model, opt = trained
    path = tmp_path / "opt.npz"
    opt.save(path)
    make(path, dict(np.load(path)))
    before, params = opt_snapshot(opt), model_snapshot(model)
    with pytest.raises(Exception) as excinfo:
        opt.load(path)
    err = excinfo.value
    assert type(err) is CheckpointError, f"{type(err).__name__}: {err}"
    assert isinstance(err, ValueError)
    message = str(err)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in {message}"
    assert_opt_unchanged(opt, before)
    assert_model_unchanged(model, params)
    # ... and it still trains as before.
    train(model, opt, 1)


# ----------------------------------------------------------------------------- exact resumption

OPTIMISERS = {
    "SGD-nesterov": lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "Adam": lambda p: Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3),
    "RMSProp": lambda p: RMSProp(p, lr=0.01, decay=0.8),
    "AdaGrad": lambda p: AdaGrad(p, lr=0.1),
}


@pytest.mark.parametrize("make_opt", OPTIMISERS.values(), ids=OPTIMISERS.keys())
def test_a_checkpoint_round_trip_resumes_training_exactly(tmp_path, make_opt):
    model = MLP([2, 8, 3], rng=0)
    opt = make_opt(model.parameters())
    train(model, opt, 5)
    model.save(tmp_path / "model.npz")
    opt.save(tmp_path / "opt.npz")
    expected_losses = train(model, opt, 5)

    # A different model and an optimiser built with other hyper-parameters: load restores all.
    model2 = MLP([2, 8, 3], rng=1)
    opt2 = type(opt)(model2.parameters(), lr=0.5)
    model2.load(tmp_path / "model.npz")
    opt2.load(tmp_path / "opt.npz")
    assert opt2.step_count == 5
    assert train(model2, opt2, 5) == expected_losses  # bit for bit
    for (name, a), b in zip(model.named_parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert opt2.step_count == opt.step_count == 10
    assert opt2.state_dict().keys() == opt.state_dict().keys()


def test_loading_never_unpickles(tmp_path):
    """A pickle that would run code if loaded: load refuses it before anything runs."""
    ran = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(ran), "w"))

    path = tmp_path / "model.npz"
    with open(path, "wb") as f:
        pickle.dump(Payload(), f)
    model = MLP([2, 3, 3], rng=0)
    with pytest.raises(CheckpointError):
        model.load(path)
    with pytest.raises(CheckpointError):
        Adam(model.parameters(), lr=0.1).load(path)
    assert not ran.exists()
    assert isinstance(model.parameters()[0], Tensor)

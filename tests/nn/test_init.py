"""Tests for tinygrad_edu.nn.init: the statistics of every initialiser, and the notes' claim."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.nn import Linear, init

# (initialiser, expected std for a weight of shape (fan_out, fan_in))
STD_FORMULAS = {
    "normal_fan_in": lambda fan_in, fan_out: 1 / math.sqrt(fan_in),
    "xavier_uniform": lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3),
    "xavier_normal": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "he_normal": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "standard_normal": lambda fan_in, fan_out: 1.0,
}


@pytest.mark.parametrize("name", sorted(STD_FORMULAS))
@pytest.mark.parametrize("shape", [(400, 500), (1000, 50), (300000,)])
def test_std_and_mean_follow_the_formula(name, shape):
    w = getattr(init, name)(shape, rng=0)
    fan_in, fan_out = (shape[1], shape[0]) if len(shape) == 2 else (shape[0], shape[0])
    expected = STD_FORMULAS[name](fan_in, fan_out)
    assert w.shape == shape
    assert w.dtype == np.float64
    # 2e5 or more draws: the sample std is within ~0.2% of the true one; 3% is many sigmas.
    assert abs(w.std() / expected - 1) < 0.03
    assert abs(w.mean()) < 0.01 * expected


def test_xavier_uniform_stays_inside_its_bounds_and_reaches_them():
    w = init.xavier_uniform((300, 700), rng=1)
    r = math.sqrt(6 / (300 + 700))
    assert np.abs(w).max() <= r
    assert w.max() > 0.999 * r and w.min() < -0.999 * r
    # Uniform: a quarter of the draws in each quarter of [-r, r].
    counts, _ = np.histogram(w, bins=4, range=(-r, r))
    np.testing.assert_allclose(counts / w.size, 0.25, atol=0.01)


def test_normal_initialisers_are_gaussian_not_just_the_right_width():
    w = init.he_normal((500, 400), rng=2) / math.sqrt(2 / 400)
    # P(|Z| < 1) = 0.6827 and P(|Z| < 2) = 0.9545 for a standard normal.
    assert abs(np.mean(np.abs(w) < 1) - 0.6827) < 0.01
    assert abs(np.mean(np.abs(w) < 2) - 0.9545) < 0.01


def test_fans_of_one_two_and_more_dimensions():
    assert init.fans((7,)) == (7, 7)
    assert init.fans((16, 2)) == (2, 16)
    assert init.fans((4, 3, 5)) == (15, 20)
    assert init.fans((4, 3, 2, 2)) == (12, 16)
    with pytest.raises(InvalidArgumentError, match="at least one dimension"):
        init.fans(())


def test_a_one_dimensional_shape_counts_its_length_as_both_fans():
    w = init.xavier_uniform((10,), rng=0)
    assert w.shape == (10,)
    assert np.abs(w).max() <= math.sqrt(6 / 20)
    assert init.normal_fan_in(5, rng=0).shape == (5,)


@pytest.mark.parametrize("name", sorted(init.INITIALIZERS))
def test_the_same_seed_gives_the_same_array_and_a_generator_continues_its_stream(name):
    f = init.INITIALIZERS[name]
    a = f((6, 4), rng=123)
    b = f((6, 4), rng=123)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64
    if name != "zeros":
        assert not np.array_equal(a, f((6, 4), rng=124))
        gen = np.random.default_rng(5)
        first, second = f((6, 4), rng=gen), f((6, 4), rng=gen)
        assert not np.array_equal(first, second)
        np.testing.assert_array_equal(first, f((6, 4), rng=np.random.default_rng(5)))


def test_zeros_is_all_zero():
    np.testing.assert_array_equal(init.zeros((3, 2)), np.zeros((3, 2)))


def test_bad_arguments_raise_invalid_argument_errors():
    with pytest.raises(InvalidArgumentError, match="seed"):
        init.normal_fan_in((2, 2), rng=-1)
    with pytest.raises(InvalidArgumentError, match="rng"):
        init.normal_fan_in((2, 2), rng="seed")
    with pytest.raises(InvalidArgumentError, match="rng"):
        init.normal_fan_in((2, 2), rng=True)
    with pytest.raises(InvalidArgumentError, match="negative"):
        init.standard_normal((2, -1))
    with pytest.raises(InvalidArgumentError, match="ints"):
        init.standard_normal((2.5, 2))
    with pytest.raises(InvalidArgumentError, match="fan_in=0"):
        init.normal_fan_in((3, 0))


def test_unknown_names_list_the_valid_ones():
    assert init.get_initializer("fan_in") is init.normal_fan_in
    assert init.get_initializer("xavier_uniform") is init.xavier_uniform
    custom = lambda shape, rng: np.ones(shape)  # noqa: E731
    assert init.get_initializer(custom) is custom
    with pytest.raises(InvalidArgumentError) as exc:
        init.get_initializer("kaiming")
    for name in ("'fan_in'", "'xavier_uniform'", "'xavier_normal'", "'he_normal'", "'zeros'"):
        assert name in str(exc.value)


# --------------------------------------------------- the course notes on weight initialisation


def _unit_outputs(init_name: str, units: int = 4000, inputs: int = 1000) -> np.ndarray:
    """z = W x + b for 1000 inputs all equal to 1, one z per unit, with b ~ N(0, 1).

    Each row of a (units, 1000) weight is one independent draw of the note's single unit.
    """
    tinygrad_edu.set_default_dtype(np.float64)
    layer = Linear(inputs, units, init=init_name, rng=0)
    layer.bias.data[...] = np.random.default_rng(1).standard_normal(units)
    return layer(np.ones(inputs)).data


def test_initialisation_notes_standard_normal_weights_give_z_a_std_of_sqrt_1001():
    z = _unit_outputs("standard_normal")
    assert abs(z.std() / math.sqrt(1001) - 1) < 0.05
    # tanh'(z) = 1 - tanh(z)^2 is almost zero for most units: they start saturated.
    assert np.mean(1 - np.tanh(z) ** 2) < 0.05


def test_initialisation_notes_fan_in_weights_give_z_a_std_of_sqrt_2():
    z = _unit_outputs("fan_in")
    assert abs(z.std() / math.sqrt(2) - 1) < 0.05
    assert np.mean(1 - np.tanh(z) ** 2) > 0.45

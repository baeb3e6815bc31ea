"""expand_grid: every combination in order, and a clear error for every malformed grid."""

import pytest

from tinygrad_edu.errors import InvalidArgumentError
from tinygrad_edu.tune import expand_grid


def test_dict_of_lists_is_the_cartesian_product_first_key_slowest():
    settings = expand_grid({"lr": [0.1, 0.01], "momentum": (0.0, 0.5, 0.9)})
    assert settings == [
        {"lr": 0.1, "momentum": 0.0},
        {"lr": 0.1, "momentum": 0.5},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.01, "momentum": 0.0},
        {"lr": 0.01, "momentum": 0.5},
        {"lr": 0.01, "momentum": 0.9},
    ]


def test_list_of_dicts_concatenates_their_expansions():
    grid = [{"opt": ["sgd"], "lr": [0.1, 1.0]}, {"opt": ["adam"], "lr": [1e-3]}]
    assert expand_grid(grid) == [
        {"opt": "sgd", "lr": 0.1},
        {"opt": "sgd", "lr": 1.0},
        {"opt": "adam", "lr": 1e-3},
    ]


@pytest.mark.parametrize(
    "grid, words",
    [
        ({}, ["empty"]),
        ([], ["empty list"]),
        ({"lr": 0.1}, ["'lr'", "must be a list", "[0.1]"]),
        ({"lr": "0.1"}, ["'lr'", "must be a list"]),
        ({"lr": []}, ["'lr'", "empty"]),
        ({"rng": [0, 1]}, ["'rng'", "seed="]),
        ({"not a name": [1]}, ["'not a name'", "keyword"]),
        ([{"lr": [0.1]}, 3], ["grid[1]", "dict of lists"]),
        ("lr=0.1", ["dict of lists", "str"]),
    ],
)
def test_malformed_grids_are_refused_with_a_message_that_says_why(grid, words):
    with pytest.raises(InvalidArgumentError) as info:
        expand_grid(grid, op="grid_search")
    message = str(info.value)
    assert message.startswith("grid_search:")
    for word in words:
        assert word in message

"""Scratch buffers as views of one array per dtype (tinygrad_edu.buffers)."""

from __future__ import annotations

import numpy as np

from tinygrad_edu.buffers import one_array_views


def test_views_have_the_shapes_and_dtypes_and_share_one_array_per_dtype():
    f32 = np.float32
    like = [np.zeros((3, 2)), np.zeros(5, f32), np.zeros((0, 4)), np.zeros(1)]
    like.append(np.zeros((2, 2), f32))
    flats, views = one_array_views(like)
    assert [f.dtype for f in flats] == [np.float64, np.float32]  # in order of first appearance
    assert [f.size for f in flats] == [6 + 0 + 1, 5 + 4]
    assert [(v.shape, v.dtype) for v in views] == [(a.shape, a.dtype) for a in like]
    for v in views:
        assert any(np.shares_memory(v, f) for f in flats) or v.size == 0
    for k, v in enumerate(views):  # every view writes into its flat array, none overlaps another
        v[...] = k + 1
    np.testing.assert_array_equal(flats[0], [1] * 6 + [4])
    np.testing.assert_array_equal(flats[1], [2] * 5 + [5] * 4)


def test_one_dot_over_a_flat_array_sees_a_nan_in_any_view():
    flats, views = one_array_views([np.zeros((4, 4)), np.zeros(3)])
    for v in views:
        v[...] = 0.5
    assert np.isfinite(np.vdot(flats[0], flats[0]))
    views[1][2] = np.nan
    assert np.isnan(np.vdot(flats[0], flats[0]))


def test_no_arrays_give_no_buffers():
    assert one_array_views([]) == ([], [])

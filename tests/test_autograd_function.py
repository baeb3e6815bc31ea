"""Users' own operations: subclassing the public Function, both spellings, and what the engine
checks about the gradients a backward returns."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_edu import BackwardError, DTypeError, Function, ShapeError, Tensor
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.testing import strategies as tst


def t64(values, requires_grad=True):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----------------------------------------------------------------------------- the engine's style


class Cube(Function):
    """z = x^3.  VJP: dL/dx = 3 x^2 g"""

    def forward(self, x):
        return x**3

    def backward(self, g, out, x):
        return 3 * x**2 * g


class ScaledProduct(Function):
    """z = s * x * y with a constant s.  VJP: dL/dx = s g y, dL/dy = s g x"""

    def forward(self, x, y, s=1.0):
        self.s = s
        return s * x * y

    def backward(self, g, out, x, y):
        return self.s * g * y, self.s * g * x


def test_function_is_exported_from_the_package():
    import tinygrad_edu
    from tinygrad_edu.autograd import Function as EngineFunction

    assert tinygrad_edu.Function is EngineFunction
    assert "Function" in tinygrad_edu.__all__


def test_a_user_op_gives_exact_gradients_and_passes_both_checks():
    x = t64([1.0, -2.0, 0.5])
    Cube.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 12.0, 0.75])
    assert gradcheck(Cube.apply, [t64([1.0, -2.0, 0.5])])
    assert gradgradcheck(Cube.apply, [t64([1.0, -2.0, 0.5])])


def test_a_two_input_user_op_with_a_parameter_and_broadcasting():
    x = t64([[1.0, 2.0], [3.0, 4.0]])
    y = t64([10.0, -1.0])  # broadcast over the rows: its gradient is summed back
    ScaledProduct.apply(x, y, s=2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[20.0, -2.0], [20.0, -2.0]])
    np.testing.assert_array_equal(y.grad, [8.0, 12.0])
    assert gradcheck(lambda x, y: ScaledProduct.apply(x, y, s=2.0), [x, y])


# ----------------------------------------------------------------------------- PyTorch's style


class TorchSquare(Function):
    """z = x^2 in PyTorch's spelling.  VJP: dL/dx = 2 x g"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class TorchTanhTimes(Function):
    """z = tanh(x) * y, saving the output of forward.  VJP: dL/dx = (1 - t^2) y g, dL/dy = t g"""

    @staticmethod
    def forward(ctx, x, y):
        t = x.tanh()
        ctx.save_for_backward(t, y)
        return t * y

    @staticmethod
    def backward(ctx, g):
        t, y = ctx.saved_tensors
        gx = (1 - t * t) * y * g if ctx.needs_input_grad[0] else None
        gy = t * g if ctx.needs_input_grad[1] else None
        return gx, gy


class TorchExp(Function):
    """z = e^x, backward from the saved output.  VJP: dL/dx = z g"""

    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return out * g


def test_pytorch_style_static_methods_work():
    x = t64([1.0, -3.0])
    out = TorchSquare.apply(x)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, [1.0, 9.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -6.0])
    assert isinstance(x.grad, np.ndarray)


def test_pytorch_style_needs_input_grad_and_tensor_methods():
    x = t64([0.5, -1.0])
    y = t64([2.0, 3.0], requires_grad=False)
    TorchTanhTimes.apply(x, y).sum().backward()
    np.testing.assert_allclose(x.grad, (1 - np.tanh([0.5, -1.0]) ** 2) * [2.0, 3.0])
    assert y.grad is None
    assert gradcheck(TorchTanhTimes.apply, [t64([0.5, -1.0]), t64([2.0, 3.0])])


def test_pytorch_style_second_derivatives_go_through_saved_inputs_and_outputs():
    # d2/dx2 of x^2 is 2; of e^x is e^x: both need the saved tensors to be the recorded ones.
    x = t64([1.5])
    TorchSquare.apply(x).sum().backward(create_graph=True)
    x.grad.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0 + 2.0])
    assert gradgradcheck(TorchSquare.apply, [t64([0.3, -2.0])])
    assert gradgradcheck(TorchExp.apply, [t64([0.3, -2.0])])


def test_half_static_definitions_are_refused_with_the_expected_signature():
    with pytest.raises(TypeError) as info:

        class Half(Function):
            @staticmethod
            def forward(ctx, x):
                return x

            def backward(self, g, out, x):
                return g

    msg = str(info.value)
    assert "Half" in msg and "@staticmethod" in msg
    assert "def backward(ctx, g)" in msg and "def backward(self, g, out, *inputs)" in msg


def test_a_ctx_backward_without_staticmethod_is_refused_at_definition():
    with pytest.raises(TypeError, match=r"MissingStatic: its backward\(ctx, g\) cannot take"):

        class MissingStatic(Function):
            def forward(ctx, x):
                return x

            def backward(ctx, g):
                return g


# ----------------------------------------------------------------------------- backward results


class OneGradientForTwo(Function):
    def forward(self, x, y):
        return x * y

    def backward(self, g, out, x, y):
        return g * y


class ReturnsList(Function):
    def forward(self, x, y):
        return x + y

    def backward(self, g, out, x, y):
        return [g, g]


class ReturnsString(Function):
    def forward(self, x):
        return 2 * x

    def backward(self, g, out, x):
        return "oops"


class WrongShape(Function):
    def forward(self, x):
        return x.sum(axis=0)

    def backward(self, g, out, x):
        return g  # shape (3,) for an input of shape (2, 4): broadcasting cannot undo that


class BooleanGradient(Function):
    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, out, x):
        return x > 0  # the mask, forgetting to multiply by g


class Float32Gradient(Function):
    def forward(self, x):
        return 3 * x

    def backward(self, g, out, x):
        return (3 * g).astype(np.float32)


class TrailingNone(Function):
    def forward(self, x):
        return 5 * x

    def backward(self, g, out, x):
        return 5 * g, None, None


def test_too_few_gradients_name_the_function_and_every_input():
    x, y = t64([1.0, 2.0]), t64([[3.0, 4.0]])
    with pytest.raises(BackwardError) as info:
        OneGradientForTwo.apply(x, y).sum().backward()
    msg = str(info.value)
    assert "OneGradientForTwo.backward returned 1 gradient(s) for 2 input(s)" in msg
    assert "0: Tensor of shape (2,)" in msg and "1: Tensor of shape (1, 2)" in msg
    assert x.grad is None and y.grad is None


def test_a_list_of_gradients_is_named_as_the_mistake():
    with pytest.raises(BackwardError, match="returned a list: return a tuple"):
        ReturnsList.apply(t64([1.0]), t64([2.0])).sum().backward()


def test_a_string_gradient_names_the_function_input_and_shape():
    with pytest.raises(DTypeError) as info:
        ReturnsString.apply(t64([1.0, 2.0])).sum().backward()
    msg = str(info.value)
    assert "ReturnsString.backward returned str 'oops'" in msg
    assert "input 0 of shape (2,)" in msg


def test_a_gradient_of_the_wrong_shape_names_both_shapes():
    x = t64(np.ones((2, 4)))
    with pytest.raises(ShapeError) as info:
        WrongShape.apply(x).sum().backward()
    msg = str(info.value)
    assert re.search(r"WrongShape.backward returned a gradient of shape \(4,\) for its input 0 "
                     r"of shape \(2, 4\)", msg), msg


def test_a_boolean_gradient_is_refused():
    with pytest.raises(DTypeError, match=r"BooleanGradient.*dtype bool.*input 0 of dtype float64"):
        BooleanGradient.apply(t64([-1.0, 2.0])).sum().backward()


def test_a_gradient_of_another_float_dtype_is_cast_to_the_input_dtype():
    x = t64([1.0, 2.0])
    Float32Gradient.apply(x).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_extra_trailing_none_gradients_are_allowed():
    x = t64([1.0, 2.0])
    TrailingNone.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_the_checks_apply_in_a_recorded_backward_pass_too():
    x, y = t64([1.0, 2.0]), t64([3.0, 4.0])
    with pytest.raises(BackwardError, match="OneGradientForTwo"):
        OneGradientForTwo.apply(x, y).sum().backward(create_graph=True)
    with pytest.raises(ShapeError, match="WrongShape"):
        WrongShape.apply(t64(np.ones((2, 4)))).sum().backward(create_graph=True)


class TorchScaledPower(Function):
    """z = scale * x^p with a Python number p passed positionally and scale as a keyword.

    VJP: dL/dx = scale p x^(p-1) g; p gets None (it is not a tensor)."""

    @staticmethod
    def forward(ctx, x, p, scale=1.0):
        ctx.save_for_backward(x)
        ctx.p, ctx.scale = p, scale
        return scale * x**p

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.scale * ctx.p * x ** (ctx.p - 1) * g, None


def test_pytorch_style_with_a_number_argument_and_a_keyword():
    x = t64([2.0, 3.0])
    TorchScaledPower.apply(x, 3, scale=0.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 13.5])  # 0.5 * 3 * x^2
    assert gradcheck(lambda x: TorchScaledPower.apply(x, 3, scale=0.5), [t64([2.0, -1.0])])


def test_pytorch_style_backward_results_are_checked_too():
    class TorchForgetsY(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(BackwardError, match="TorchForgetsY.backward returned 1 gradient"):
        TorchForgetsY.apply(t64([1.0]), t64([2.0])).sum().backward()


def test_a_subclass_of_a_pytorch_style_function_may_redefine_only_backward():
    class TorchSquareHalfGradient(TorchSquare):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return x * g  # deliberately half of the true gradient

    x = t64([3.0])
    TorchSquareHalfGradient.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0])
    np.testing.assert_array_equal(TorchSquareHalfGradient.apply(t64([3.0])).data, [9.0])


# ----------------------------------------------------------------------------- property


class UserWeightedProduct(Function):
    """z = x * y (broadcasting), both spellings' gradients left in the broadcast shape.

    VJP: dL/dx = g y, dL/dy = g x, summed back to each input's shape by the engine."""

    def forward(self, x, y):
        return x * y

    def backward(self, g, out, x, y):
        return g * y, g * x


class TorchUserWeightedProduct(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x


@given(pair=tst.broadcastable_pairs(as_tensors=True, max_dims=3, max_side=3))
@settings(max_examples=25)
def test_broadcast_gradients_of_user_ops_are_summed_back(pair):
    x, y = pair
    for op in (UserWeightedProduct, TorchUserWeightedProduct):
        assert gradcheck(op.apply, [x, y])
        out = op.apply(x, y)
        out.backward(np.ones(out.shape))
        assert x.grad.shape == x.shape and y.grad.shape == y.shape
        x.zero_grad()
        y.zero_grad()


def test_a_backward_returning_a_tensor_in_a_plain_pass_accumulates_as_an_array():
    class Twice(Function):  # z = 2x, VJP: dL/dx = 2 g, returned as a Tensor on purpose
        def forward(self, x):
            return 2 * x

        def backward(self, g, out, x):
            return Tensor(2 * np.asarray(g))

    x = Tensor([1.0, 3.0], requires_grad=True)
    Twice.apply(x).sum().backward()
    Twice.apply(x).sum().backward()
    assert type(x.grad) is np.ndarray and x.grad.tolist() == [4.0, 4.0]


def test_a_backward_may_return_an_array_it_keeps_on_self():
    # .grad must not take the Function's own array: later passes add into .grad in place,
    # which would change what the Function returns next time.
    class Scaled(Function):  # z = c * x with c fixed in forward, VJP: dL/dx = c (g = 1 here)
        def forward(self, x):
            self.c = np.array([2.0, 5.0])
            return self.c * x

        def backward(self, g, out, x):
            return self.c

    x = Tensor([1.0, 1.0], requires_grad=True, dtype=np.float64)
    z = Scaled.apply(x)
    for _ in range(3):
        z.backward(np.ones(2), retain_graph=True)
    assert x.grad.tolist() == [6.0, 15.0]


# ------------------------------------------------------------------ what a backward may return
# Function's rule: a backward returns new arrays, or arrays it keeps where the engine sees them
# (g, an input, a direct attribute of self). .grad may take a new array without a copy; each
# test below backpropagates several times and checks that nothing the Function, the caller or
# another leaf holds was changed by the passes adding into .grad in place.


def test_a_backward_passing_g_through_leaves_the_callers_gradient_alone():
    class Same(Function):  # z = x, VJP: dL/dx = g (the very array)
        def forward(self, x):
            return x.copy()

        def backward(self, g, out, x):
            return g

    x = Tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    z = Same.apply(x)
    seed = np.array([0.5, -1.0])
    for _ in range(3):
        z.backward(seed, retain_graph=True)
    assert seed.tolist() == [0.5, -1.0]
    assert x.grad.tolist() == [1.5, -3.0]


def test_a_backward_returning_its_input_leaves_the_input_alone():
    class Square(Function):  # z = x^2 / 2 summed, VJP: dL/dx = g x (here g = 1: x itself)
        def forward(self, x):
            return np.asarray((x * x).sum() / 2)

        def backward(self, g, out, x):
            return x if g == 1 else g * x

    x = Tensor([3.0, 4.0], requires_grad=True, dtype=np.float64)
    z = Square.apply(x)
    for _ in range(3):
        z.backward(retain_graph=True)
    assert x.data.tolist() == [3.0, 4.0]
    assert x.grad.tolist() == [9.0, 12.0]


def test_one_new_array_returned_for_two_inputs_gives_each_its_own_gradient():
    class Both(Function):  # z = x + y, VJP: the same new array g * 1 for both
        def forward(self, x, y):
            return x + y

        def backward(self, g, out, x, y):
            shared = g * 1.0
            return shared, shared

    x = Tensor([1.0], requires_grad=True, dtype=np.float64)
    y = Tensor([2.0], requires_grad=True, dtype=np.float64)
    z = Both.apply(x, y)
    z.backward(np.array([1.0]), retain_graph=True)
    z.backward(np.array([10.0]))
    x.grad += 100.0  # changing one leaf's gradient leaves the other's alone
    assert x.grad.tolist() == [111.0] and y.grad.tolist() == [11.0]

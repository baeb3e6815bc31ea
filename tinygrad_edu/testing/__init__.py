"""Tools for testing code built with tinygrad_edu.

``tinygrad_edu.testing.strategies`` holds hypothesis strategies (it needs hypothesis, part of
the ``dev`` extra); ``tinygrad_edu.testing.op_table`` describes every differentiable operation
once, for tests that check each one against numpy and against central differences (and for
the fuzzer's random programs, whose arguments ``tinygrad_edu.testing.fuzz_args`` draws).

:func:`assert_grads_close` is the gradient check as an assertion, for unittest users; pytest
users get it as the ``gradcheck`` fixture of the plugin :mod:`tinygrad_edu.testing.pytest_plugin`
(registered when the package is installed).
"""

from ..gradcheck import assert_gradgrads_close, assert_grads_close

__all__ = ["assert_gradgrads_close", "assert_grads_close"]

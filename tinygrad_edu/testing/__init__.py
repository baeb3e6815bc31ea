"""Tools for testing code built with tinygrad_edu.

``tinygrad_edu.testing.strategies`` holds hypothesis strategies (it needs hypothesis, part of
the ``dev`` extra); ``tinygrad_edu.testing.op_table`` describes every differentiable operation
once, for tests that check each one against numpy and against central differences.
"""

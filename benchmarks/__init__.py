"""The benchmark suite of tinygrad_edu: our engine against hand-written numpy backprop.

Every workload runs three ways on the same initial weights and the same data, in float32:

* with the engine (``tinygrad_edu.nn``, ``tinygrad_edu.losses``, ``tinygrad_edu.optim.SGD``),
  in :mod:`benchmarks.ours`;
* with a hand-written numpy forward/backward/SGD reference, in :mod:`benchmarks.numpy_reference`
  (the limit for an engine whose arithmetic is numpy);
* with PyTorch when it is importable (the ``bench`` extra), in :mod:`benchmarks.torch_reference`.

The workloads (:mod:`benchmarks.workloads`) are three MLP training steps (forward + loss +
backward + SGD update), a chain of 1000 elementwise operations (W4) and a deep chain of 100,000
operations. Before anything is timed, :mod:`benchmarks.agreement` checks that the engine and the
numpy reference agree on the loss, the gradients and the parameters after a few steps; the run
refuses to report numbers otherwise. :mod:`benchmarks.timing` measures medians and peak traced
memory, :mod:`benchmarks.report` prints the markdown table and writes the JSON file, and
:mod:`benchmarks.run` is the command line::

    python -m benchmarks.run            # the full run (about a minute)
    python -m benchmarks.run --quick    # a few seconds
"""

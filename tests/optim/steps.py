"""What the optimiser tests share: a float64 parameter and a few steps of training."""

import numpy as np

from tinygrad_edu import Tensor


def param(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def run(opt, w, loss_fn, steps):
    """Take ``steps`` steps of ``opt`` on ``loss_fn(w)``; return w after each."""
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(w).backward()
        opt.step()
        trajectory.append(w.data.copy())
    return trajectory

"""Train a tiny two-layer network on XOR with nothing but Tensors and watch the loss fall.

Run it with `make demo` or `python examples/demo.py`. Every gradient here comes from
`loss.backward()`; the update is plain gradient descent, w <- w - eta dL/dw.
"""

import numpy as np

from tinygrad_edu import Tensor, no_grad
from tinygrad_edu.gradcheck import gradcheck


def main(steps: int = 500, lr: float = 0.5, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    # XOR: not linearly separable, so the hidden layer has to earn its keep.
    X = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = Tensor([[0], [1], [1], [0]])

    W1 = Tensor(rng.normal(0, 1, (2, 8)), requires_grad=True, name="W1")
    b1 = Tensor.zeros(8, requires_grad=True)
    W2 = Tensor(rng.normal(0, 1 / np.sqrt(8), (8, 1)), requires_grad=True, name="W2")
    b2 = Tensor.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]

    def loss_fn(W1, b1, W2, b2):
        h = (X @ W1 + b1).tanh()  # z = W x + b, a = tanh(z), batch in rows
        p = (h @ W2 + b2).sigmoid()
        return ((p - y) ** 2).mean()

    # Trust, then verify: backprop against central differences, once, in float64.
    checked = [Tensor(p.data.astype(np.float64), requires_grad=True) for p in params]
    print("gradcheck of the network:", gradcheck(loss_fn, checked))

    for step in range(steps + 1):
        loss = loss_fn(*params)
        for p in params:
            p.zero_grad()
        loss.backward()
        with no_grad():
            for p in params:
                p.data -= lr * p.grad
        if step % 100 == 0:
            print(f"step {step:4d}   loss {loss.item():.5f}")

    with no_grad():
        h = (X @ W1 + b1).tanh()
        predictions = (h @ W2 + b2).sigmoid()
    print("predictions:", np.round(predictions.data.ravel(), 3), "targets:", y.data.ravel())
    return loss.item()


if __name__ == "__main__":
    main()

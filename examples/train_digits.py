"""Train the dense starting point of the user guide (docs/user-guide.md).

    .venv/bin/python examples/train_digits.py -o digits.pt

A small CNN (pconv.testing.digits_cnn) trained on scikit-learn's bundled 8x8
digits (nothing is downloaded), with the same data and split that
``pconv prune --data sklearn-digits`` uses. Writes the whole module with
torch.save, which ``pconv prune`` / ``pconv compile`` read.
"""

from __future__ import annotations

import argparse

import torch

from pconv.datasets import load_dataset
from pconv.testing import digits_cnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default="digits.pt")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    data = load_dataset("sklearn-digits")
    model = digits_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loader = torch.utils.data.DataLoader(data.train, batch_size=32, shuffle=True)
    for _ in range(args.epochs):
        model.train()
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    x, y = data.test.tensors
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    torch.save(model, args.output)
    print(f"test accuracy {accuracy:.4f}; wrote {args.output}")


if __name__ == "__main__":
    main()

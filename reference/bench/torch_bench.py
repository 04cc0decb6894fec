"""PyTorch's side of `make bench`: one epoch of the same network, same data.

    /usr/bin/python3 torch_bench.py mlp|lenet FASHION_MNIST_DIR

mlp:   784-256-128-10 with ReLU, batch 128, SGD lr 0.1
lenet: LeNet-5 (conv 6x5x5 pad 2, relu, maxpool 2, conv 16x5x5, relu,
       maxpool 2, dense 120, relu, 84, relu, 10), batch 128, SGD momentum
       0.9, lr 0.01
Softmax cross-entropy, one thread (torch.set_num_threads(1)), the training
images as one float tensor scaled to [0, 1], a fresh random permutation per
epoch. Prints one line of key=value pairs, as nnlab-bench does.
"""
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch


def read_idx(path):
    """Read an IDX file (plain or .gz) into a numpy uint8 array."""
    if not os.path.exists(path):
        path += ".gz"
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def network(name):
    """The model and its optimizer, as nnlab-bench builds them."""
    nn = torch.nn
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.1), (-1, 784)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), (-1, 1, 28, 28)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("mlp", "lenet"):
        sys.exit("usage: torch_bench.py mlp|lenet FASHION_MNIST_DIR")
    name, root = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    torch.manual_seed(1)
    model, opt, shape = network(name)
    x = torch.from_numpy(read_idx(os.path.join(root, "train-images-idx3-ubyte")).copy())
    x = x.reshape(shape).float().div_(255.0)
    y = torch.from_numpy(read_idx(os.path.join(root, "train-labels-idx1-ubyte")).astype(np.int64))
    start = time.perf_counter()
    perm = torch.randperm(x.shape[0])
    total = 0.0
    for i in range(0, x.shape[0], 128):
        idx = perm[i:i + 128]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    side = "torch" if name == "mlp" else "torch-lenet"
    print(f"side={side} seconds={seconds:.4f} loss={total / x.shape[0]:.4f} "
          f"peak_rss_mb={rss:.1f} torch={torch.__version__}")


if __name__ == "__main__":
    main()

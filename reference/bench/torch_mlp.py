"""PyTorch's side of `make bench`: one epoch of the same MLP, same data.

784-256-128-10 with ReLU, batch 128, SGD lr 0.1, softmax cross-entropy,
one thread (torch.set_num_threads(1)), the training images as one float
tensor scaled to [0, 1], a fresh random permutation per epoch. Prints one
line of key=value pairs, as nnlab-bench does.

    /usr/bin/python3 torch_mlp.py FASHION_MNIST_DIR
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


def main():
    root = sys.argv[1]
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(os.path.join(root, "train-images-idx3-ubyte")).copy())
    x = x.reshape(-1, 784).float().div_(255.0)
    y = torch.from_numpy(read_idx(os.path.join(root, "train-labels-idx1-ubyte")).astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
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
    print(f"side=torch seconds={seconds:.4f} loss={total / x.shape[0]:.4f} "
          f"peak_rss_mb={rss:.1f} torch={torch.__version__}")


if __name__ == "__main__":
    main()

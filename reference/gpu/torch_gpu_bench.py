"""PyTorch's side of `make bench-gpu`: one training epoch on the GPU.

    /usr/bin/python3 torch_gpu_bench.py mlp|lenet FASHION_MNIST_DIR

The same networks, data and settings as reference/bench/torch_bench.py (the
CPU comparison), on the GPU in eager mode: the training images as one float
tensor on the device, a fresh random permutation per epoch, batch 128,
softmax cross-entropy; FP32 with TF32 turned off (as nnlab's kernels and
its cuBLAS calls). Two epochs; the second is timed, between
torch.cuda.synchronize() calls, as nnlab-gpu-bench times its own.

Prints one line "side=torch-gpu... seconds=..." as nnlab-gpu-bench does, or
"skipped: reason" (and exits 0) when PyTorch or its CUDA support is missing.
"""
import os
import sys
import time


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("mlp", "lenet"):
        sys.exit("usage: torch_gpu_bench.py mlp|lenet FASHION_MNIST_DIR")
    name, root = sys.argv[1], sys.argv[2]
    try:
        import torch
    except ImportError:
        print("skipped: PyTorch is not installed for " + sys.executable)
        return
    if not torch.cuda.is_available():
        print("skipped: this PyTorch (%s) sees no CUDA device" % torch.__version__)
        return
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    from torch_bench import network, read_idx  # the CPU comparison's model and reader
    import numpy as np

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(1)
    dev = torch.device("cuda")
    model, opt, shape = network(name)
    model.to(dev)  # moves the parameters in place: the optimizer still holds them
    x = torch.from_numpy(read_idx(os.path.join(root, "train-images-idx3-ubyte")).copy())
    x = x.reshape(shape).float().div_(255.0).to(dev)
    y = torch.from_numpy(read_idx(os.path.join(root, "train-labels-idx1-ubyte")).astype(np.int64)).to(dev)

    def epoch():
        perm = torch.randperm(x.shape[0], device=dev)
        total = torch.zeros((), device=dev)
        for i in range(0, x.shape[0], 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        return total

    epoch()  # warm-up: CUDA start-up, cuDNN's algorithm search
    torch.cuda.synchronize()
    start = time.perf_counter()
    total = epoch()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    side = "torch-gpu" if name == "mlp" else "torch-gpu-lenet"
    print(f"side={side} seconds={seconds:.4f} loss={float(total) / x.shape[0]:.4f} "
          f"torch={torch.__version__} device={torch.cuda.get_device_name(0).replace(' ', '_')}")


if __name__ == "__main__":
    main()

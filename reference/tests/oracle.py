#!/usr/bin/python3
"""Independent oracle: the nnlab reference library checked against PyTorch.

Usage:  /usr/bin/python3 reference/tests/oracle.py build/lib/libnnlab.so [--seed N]

The shared library is loaded with ctypes and each lab kernel of labs 1-7 is
fed the same random float32 inputs as PyTorch (numpy-seeded, odd sizes so that
no row/column mix-up can hide). PyTorch computes the expected values at run
time, in float64 from those float32 inputs, so what is measured is the C
code's own error; no expected value is written into this file.

Error measures (DESIGN section 4; NaN or Inf never passes):

  elementwise   max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)
                for values each computed by a few float operations of its own
                (activation and softmax outputs, MSE/BCE gradients, losses,
                learning-rate schedules).
  scaled        max_i |a_i - b_i| / max(1e-8, max|a| + max|b|)
                where float32 rounding is absolute rather than relative to
                each result: values that come out of sums (matrix products,
                softmax backward, log-softmax, weights after optimizer or
                training steps), where an
                element that cancels to nearly zero would have a large
                elementwise error in any correct float32 code; and activation
                derivatives such as 1 - tanh^2, which cancel the same way.

Dropout draws its mask from nnlab's own generator, which PyTorch does not
share: its checks take the mask the C code returns and verify its values, the
kept fraction (within 5 standard deviations of 1 - p), and out = in*mask,
din = dout*mask against PyTorch.

Every check prints "ok   <name>  rel_err=E  tol=T" or "FAIL <name> rel_err=E
tol=T" (with a line saying where the worst element is), or, for a lab 7
check whose module is not in the library yet, "skip <name>  skipped: symbol
missing: ...". The run ends with "N passed, N failed, N skipped". Exit
status: 0 nothing failed, 1 a check failed, 2 bad usage (library or header
missing). Without python3-torch the oracle reports itself skipped and exits 0.

Run it with Debian's /usr/bin/python3 (python3-torch, python3-numpy).
"""

import argparse
import ctypes
import math
import os
import re
import sys
from pathlib import Path

TOL = 1e-4          # relative tolerance of every check unless stated otherwise
DEFAULT_SEED = 20240611

HERE = Path(__file__).resolve().parent
DEFAULT_INCLUDE = HERE.parent / "include" / "nnlab"

# Filled in by main() once the imports are known to work.
np = None
torch = None
F = None
ACTS = {}           # nn_act enum, name -> value, read from activations.h

# ----------------------------------------------------------------- ctypes

c_int, c_float = ctypes.c_int, ctypes.c_float
FP = ctypes.POINTER(ctypes.c_float)
IP = ctypes.POINTER(ctypes.c_int)
FPP = ctypes.POINTER(FP)


class NNMlp(ctypes.Structure):
    """Mirror of nn_mlp in forward.h (the enum nn_act is an int)."""
    _fields_ = [("n_layers", c_int), ("sizes", IP), ("w", FPP), ("b", FPP), ("act", c_int)]


MLPP = ctypes.POINTER(NNMlp)


class NNRng(ctypes.Structure):
    """Mirror of nn_rng in rng.h."""
    _fields_ = [("state", ctypes.c_uint64), ("inc", ctypes.c_uint64)]


RNGP = ctypes.POINTER(NNRng)


def int_struct(name, fields):
    """A ctypes mirror of a C struct made of ints only, fields in header order."""
    return type(name, (ctypes.Structure,), {"_fields_": [(f, c_int) for f in fields]})


# Mirrors of nn_conv_shape (conv.h) and nn_pool_shape (pool.h): built by
# main() from the headers' field lists, so a reordered header cannot pass.
SHAPES = {}

# C prototypes of the functions the oracle calls: name -> (restype, argtypes).
PROTOTYPES = {
    # neuron.h
    "nn_logistic_step": (c_float, [FP, FP, FP, IP, c_float, c_int, c_int]),
    # activations.h
    "nn_activation_forward": (None, [FP, FP, c_int, c_int]),
    "nn_softmax_forward": (None, [FP, FP, c_int, c_int]),
    "nn_log_softmax_forward": (None, [FP, FP, c_int, c_int]),
    # forward.h
    "nn_dense_forward": (None, [FP, FP, FP, FP, c_int, c_int, c_int]),
    "nn_mlp_forward": (None, [FPP, FPP, MLPP, c_int]),
    "nn_mse_loss": (c_float, [FP, FP, c_int, c_int]),
    "nn_bce_loss": (c_float, [FP, FP, c_int]),
    "nn_cross_entropy_loss": (c_float, [FP, IP, c_int, c_int]),
    # backprop.h
    "nn_dense_backward": (None, [FP, FP, FP, FP, FP, FP, c_int, c_int, c_int]),
    "nn_activation_backward": (None, [FP, FP, FP, c_int, c_int]),
    "nn_mse_backward": (None, [FP, FP, FP, c_int, c_int]),
    "nn_bce_backward": (None, [FP, FP, FP, c_int]),
    "nn_cross_entropy_backward": (None, [FP, FP, IP, c_int, c_int]),
    "nn_softmax_backward": (None, [FP, FP, FP, c_int, c_int]),
    "nn_sgd_step": (None, [FP, FP, c_int, c_float]),
    "nn_mlp_backward": (None, [FPP, FPP, FPP, FPP, FPP, FPP, IP, MLPP, c_int]),
    # optimizers.h
    "nn_momentum_step": (None, [FP, FP, FP, c_int, c_float, c_float]),
    "nn_nesterov_step": (None, [FP, FP, FP, c_int, c_float, c_float]),
    "nn_adagrad_step": (None, [FP, FP, FP, c_int, c_float, c_float]),
    "nn_rmsprop_step": (None, [FP, FP, FP, c_int, c_float, c_float, c_float]),
    "nn_adadelta_step": (None, [FP, FP, FP, FP, c_int, c_float, c_float, c_float]),
    "nn_adam_step": (None, [FP, FP, FP, FP, c_int, c_float, c_float, c_float, c_float, c_int]),
    "nn_adamw_step": (None, [FP, FP, FP, FP, c_int, c_float, c_float, c_float, c_float,
                             c_float, c_int]),
    "nn_lr_step_decay": (c_float, [c_float, c_int, c_int, c_float]),
    "nn_lr_exponential": (c_float, [c_float, c_int, c_float]),
    "nn_lr_cosine": (c_float, [c_float, c_int, c_int, c_float]),
    "nn_lr_warmup": (c_float, [c_float, c_int, c_int]),
    # blas.h
    "nn_blas_set_threads": (None, [c_int]),
    # rng.h
    "nn_rng_seed": (None, [RNGP, ctypes.c_uint64]),
    # dropout.h
    "nn_dropout_forward": (None, [FP, FP, FP, c_int, c_float, c_int, RNGP]),
    "nn_dropout_backward": (None, [FP, FP, FP, c_int]),
    # batchnorm.h
    "nn_batchnorm_forward_train": (None, [FP] * 9 + [c_int] * 3 + [c_float, c_float]),
    "nn_batchnorm_forward_eval": (None, [FP] * 6 + [c_int] * 3 + [c_float]),
    "nn_batchnorm_backward": (None, [FP] * 7 + [c_int] * 3),
    # conv.h and pool.h: the shape structs are passed as void * (their
    # layout is checked when main() reads it from the headers).
    "nn_conv_out_size": (c_int, [c_int] * 4),
    "nn_im2col": (None, [FP, FP, ctypes.c_void_p]),
    "nn_col2im": (None, [FP, FP, ctypes.c_void_p]),
    "nn_conv2d_forward_direct": (None, [FP, FP, FP, FP, ctypes.c_void_p]),
    "nn_conv2d_backward_direct": (None, [FP, FP, FP, FP, FP, FP, ctypes.c_void_p]),
    "nn_conv2d_workspace": (ctypes.c_long, [ctypes.c_void_p]),
    "nn_conv2d_forward": (None, [FP, FP, FP, FP, FP, ctypes.c_void_p]),
    "nn_conv2d_backward": (None, [FP, FP, FP, FP, FP, FP, FP, ctypes.c_void_p]),
    "nn_maxpool_forward": (None, [FP, IP, FP, ctypes.c_void_p]),
    "nn_maxpool_backward": (None, [FP, FP, IP, ctypes.c_void_p]),
    "nn_avgpool_forward": (None, [FP, FP, ctypes.c_void_p]),
    "nn_avgpool_backward": (None, [FP, FP, ctypes.c_void_p]),
}


class Lib:
    """The library under test; `lib.nn_x` is the C function with its prototype."""

    def __init__(self, path):
        try:
            self._dll = ctypes.CDLL(str(path))
        except OSError as e:
            # An undefined symbol elsewhere in the library (a framework module
            # still being written) need not stop the lab kernels being checked:
            # bind lazily, and say so.
            if "undefined symbol" not in str(e):
                raise
            print(f"oracle: warning: {e}; loading it lazily", file=sys.stderr)
            self._dll = ctypes.CDLL(str(path), mode=os.RTLD_LAZY)

    def has(self, name):
        """Whether the library defines the symbol name."""
        try:
            getattr(self._dll, name)
        except AttributeError:
            return False
        return True

    def __getattr__(self, name):
        fn = getattr(self._dll, name)  # AttributeError names a missing symbol
        restype, argtypes = PROTOTYPES[name]
        fn.restype, fn.argtypes = restype, argtypes
        return fn


def ptr(a):
    """Pointer to the data of a C-contiguous float32 or int32 numpy array (None: NULL)."""
    if a is None:
        return None
    assert a.flags["C_CONTIGUOUS"], "array passed to C must be contiguous"
    if a.dtype == np.float32:
        return a.ctypes.data_as(FP)
    assert a.dtype == np.int32, a.dtype
    return a.ctypes.data_as(IP)


def ptr_array(arrays):
    """A C array of float pointers (float **) to the given float32 arrays."""
    return (FP * len(arrays))(*[ptr(a) for a in arrays])


# ----------------------------------------------------------------- helpers

def f32(x):
    """A C-contiguous float32 copy of x."""
    return np.ascontiguousarray(x, dtype=np.float32)


def f32s(x):
    """The float32 value C receives for the Python number x, back as a Python float."""
    return float(np.float32(x))


def t64(a, grad=False):
    """A float64 torch tensor holding the values of a (float32 inputs exactly)."""
    t = torch.from_numpy(np.array(a, dtype=np.float64))
    return t.requires_grad_(grad)


def as_np(t):
    """The values of a torch tensor as a float64 numpy array."""
    return t.detach().cpu().numpy().astype(np.float64)


def _finite(a, b):
    return a.shape == b.shape and np.all(np.isfinite(a)) and np.all(np.isfinite(b))


def rel_err(got, want):
    """Elementwise relative error max_i |a_i-b_i| / max(1e-8, |a_i|+|b_i|); +inf if not finite."""
    a = np.asarray(got, dtype=np.float64).ravel()
    b = np.asarray(want, dtype=np.float64).ravel()
    if not _finite(a, b):
        return math.inf
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def rel_err_scaled(got, want):
    """Scaled relative error max|a-b| / max(1e-8, max|a|+max|b|); +inf if not finite."""
    a = np.asarray(got, dtype=np.float64).ravel()
    b = np.asarray(want, dtype=np.float64).ravel()
    if not _finite(a, b):
        return math.inf
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a)) + np.max(np.abs(b))))


class Comparison:
    """The worst of several comparisons in one check, remembering where it was."""

    def __init__(self):
        self.err = 0.0
        self.where = ""

    def add(self, label, got, want, scaled=False):
        err = (rel_err_scaled if scaled else rel_err)(got, want)   # +inf if not finite
        if err > self.err:
            self.err = err
            self.where = _worst(label, got, want)
        return err

    def require(self, label, ok, detail=""):
        """A property with no numeric error (a count, a set of values): false fails the check."""
        if not ok and math.isfinite(self.err):
            self.err = math.inf
            self.where = f"{label}: {detail}" if detail else label


def _worst(label, got, want):
    """A short description of the worst element of got against want."""
    a = np.asarray(got, dtype=np.float64)
    b = np.asarray(want, dtype=np.float64)
    if a.shape != b.shape:
        return f"{label}: shape {a.shape} vs {b.shape}"
    if a.size == 0:
        return label
    bad = ~np.isfinite(a)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), a.shape)
    else:
        d = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
        i = np.unravel_index(int(np.argmax(d)), a.shape)
    idx = "" if a.ndim == 0 else f"[{','.join(str(int(k)) for k in i)}]"
    return f"{label}{idx}: got {a[i]:.9g}, expected {b[i]:.9g}"


class Report:
    """Counts and prints the checks."""

    WIDTH = 30

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def result(self, name, err, tol=TOL, where=""):
        if math.isfinite(err) and err < tol:
            self.passed += 1
            print(f"ok   {name.ljust(self.WIDTH)}  rel_err={err:.2e}  tol={tol:.0e}")
        else:
            self.failed += 1
            print(f"FAIL {name.ljust(self.WIDTH)} rel_err={err:.2e} tol={tol:.0e}")
            if where:
                print(f"       worst: {where}")
        sys.stdout.flush()

    def skip(self, name, why):
        self.skipped += 1
        print(f"skip {name.ljust(self.WIDTH)}  skipped: {why}")
        sys.stdout.flush()

    def run(self, name, check, *args, tol=TOL, needs=(), lib=None):
        """Run check(*args) -> Comparison; an exception fails the check with its message.

        needs: symbols of a module that may not be written yet (labs 6-7 while
        in progress): when lib lacks one of them the check is skipped, not failed.
        """
        missing = [sym for sym in needs if not lib.has(sym)]
        if missing:
            self.skip(name, f"symbol missing: {', '.join(missing)}")
            return
        try:
            cmp = check(*args)
        except AttributeError as e:       # symbol not in the library
            self.result(name, math.nan, tol, f"not callable: {e}")
            return
        except Exception as e:            # noqa: BLE001 -- report, keep going
            self.result(name, math.nan, tol, f"{type(e).__name__}: {e}")
            return
        self.result(name, cmp.err, tol, cmp.where)


# ----------------------------------------------------------------- the header

def read_activation_header(include_dir):
    """The nn_act enum (name -> value, in header order) and the leaky/ELU constants."""
    text = (include_dir / "activations.h").read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    body = re.search(r"typedef\s+enum\s*\{(.*?)\}\s*nn_act\s*;", text, re.S).group(1)
    acts, value = {}, 0
    for item in (s.strip() for s in body.split(",")):
        if not item:
            continue
        name, _, explicit = (p.strip() for p in item.partition("="))
        if explicit:
            value = int(explicit, 0)
        if name != "NN_ACT_COUNT":
            acts[name] = value
        value += 1

    def const(name):
        m = re.search(r"#define\s+" + name + r"\s+([-+0-9.eE]+)[fF]?", text)
        return float(m.group(1))

    return acts, const("NN_LEAKY_SLOPE"), const("NN_ELU_ALPHA")


def torch_activations(slope, alpha):
    """PyTorch reference per enum name: (forward, derivative or None for autograd).

    Step and linear have no PyTorch op with a useful gradient, so their
    derivative is the formula (0 and 1).
    """
    return {
        "NN_ACT_STEP": (lambda x: (x >= 0).to(x.dtype), lambda x: torch.zeros_like(x)),
        "NN_ACT_LINEAR": (lambda x: x.clone(), lambda x: torch.ones_like(x)),
        "NN_ACT_SIGMOID": (torch.sigmoid, None),
        "NN_ACT_TANH": (torch.tanh, None),
        "NN_ACT_RELU": (F.relu, None),
        "NN_ACT_LEAKY_RELU": (lambda x: F.leaky_relu(x, slope), None),
        "NN_ACT_ELU": (lambda x: F.elu(x, alpha), None),
        "NN_ACT_GELU": (lambda x: F.gelu(x), None),          # exact (erf) form
        "NN_ACT_SOFTPLUS": (F.softplus, None),
        "NN_ACT_SOFTSIGN": (F.softsign, None),
        "NN_ACT_SWISH": (F.silu, None),
        "NN_ACT_MISH": (F.mish, None),
    }


# ----------------------------------------------------------------- lab 2: activations

def activation_inputs(rng):
    """7 x 13 values from N(0, 3²) plus the points where mistakes hide: 0, tiny, large."""
    edges = [0.0, 1e-4, -1e-4, 5.0, -5.0, 12.0, -12.0, 25.0, -25.0]
    return f32(np.concatenate([rng.normal(0.0, 3.0, size=7 * 13), edges]))


def check_activation_forward(lib, rng, act, torch_fwd):
    """nn_activation_forward(out, in, n, act) vs PyTorch, also in place (out == in)."""
    x = activation_inputs(rng)
    want = as_np(torch_fwd(t64(x)))
    cmp = Comparison()
    out = np.zeros_like(x)
    lib.nn_activation_forward(ptr(out), ptr(x), x.size, act)
    cmp.add("out", out, want)
    inplace = x.copy()
    lib.nn_activation_forward(ptr(inplace), ptr(inplace), x.size, act)
    cmp.add("out (in place)", inplace, want)
    return cmp


def check_activation_backward(lib, rng, act, torch_fwd, torch_grad):
    """nn_activation_backward: din += dout * f'(in), from a zeroed din, vs autograd."""
    x = activation_inputs(rng)
    dout = f32(rng.normal(size=x.size))
    if torch_grad is None:
        xt = t64(x, grad=True)
        torch_fwd(xt).backward(t64(dout))
        want = as_np(xt.grad)
    else:
        want = as_np(torch_grad(t64(x)) * t64(dout))
    din = np.zeros_like(x)
    lib.nn_activation_backward(ptr(din), ptr(dout), ptr(x), x.size, act)
    cmp = Comparison()
    # Scaled: derivatives of saturating functions are formulas like
    # σ(1 − σ) and 1 − tanh², whose float32 error is absolute (one ulp of 1)
    # rather than relative to the tiny result; PyTorch's own float32
    # backward computes them the same way.
    cmp.add("din", din, want, scaled=True)
    return cmp


def check_softmax_forward(lib, rng, log):
    """Row-wise (log-)softmax of 7 x 5 logits; one row is shifted by +500 (stability)."""
    x = rng.normal(0.0, 3.0, size=(7, 5))
    x[3] += 500.0
    x = f32(x)
    fn = lib.nn_log_softmax_forward if log else lib.nn_softmax_forward
    ref = F.log_softmax if log else F.softmax
    want = as_np(ref(t64(x), dim=1))
    out = np.zeros_like(x)
    fn(ptr(out), ptr(x), 7, 5)
    cmp = Comparison()
    # softmax values are each a quotient of two positive sums: elementwise.
    # log-softmax x_j - m - log(sum) cancels near 0 for a dominant logit: scaled.
    cmp.add("out", out, want, scaled=log)
    inplace = x.copy()
    fn(ptr(inplace), ptr(inplace), 7, 5)
    cmp.add("out (in place)", inplace, want, scaled=log)
    return cmp


def check_softmax_backward(lib, rng):
    """nn_softmax_backward(din, dout, y = softmax(x)) vs autograd through F.softmax."""
    x = f32(rng.normal(0.0, 2.0, size=(7, 5)))
    dout = f32(rng.normal(size=(7, 5)))
    xt = t64(x, grad=True)
    y = F.softmax(xt, dim=1)
    y.backward(t64(dout))
    din = np.zeros_like(x)
    lib.nn_softmax_backward(ptr(din), ptr(dout), ptr(f32(as_np(y))), 7, 5)
    cmp = Comparison()
    cmp.add("din", din, as_np(xt.grad), scaled=True)   # y_j (dout_j - Σ dout y): a sum
    return cmp


# ----------------------------------------------------------------- lab 3: dense, losses

B, N_IN, N_OUT = 7, 13, 5


def check_dense_forward(lib, rng):
    """nn_dense_forward: out = in Wᵀ + b, W [n_out, n_in] as nn.Linear, vs F.linear."""
    x = f32(rng.normal(size=(B, N_IN)))
    w = f32(rng.normal(size=(N_OUT, N_IN)))
    b = f32(rng.normal(size=N_OUT))
    out = np.zeros((B, N_OUT), np.float32)
    lib.nn_dense_forward(ptr(out), ptr(x), ptr(w), ptr(b), B, N_IN, N_OUT)
    cmp = Comparison()
    cmp.add("out", out, as_np(F.linear(t64(x), t64(w), t64(b))), scaled=True)
    return cmp


def check_dense_backward(lib, rng, prior):
    """nn_dense_backward (din, dW, db) vs autograd of F.linear.

    prior=False: gradients start at zero. prior=True: they start at random
    values, which must be kept and added to (backward accumulates); din=NULL
    is also exercised there, with dW and db still to be right.
    """
    x = f32(rng.normal(size=(B, N_IN)))
    w = f32(rng.normal(size=(N_OUT, N_IN)))
    b = f32(rng.normal(size=N_OUT))
    dout = f32(rng.normal(size=(B, N_OUT)))
    xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
    F.linear(xt, wt, bt).backward(t64(dout))
    cmp = Comparison()

    def start(shape):
        return f32(rng.normal(size=shape)) if prior else np.zeros(shape, np.float32)

    din, dw, db = start((B, N_IN)), start((N_OUT, N_IN)), start(N_OUT)
    want = [d.astype(np.float64) + as_np(t.grad) for d, t in ((din, xt), (dw, wt), (db, bt))]
    lib.nn_dense_backward(ptr(din), ptr(dw), ptr(db), ptr(dout), ptr(x), ptr(w), B, N_IN, N_OUT)
    for label, got, exp in zip(("din", "dW", "db"), (din, dw, db), want):
        cmp.add(label, got, exp, scaled=True)
    if prior:
        dw, db = start((N_OUT, N_IN)), start(N_OUT)
        want = [d.astype(np.float64) + as_np(t.grad) for d, t in ((dw, wt), (db, bt))]
        lib.nn_dense_backward(None, ptr(dw), ptr(db), ptr(dout), ptr(x), ptr(w), B, N_IN, N_OUT)
        cmp.add("dW (din NULL)", dw, want[0], scaled=True)
        cmp.add("db (din NULL)", db, want[1], scaled=True)
    return cmp


def check_mse(lib, rng):
    """nn_mse_loss / nn_mse_backward vs F.mse_loss (mean over batch·n)."""
    pred = f32(rng.normal(size=(B, N_OUT)))
    target = f32(rng.normal(size=(B, N_OUT)))
    pt = t64(pred, True)
    loss = F.mse_loss(pt, t64(target))
    loss.backward()
    cmp = Comparison()
    cmp.add("loss", lib.nn_mse_loss(ptr(pred), ptr(target), B, N_OUT), as_np(loss))
    dpred = np.zeros_like(pred)
    lib.nn_mse_backward(ptr(dpred), ptr(pred), ptr(target), B, N_OUT)
    cmp.add("dpred", dpred, as_np(pt.grad))
    return cmp


def check_bce(lib, rng):
    """nn_bce_loss / nn_bce_backward vs F.binary_cross_entropy (mean).

    The loss is also taken with p = 0 and p = 1 included, where both clamp
    each log at -100. The backward uses p in (0, 1) only: there nnlab clamps
    p to [1e-7, 1 - 1e-7] and PyTorch p(1-p) at 1e-12, by design different.
    """
    n = B * N_OUT
    p = f32(1.0 / (1.0 + np.exp(-rng.normal(0.0, 2.0, size=n))))
    y = f32(rng.uniform(0.0, 1.0, size=n))
    pt = t64(p, True)
    loss = F.binary_cross_entropy(pt, t64(y))
    loss.backward()
    cmp = Comparison()
    cmp.add("loss", lib.nn_bce_loss(ptr(p), ptr(y), n), as_np(loss))
    dp = np.zeros_like(p)
    lib.nn_bce_backward(ptr(dp), ptr(p), ptr(y), n)
    cmp.add("dp", dp, as_np(pt.grad))

    pe = p.copy()
    pe[:4] = [0.0, 1.0, 0.0, 1.0]
    ye = y.copy()
    ye[:4] = [0.0, 1.0, 0.25, 0.75]        # exact 0·log 0 terms, then clamped logs
    want = F.binary_cross_entropy(t64(pe), t64(ye))
    cmp.add("loss (p = 0, 1)", lib.nn_bce_loss(ptr(pe), ptr(ye), n), as_np(want))
    return cmp


def check_cross_entropy(lib, rng):
    """nn_cross_entropy_loss / _backward on logits vs F.cross_entropy (mean).

    One row's logits are shifted by +500: a log-sum-exp that does not subtract
    the max overflows there.
    """
    logits = rng.normal(0.0, 2.0, size=(B, N_OUT))
    logits[2] += 500.0
    logits = f32(logits)
    labels = rng.integers(0, N_OUT, size=B).astype(np.int32)
    lt = t64(logits, True)
    loss = F.cross_entropy(lt, torch.from_numpy(labels.astype(np.int64)))
    loss.backward()
    cmp = Comparison()
    cmp.add("loss", lib.nn_cross_entropy_loss(ptr(logits), ptr(labels), B, N_OUT), as_np(loss))
    dlogits = np.zeros_like(logits)
    lib.nn_cross_entropy_backward(ptr(dlogits), ptr(logits), ptr(labels), B, N_OUT)
    # softmax - onehot cancels for a confident right answer: scaled.
    cmp.add("dlogits", dlogits, as_np(lt.grad), scaled=True)
    return cmp


def check_backward_accumulates(lib, rng):
    """Activation, softmax and loss backwards add to (+=) a gradient that is not zero."""
    cmp = Comparison()
    x = f32(rng.normal(size=(B, N_OUT)))
    y = f32(rng.normal(size=(B, N_OUT)))
    dout = f32(rng.normal(size=(B, N_OUT)))
    labels = rng.integers(0, N_OUT, size=B).astype(np.int32)
    prob = f32(1.0 / (1.0 + np.exp(-x)))
    target = f32(rng.uniform(size=(B, N_OUT)))
    n = B * N_OUT

    def grad_of(fn, *inputs, upstream=None):
        ts = [t64(a, True) for a in inputs]
        out = fn(*ts)
        out.backward(None if upstream is None else t64(upstream))
        return as_np(ts[0].grad)

    cases = [
        ("activation (tanh)",
         lambda d: lib.nn_activation_backward(ptr(d), ptr(dout), ptr(x), n, ACTS["NN_ACT_TANH"]),
         grad_of(torch.tanh, x, upstream=dout)),
        ("softmax",
         lambda d: lib.nn_softmax_backward(ptr(d), ptr(dout), ptr(f32(as_np(F.softmax(t64(x), 1)))),
                                           B, N_OUT),
         grad_of(lambda t: F.softmax(t, 1), x, upstream=dout)),
        ("mse", lambda d: lib.nn_mse_backward(ptr(d), ptr(x), ptr(y), B, N_OUT),
         grad_of(lambda a: F.mse_loss(a, t64(y)), x)),
        ("bce", lambda d: lib.nn_bce_backward(ptr(d), ptr(prob), ptr(target), n),
         grad_of(lambda a: F.binary_cross_entropy(a, t64(target)), prob)),
        ("cross-entropy",
         lambda d: lib.nn_cross_entropy_backward(ptr(d), ptr(x), ptr(labels), B, N_OUT),
         grad_of(lambda a: F.cross_entropy(a, torch.from_numpy(labels.astype(np.int64))), x)),
    ]
    for label, call, grad in cases:
        d = f32(rng.normal(size=(B, N_OUT)))
        want = d.astype(np.float64) + grad
        call(d)
        cmp.add(label, d, want, scaled=True)
    return cmp


def check_mlp(lib, rng):
    """nn_mlp_forward / nn_mlp_backward (13-11-9-5, tanh, cross-entropy) vs autograd.

    Checks every z and a buffer of the forward and every dW, db of the backward.
    """
    sizes = [N_IN, 11, 9, N_OUT]
    L = len(sizes) - 1
    ws = [f32(rng.normal(0.0, 1.0 / math.sqrt(sizes[l]), size=(sizes[l + 1], sizes[l])))
          for l in range(L)]
    bs = [f32(rng.normal(0.0, 0.1, size=sizes[l + 1])) for l in range(L)]
    x = f32(rng.normal(size=(B, N_IN)))
    labels = rng.integers(0, N_OUT, size=B).astype(np.int32)

    c_sizes = np.array(sizes, dtype=np.int32)
    w_ptrs, b_ptrs = ptr_array(ws), ptr_array(bs)
    net = NNMlp(L, ptr(c_sizes), w_ptrs, b_ptrs, ACTS["NN_ACT_TANH"])
    z = [np.zeros((B, sizes[l + 1]), np.float32) for l in range(L)]
    a = [x.copy()] + [np.zeros((B, sizes[l]), np.float32) for l in range(1, L + 1)]
    dz = [np.zeros_like(t) for t in z]
    da = [np.zeros_like(t) for t in a]
    dw = [np.zeros_like(t) for t in ws]
    db = [np.zeros_like(t) for t in bs]
    z_p, a_p = ptr_array(z), ptr_array(a)
    lib.nn_mlp_forward(z_p, a_p, ctypes.byref(net), B)
    lib.nn_mlp_backward(ptr_array(dw), ptr_array(db), ptr_array(dz), ptr_array(da), z_p, a_p,
                        ptr(labels), ctypes.byref(net), B)

    wt = [t64(w, True) for w in ws]
    bt = [t64(b, True) for b in bs]
    h, zt, at = t64(x), [], [t64(x)]
    for l in range(L):
        zl = F.linear(h, wt[l], bt[l])
        zt.append(zl)
        h = torch.tanh(zl) if l < L - 1 else zl
        at.append(h)
    F.cross_entropy(h, torch.from_numpy(labels.astype(np.int64))).backward()

    cmp = Comparison()
    for l in range(L):
        cmp.add(f"z[{l}]", z[l], as_np(zt[l]), scaled=True)
        cmp.add(f"a[{l + 1}]", a[l + 1], as_np(at[l + 1]), scaled=True)
        cmp.add(f"dW[{l}]", dw[l], as_np(wt[l].grad), scaled=True)
        cmp.add(f"db[{l}]", db[l], as_np(bt[l].grad), scaled=True)
    cmp.add("a[0] (input, read only)", a[0], x)
    return cmp


# ----------------------------------------------------------------- lab 1: logistic regression

def check_logistic_step(lib, rng):
    """nn_logistic_step: loss before the step and w, b after, vs autograd + a manual step."""
    n, rows, lr = N_IN, 2 * B + 1, f32s(0.5)
    x = f32(rng.normal(size=(rows, n)))
    y = rng.integers(0, 2, size=rows).astype(np.int32)
    w = f32(rng.normal(0.0, 0.5, size=n))
    b = np.array([0.3], np.float32)
    wt, bt = t64(w, True), t64(b, True)
    loss = F.binary_cross_entropy_with_logits(t64(x) @ wt + bt, t64(y))
    loss.backward()
    want_w = as_np(wt) - lr * as_np(wt.grad)
    want_b = as_np(bt) - lr * as_np(bt.grad)
    got = lib.nn_logistic_step(ptr(w), ptr(b), ptr(x), ptr(y), lr, rows, n)
    cmp = Comparison()
    cmp.add("loss", got, as_np(loss))
    cmp.add("w", w, want_w, scaled=True)
    cmp.add("b", b, want_b, scaled=True)
    return cmp


# ----------------------------------------------------------------- lab 5: optimizers

N_PARAM, N_STEPS = 37, 5


def optimizer_cases():
    """name -> (torch optimizer factory, C step(lib, w, states, g, t), number of state arrays).

    Hyperparameters are chosen so that each term of the rule shows: steps are a
    sizable fraction of the weights, and every ε is large enough that putting
    it inside rather than outside the square root (or leaving it out) changes
    the result well beyond the tolerance.
    """
    n = N_PARAM
    lr, mu = f32s(0.05), f32s(0.9)
    return {
        "sgd": (lambda p: torch.optim.SGD(p, lr=lr),
                lambda lib, w, s, g, t: lib.nn_sgd_step(ptr(w), ptr(g), n, lr), 0),
        "momentum": (lambda p: torch.optim.SGD(p, lr=lr, momentum=mu),
                     lambda lib, w, s, g, t: lib.nn_momentum_step(ptr(w), ptr(s[0]), ptr(g),
                                                                  n, lr, mu), 1),
        "nesterov": (lambda p: torch.optim.SGD(p, lr=lr, momentum=mu, nesterov=True),
                     lambda lib, w, s, g, t: lib.nn_nesterov_step(ptr(w), ptr(s[0]), ptr(g),
                                                                  n, lr, mu), 1),
        "adagrad": (lambda p: torch.optim.Adagrad(p, lr=f32s(0.3), lr_decay=0.0,
                                                  initial_accumulator_value=0.0,
                                                  eps=f32s(1e-2)),
                    lambda lib, w, s, g, t: lib.nn_adagrad_step(ptr(w), ptr(s[0]), ptr(g), n,
                                                                f32s(0.3), f32s(1e-2)), 1),
        "rmsprop": (lambda p: torch.optim.RMSprop(p, lr=f32s(0.03), alpha=f32s(0.9),
                                                  eps=f32s(1e-2)),
                    lambda lib, w, s, g, t: lib.nn_rmsprop_step(ptr(w), ptr(s[0]), ptr(g), n,
                                                                f32s(0.03), f32s(0.9),
                                                                f32s(1e-2)), 1),
        "adadelta": (lambda p: torch.optim.Adadelta(p, lr=f32s(1.0), rho=f32s(0.9),
                                                    eps=f32s(1e-3)),
                     lambda lib, w, s, g, t: lib.nn_adadelta_step(ptr(w), ptr(s[0]), ptr(s[1]),
                                                                  ptr(g), n, f32s(1.0),
                                                                  f32s(0.9), f32s(1e-3)), 2),
        "adam": (lambda p: torch.optim.Adam(p, lr=f32s(0.1), betas=(f32s(0.9), f32s(0.99)),
                                            eps=f32s(1e-2)),
                 lambda lib, w, s, g, t: lib.nn_adam_step(ptr(w), ptr(s[0]), ptr(s[1]), ptr(g),
                                                          n, f32s(0.1), f32s(0.9), f32s(0.99),
                                                          f32s(1e-2), t), 2),
        "adamw": (lambda p: torch.optim.AdamW(p, lr=f32s(0.1), betas=(f32s(0.9), f32s(0.99)),
                                              eps=f32s(1e-2), weight_decay=f32s(0.5)),
                  lambda lib, w, s, g, t: lib.nn_adamw_step(ptr(w), ptr(s[0]), ptr(s[1]),
                                                            ptr(g), n, f32s(0.1), f32s(0.9),
                                                            f32s(0.99), f32s(1e-2), f32s(0.5),
                                                            t), 2),
    }


def check_optimizer(lib, rng, make_torch, c_step, n_state):
    """N_STEPS steps from the same weights and gradients; weights compared after each.

    Besides the weights themselves, the displacement w_t - w_0 is compared
    (scaled), so that an error in a small update is not hidden by the weight.
    """
    w0 = f32(rng.normal(size=N_PARAM))
    grads = [f32(rng.normal(0.0, 1.0, size=N_PARAM) * rng.choice([0.03, 1.0], size=N_PARAM))
             for _ in range(N_STEPS)]
    p = torch.nn.Parameter(t64(w0))
    opt = make_torch([p])
    w = w0.copy()
    state = [np.zeros(N_PARAM, np.float32) for _ in range(n_state)]
    cmp = Comparison()
    for t, g in enumerate(grads, start=1):
        p.grad = t64(g)
        opt.step()
        c_step(lib, w, state, g, t)
        cmp.add(f"step {t}: w", w, as_np(p), scaled=True)     # w0 - Σ updates: a sum
        cmp.add(f"step {t}: w - w0", w.astype(np.float64) - w0, as_np(p) - w0, scaled=True)
    return cmp


def check_lr_schedules(lib):
    """Step, exponential, cosine and warm-up schedules vs torch.optim.lr_scheduler.

    Warm-up lr0 (t+1)/W is LinearLR(start_factor=1/W, total_iters=W-1).
    """
    lr0, gamma, lr_min = f32s(0.2), f32s(0.7), f32s(0.01)
    step_size, total, warmup, epochs = 3, 12, 5, 16
    sched = torch.optim.lr_scheduler
    p = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))]

    def torch_rates(make):
        opt = torch.optim.SGD(p, lr=lr0)
        s = make(opt)
        rates = []
        for _ in range(epochs):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            s.step()
        return np.array(rates)

    cases = [
        ("step decay", lambda e: lib.nn_lr_step_decay(lr0, e, step_size, gamma),
         lambda o: sched.StepLR(o, step_size=step_size, gamma=gamma)),
        ("exponential", lambda e: lib.nn_lr_exponential(lr0, e, gamma),
         lambda o: sched.ExponentialLR(o, gamma=gamma)),
        ("cosine", lambda e: lib.nn_lr_cosine(lr0, e, total, lr_min),
         lambda o: sched.CosineAnnealingLR(o, T_max=total, eta_min=lr_min)),
        ("warm-up", lambda e: lib.nn_lr_warmup(lr0, e, warmup),
         lambda o: sched.LinearLR(o, start_factor=1.0 / warmup, end_factor=1.0,
                                  total_iters=warmup - 1)),
    ]
    cmp = Comparison()
    for label, c_rate, make in cases:
        want = torch_rates(make)
        if label == "cosine":           # nnlab clamps t to T; PyTorch's cosine rises again
            want[total + 1:] = want[total]
        got = np.array([c_rate(e) for e in range(epochs)])
        cmp.add(label, got, want)
    return cmp


# ----------------------------------------------------------------- lab 4: a training run

def check_training(lib, rng, n_steps=20, batch=7, lr=0.1):
    """A 20-16-12-4 ReLU MLP trained by minibatch SGD with cross-entropy, in nnlab and in torch.

    Same initial weights, same minibatches in the same order. nnlab's side is
    the lab kernels called one by one, gradients zeroed every step. Compared:
    the loss of every step (elementwise) and the final weights (scaled).
    """
    sizes = [20, 16, 12, 4]
    L = len(sizes) - 1
    relu = ACTS["NN_ACT_RELU"]
    lr = f32s(lr)
    rows = n_steps * batch
    x_all = f32(rng.normal(size=(rows, sizes[0])))
    teacher = rng.normal(size=(sizes[0], sizes[-1]))
    y_all = np.argmax(x_all @ teacher, axis=1).astype(np.int32)   # a learnable labelling
    order = rng.permutation(rows)
    ws = [f32(rng.uniform(-1, 1, size=(sizes[l + 1], sizes[l])) * math.sqrt(6.0 / sizes[l]))
          for l in range(L)]
    bs = [f32(rng.uniform(-0.1, 0.1, size=sizes[l + 1])) for l in range(L)]

    # torch side
    wt = [torch.nn.Parameter(t64(w)) for w in ws]
    bt = [torch.nn.Parameter(t64(b)) for b in bs]
    opt = torch.optim.SGD(wt + bt, lr=lr)
    torch_losses = []
    for s in range(n_steps):
        idx = order[s * batch:(s + 1) * batch]
        h = t64(x_all[idx])
        for l in range(L):
            h = F.linear(h, wt[l], bt[l])
            if l < L - 1:
                h = F.relu(h)
        loss = F.cross_entropy(h, torch.from_numpy(y_all[idx].astype(np.int64)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())

    # nnlab side: z[l] = a[l] W_lᵀ + b_l, a[l+1] = relu(z[l]); logits z[L-1]
    ws = [w.copy() for w in ws]
    bs = [b.copy() for b in bs]
    c_losses = []
    for s in range(n_steps):
        idx = order[s * batch:(s + 1) * batch]
        a = [f32(x_all[idx])]
        labels = np.ascontiguousarray(y_all[idx], dtype=np.int32)
        z = []
        for l in range(L):
            zl = np.zeros((batch, sizes[l + 1]), np.float32)
            lib.nn_dense_forward(ptr(zl), ptr(a[l]), ptr(ws[l]), ptr(bs[l]),
                                 batch, sizes[l], sizes[l + 1])
            z.append(zl)
            if l < L - 1:
                al = np.zeros_like(zl)
                lib.nn_activation_forward(ptr(al), ptr(zl), zl.size, relu)
                a.append(al)
        c_losses.append(lib.nn_cross_entropy_loss(ptr(z[-1]), ptr(labels), batch, sizes[-1]))

        dws = [np.zeros_like(w) for w in ws]
        dbs = [np.zeros_like(b) for b in bs]
        dz = np.zeros_like(z[-1])
        lib.nn_cross_entropy_backward(ptr(dz), ptr(z[-1]), ptr(labels), batch, sizes[-1])
        for l in reversed(range(L)):
            da = np.zeros_like(a[l]) if l > 0 else None
            lib.nn_dense_backward(ptr(da), ptr(dws[l]), ptr(dbs[l]), ptr(dz), ptr(a[l]),
                                  ptr(ws[l]), batch, sizes[l], sizes[l + 1])
            if l > 0:
                dz = np.zeros_like(z[l - 1])
                lib.nn_activation_backward(ptr(dz), ptr(da), ptr(z[l - 1]), dz.size, relu)
        for p, g in zip(ws + bs, dws + dbs):
            lib.nn_sgd_step(ptr(p), ptr(g), p.size, lr)

    cmp = Comparison()
    cmp.add("loss per step", np.array(c_losses), np.array(torch_losses))
    for l in range(L):
        cmp.add(f"final W[{l}]", ws[l], as_np(wt[l]), scaled=True)
        cmp.add(f"final b[{l}]", bs[l], as_np(bt[l]), scaled=True)
    return cmp


# ----------------------------------------------------------------- lab 6: regularization

# ε is 0.1 rather than the usual 1e-5: large enough next to the channel
# variances (0.25 to 9) that leaving it out, or adding it outside the
# square root, changes the result far beyond the tolerance.
BN_MOMENTUM, BN_EPS = 0.1, 0.1


def bn_input(rng, shape):
    """Random input whose channels (axis 1) differ in offset and spread."""
    c = shape[1]
    bshape = (1, c) + (1,) * (len(shape) - 2)
    offset = rng.uniform(-3.0, 3.0, size=c).reshape(bshape)
    spread = rng.uniform(0.5, 3.0, size=c).reshape(bshape)
    return f32(offset + spread * rng.normal(size=shape))


def bn_dims(shape):
    """nnlab's (batch, c, spatial) for a PyTorch [N, C] or [N, C, H, W] shape."""
    return shape[0], shape[1], int(np.prod(shape[2:], dtype=np.int64))


def check_batchnorm_train(lib, rng, shape):
    """nn_batchnorm_forward_train vs F.batch_norm(training=True).

    Compared: out, x̂ = (x - μ)/√(σ² + ε), the saved mean and invstd, and the
    running mean and variance that PyTorch updates in place (momentum 0.1,
    unbiased variance). Axes other than 1 are the ones reduced over.
    """
    batch, c, spatial = bn_dims(shape)
    mom, eps = f32s(BN_MOMENTUM), f32s(BN_EPS)
    x = bn_input(rng, shape)
    gamma = f32(rng.uniform(0.5, 2.0, size=c))
    beta = f32(rng.normal(size=c))
    run_mean = f32(rng.normal(size=c))
    run_var = f32(rng.uniform(0.5, 2.0, size=c))

    rm_t, rv_t = t64(run_mean), t64(run_var)
    xt = t64(x)
    want_out = F.batch_norm(xt, rm_t, rv_t, weight=t64(gamma), bias=t64(beta), training=True,
                            momentum=mom, eps=eps)
    axes = [0] + list(range(2, len(shape)))
    mu = xt.mean(dim=axes, keepdim=True)
    var = xt.var(dim=axes, unbiased=False, keepdim=True)
    want_xhat = (xt - mu) / torch.sqrt(var + eps)

    out = np.full(shape, np.nan, np.float32)
    xhat = np.full(shape, np.nan, np.float32)
    mean = np.full(c, np.nan, np.float32)
    invstd = np.full(c, np.nan, np.float32)
    lib.nn_batchnorm_forward_train(ptr(out), ptr(xhat), ptr(mean), ptr(invstd), ptr(run_mean),
                                   ptr(run_var), ptr(x), ptr(gamma), ptr(beta), batch, c,
                                   spatial, mom, eps)
    cmp = Comparison()
    # γ x̂ + β and x̂ come from x - μ, which cancels: scaled.
    cmp.add("out", out, as_np(want_out), scaled=True)
    cmp.add("xhat", xhat, as_np(want_xhat), scaled=True)
    cmp.add("mean", mean, as_np(mu).ravel())
    cmp.add("invstd", invstd, as_np(1.0 / torch.sqrt(var + eps)).ravel())
    cmp.add("running mean", run_mean, as_np(rm_t))
    cmp.add("running var", run_var, as_np(rv_t))
    return cmp


def check_batchnorm_eval(lib, rng, shape):
    """nn_batchnorm_forward_eval vs F.batch_norm(training=False).

    The running statistics are far from the batch's own (mean offset by 2,
    variance ×4), so normalising with the batch statistics cannot pass.
    """
    batch, c, spatial = bn_dims(shape)
    eps = f32s(BN_EPS)
    x = bn_input(rng, shape)
    gamma = f32(rng.uniform(0.5, 2.0, size=c))
    beta = f32(rng.normal(size=c))
    axes = tuple([0] + list(range(2, len(shape))))
    run_mean = f32(x.mean(axis=axes) + 2.0)
    run_var = f32(4.0 * x.var(axis=axes))
    want = F.batch_norm(t64(x), t64(run_mean), t64(run_var), weight=t64(gamma),
                        bias=t64(beta), training=False, eps=eps)
    out = np.full(shape, np.nan, np.float32)
    lib.nn_batchnorm_forward_eval(ptr(out), ptr(x), ptr(gamma), ptr(beta), ptr(run_mean),
                                  ptr(run_var), batch, c, spatial, eps)
    cmp = Comparison()
    cmp.add("out", out, as_np(want), scaled=True)
    return cmp


def check_batchnorm_backward(lib, rng, shape):
    """nn_batchnorm_backward (din, dγ, dβ) vs autograd through F.batch_norm(training=True).

    x̂ and invstd are the C forward's own. Done twice: from zeroed gradients,
    then from random ones, which must be kept and added to.
    """
    batch, c, spatial = bn_dims(shape)
    mom, eps = f32s(BN_MOMENTUM), f32s(BN_EPS)
    x = bn_input(rng, shape)
    gamma = f32(rng.uniform(0.5, 2.0, size=c))
    beta = f32(rng.normal(size=c))
    dout = f32(rng.normal(size=shape))
    xt, gt, bt = t64(x, True), t64(gamma, True), t64(beta, True)
    F.batch_norm(xt, None, None, weight=gt, bias=bt, training=True, eps=eps).backward(t64(dout))
    grads = [as_np(t.grad) for t in (xt, gt, bt)]

    out, xhat = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    mean, invstd = np.zeros(c, np.float32), np.zeros(c, np.float32)
    run_mean, run_var = np.zeros(c, np.float32), np.ones(c, np.float32)
    lib.nn_batchnorm_forward_train(ptr(out), ptr(xhat), ptr(mean), ptr(invstd), ptr(run_mean),
                                   ptr(run_var), ptr(x), ptr(gamma), ptr(beta), batch, c,
                                   spatial, mom, eps)
    cmp = Comparison()
    for prior in (False, True):
        start = [f32(rng.normal(size=g.shape)) if prior else np.zeros(g.shape, np.float32)
                 for g in grads]
        din, dgamma, dbeta = (a.copy() for a in start)
        lib.nn_batchnorm_backward(ptr(din), ptr(dgamma), ptr(dbeta), ptr(dout), ptr(xhat),
                                  ptr(gamma), ptr(invstd), batch, c, spatial)
        tag = " (accumulated)" if prior else ""
        for label, got, s0, g in zip(("din", "dgamma", "dbeta"), (din, dgamma, dbeta), start,
                                     grads):
            # din = γ invstd (dy - mean dy - x̂ mean(dy x̂)) cancels: scaled.
            cmp.add(label + tag, got, s0.astype(np.float64) + g, scaled=True)
    return cmp


def check_dropout(lib, rng, p=0.3, n=2000):
    """nn_dropout_forward / _backward with the mask the C code drew.

    Training: every mask value is 0 or 1/(1 - p) (as float32 computes it),
    the kept fraction is within 5σ of 1 - p, out = in·mask and
    din = dout·mask (autograd of x·mask, from zero and accumulated).
    Evaluation: out = in, mask = 1, and the generator state is untouched.
    """
    p = f32s(p)
    x = f32(rng.normal(size=n))
    dout = f32(rng.normal(size=n))
    state = NNRng()
    lib.nn_rng_seed(ctypes.byref(state), int(rng.integers(1 << 62)))
    out = np.full(n, np.nan, np.float32)
    mask = np.full(n, np.nan, np.float32)
    lib.nn_dropout_forward(ptr(out), ptr(mask), ptr(x), n, p, 1, ctypes.byref(state))

    cmp = Comparison()
    keep = float(np.float32(1.0) / (np.float32(1.0) - np.float32(p)))
    nearest = np.where(np.abs(mask) < 0.5 * keep, 0.0, keep)
    cmp.add("mask in {0, 1/(1-p)}", mask, nearest)
    kept = float(np.mean(mask != 0))
    sigma = math.sqrt(p * (1.0 - p) / n)
    cmp.require("kept fraction", abs(kept - (1.0 - p)) < 5.0 * sigma,
                f"{kept:.4f}, expected {1.0 - p:.4f} ± {5.0 * sigma:.4f}")
    cmp.add("out = in*mask", out, as_np(t64(x) * t64(mask)))

    xt = t64(x, True)
    (xt * t64(mask)).backward(t64(dout))
    for prior in (False, True):
        din = f32(rng.normal(size=n)) if prior else np.zeros(n, np.float32)
        want = din.astype(np.float64) + as_np(xt.grad)
        lib.nn_dropout_backward(ptr(din), ptr(dout), ptr(mask), n)
        # a sum of two terms once accumulated, which may cancel: scaled.
        cmp.add("din" + (" (accumulated)" if prior else ""), din, want, scaled=prior)

    before = (state.state, state.inc)
    out[:], mask[:] = np.nan, np.nan
    lib.nn_dropout_forward(ptr(out), ptr(mask), ptr(x), n, p, 0, ctypes.byref(state))
    cmp.add("eval out = in", out, x)
    cmp.add("eval mask = 1", mask, np.ones(n))
    cmp.require("eval leaves the rng alone", (state.state, state.inc) == before)
    return cmp


# ----------------------------------------------------------------- lab 7: convolution, pooling

CONV_SYMBOLS = ("nn_conv_out_size", "nn_im2col", "nn_col2im", "nn_conv2d_forward_direct",
                "nn_conv2d_backward_direct", "nn_conv2d_workspace", "nn_conv2d_forward",
                "nn_conv2d_backward")
POOL_SYMBOLS = ("nn_maxpool_forward", "nn_maxpool_backward", "nn_avgpool_forward",
                "nn_avgpool_backward")

# (batch, c_in, h, w, c_out, kh, kw, stride, pad): the case of the lab, and
# a non-square kernel whose stride exceeds it and whose padding exceeds half.
CONV_CASES = {
    "3x3_s2_p1": dict(batch=2, c_in=3, h=7, w=9, c_out=4, kh=3, kw=3, stride=2, pad=1),
    "2x3_s3_p2": dict(batch=2, c_in=2, h=8, w=7, c_out=3, kh=2, kw=3, stride=3, pad=2),
}


def read_int_struct(include_dir, header, name):
    """Field names of `typedef struct { int a; int b, c; ... } name;` in header order."""
    text = (include_dir / header).read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    body = re.search(r"typedef\s+struct\s*\{(.*?)\}\s*" + name + r"\s*;", text, re.S).group(1)
    fields = []
    for decl in filter(None, (d.strip() for d in body.split(";"))):
        kind, _, names = decl.partition(" ")
        if kind != "int":
            raise ValueError(f"{name}: field '{decl}' is not an int")
        fields += [f.strip() for f in names.split(",")]
    return fields


def conv_case(rng, k):
    """Inputs of one convolution and the torch tensors made from them."""
    x = f32(rng.normal(size=(k["batch"], k["c_in"], k["h"], k["w"])))
    w = f32(rng.normal(size=(k["c_out"], k["c_in"], k["kh"], k["kw"])) /
            math.sqrt(k["c_in"] * k["kh"] * k["kw"]))
    b = f32(rng.normal(size=k["c_out"]))
    return SHAPES["nn_conv_shape"](**k), x, w, b


def conv_out_shape(lib, k):
    oh = lib.nn_conv_out_size(k["h"], k["kh"], k["stride"], k["pad"])
    ow = lib.nn_conv_out_size(k["w"], k["kw"], k["stride"], k["pad"])
    return (k["batch"], k["c_out"], oh, ow)


def check_conv_forward(lib, rng, k):
    """nn_conv2d_forward and _direct vs F.conv2d (and nn_conv_out_size vs its shape)."""
    shape, x, w, b = conv_case(rng, k)
    want = F.conv2d(t64(x), t64(w), t64(b), stride=k["stride"], padding=k["pad"])
    cmp = Comparison()
    got_shape = conv_out_shape(lib, k)
    cmp.require("nn_conv_out_size", got_shape == tuple(want.shape),
                f"{got_shape}, PyTorch {tuple(want.shape)}")
    if got_shape != tuple(want.shape):
        return cmp
    work = np.full(lib.nn_conv2d_workspace(ctypes.byref(shape)), np.nan, np.float32)
    out = np.full(got_shape, np.nan, np.float32)
    lib.nn_conv2d_forward(ptr(out), ptr(x), ptr(w), ptr(b), ptr(work), ctypes.byref(shape))
    cmp.add("out (im2col + sgemm)", out, as_np(want), scaled=True)
    out = np.full(got_shape, np.nan, np.float32)
    lib.nn_conv2d_forward_direct(ptr(out), ptr(x), ptr(w), ptr(b), ctypes.byref(shape))
    cmp.add("out (direct)", out, as_np(want), scaled=True)
    return cmp


def check_conv_backward(lib, rng, k):
    """nn_conv2d_backward and _direct (din, dW, db) vs autograd through F.conv2d.

    Each from zeroed gradients, from random ones (accumulated), and with
    din = NULL (dW, db still right).
    """
    shape, x, w, b = conv_case(rng, k)
    xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
    y = F.conv2d(xt, wt, bt, stride=k["stride"], padding=k["pad"])
    dout = f32(rng.normal(size=tuple(y.shape)))
    y.backward(t64(dout))
    grads = [as_np(t.grad) for t in (xt, wt, bt)]
    work = np.full(lib.nn_conv2d_workspace(ctypes.byref(shape)), np.nan, np.float32)
    versions = {
        "sgemm": lambda din, dw, db: lib.nn_conv2d_backward(
            ptr(din), ptr(dw), ptr(db), ptr(dout), ptr(x), ptr(w), ptr(work), ctypes.byref(shape)),
        "direct": lambda din, dw, db: lib.nn_conv2d_backward_direct(
            ptr(din), ptr(dw), ptr(db), ptr(dout), ptr(x), ptr(w), ctypes.byref(shape)),
    }
    cmp = Comparison()
    for version, call in versions.items():
        for mode in ("zero", "accumulated", "din NULL"):
            start = [f32(rng.normal(size=g.shape)) if mode != "zero" else
                     np.zeros(g.shape, np.float32) for g in grads]
            got = [a.copy() for a in start]
            call(None if mode == "din NULL" else got[0], got[1], got[2])
            for i, label in enumerate(("din", "dW", "db")):
                if i == 0 and mode == "din NULL":
                    cmp.add(f"{version} {mode}: din untouched", got[0], start[0])
                    continue
                cmp.add(f"{version} {mode}: {label}", got[i],
                        start[i].astype(np.float64) + grads[i], scaled=True)
    return cmp


def check_im2col(lib, rng, k):
    """nn_im2col vs F.unfold and nn_col2im (accumulating) vs F.fold, image by image."""
    shape, x, _, _ = conv_case(rng, k)
    kw_ = dict(kernel_size=(k["kh"], k["kw"]), padding=k["pad"], stride=k["stride"])
    _, _, oh, ow = conv_out_shape(lib, k)
    rows, cols = k["c_in"] * k["kh"] * k["kw"], oh * ow
    cmp = Comparison()
    for n in range(k["batch"]):
        img = np.ascontiguousarray(x[n])
        col = np.full((rows, cols), np.nan, np.float32)
        lib.nn_im2col(ptr(col), ptr(img), ctypes.byref(shape))
        cmp.add(f"im2col image {n}", col, as_np(F.unfold(t64(img[None]), **kw_)[0]))
        g = f32(rng.normal(size=(rows, cols)))
        acc = f32(rng.normal(size=img.shape))
        want = acc.astype(np.float64) + as_np(
            F.fold(t64(g[None]), output_size=(k["h"], k["w"]), **kw_)[0])
        lib.nn_col2im(ptr(acc), ptr(g), ctypes.byref(shape))
        cmp.add(f"col2im image {n} (accumulated)", acc, want, scaled=True)
    return cmp


POOL_CASES = {
    "k3_s2": dict(batch=2, c=3, h=7, w=9, k=3, stride=2),     # overlapping windows
    "k2_s2": dict(batch=2, c=3, h=7, w=9, k=2, stride=2),     # odd sizes: last row/col dropped
}


def pool_case(rng, k, ties=False):
    """Pooling input; ties=True draws from {0, 1, 2} so that windows hold equal maxima."""
    size = (k["batch"], k["c"], k["h"], k["w"])
    x = rng.integers(0, 3, size=size) if ties else rng.normal(size=size)
    return SHAPES["nn_pool_shape"](**k), f32(x)


def check_maxpool(lib, rng, k, ties=False):
    """nn_maxpool_forward (out, argmax) and _backward vs F.max_pool2d(return_indices=True).

    PyTorch's indices are y·w + x within the plane, nnlab's convention; on ties
    both keep the first maximum in row-major window order.
    """
    shape, x = pool_case(rng, k, ties)
    xt = t64(x, True)
    y, idx = F.max_pool2d(xt, k["k"], k["stride"], return_indices=True)
    dout = f32(rng.normal(size=tuple(y.shape)))
    y.backward(t64(dout))
    out = np.full(tuple(y.shape), np.nan, np.float32)
    argmax = np.full(tuple(y.shape), -1, np.int32)
    lib.nn_maxpool_forward(ptr(out), ptr(argmax), ptr(x), ctypes.byref(shape))
    cmp = Comparison()
    cmp.add("out", out, as_np(y))
    cmp.add("argmax", argmax, idx.numpy())
    for prior in (False, True):
        din = f32(rng.normal(size=x.shape)) if prior else np.zeros(x.shape, np.float32)
        want = din.astype(np.float64) + as_np(xt.grad)
        lib.nn_maxpool_backward(ptr(din), ptr(dout), ptr(argmax), ctypes.byref(shape))
        # overlapping windows add several gradients into one pixel: scaled.
        cmp.add("din" + (" (accumulated)" if prior else ""), din, want, scaled=True)
    return cmp


def check_avgpool(lib, rng, k):
    """nn_avgpool_forward / _backward vs F.avg_pool2d and its autograd."""
    shape, x = pool_case(rng, k)
    xt = t64(x, True)
    y = F.avg_pool2d(xt, k["k"], k["stride"])
    dout = f32(rng.normal(size=tuple(y.shape)))
    y.backward(t64(dout))
    out = np.full(tuple(y.shape), np.nan, np.float32)
    lib.nn_avgpool_forward(ptr(out), ptr(x), ctypes.byref(shape))
    cmp = Comparison()
    cmp.add("out", out, as_np(y), scaled=True)          # a window's mean: a sum
    for prior in (False, True):
        din = f32(rng.normal(size=x.shape)) if prior else np.zeros(x.shape, np.float32)
        want = din.astype(np.float64) + as_np(xt.grad)
        lib.nn_avgpool_backward(ptr(din), ptr(dout), ctypes.byref(shape))
        cmp.add("din" + (" (accumulated)" if prior else ""), din, want, scaled=True)
    return cmp


# ----------------------------------------------------------------- main


def main(argv):
    global np, torch, F
    ap = argparse.ArgumentParser(description="Check libnnlab against PyTorch.")
    ap.add_argument("library", help="path to libnnlab.so")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="numpy seed of the inputs")
    ap.add_argument("--include", type=Path, default=DEFAULT_INCLUDE,
                    help="directory of the nnlab headers (default: %(default)s)")
    args = ap.parse_args(argv)

    lib_path = Path(args.library)
    if not lib_path.is_file():
        print(f"oracle: no library at {lib_path} (build it with `make lib`)", file=sys.stderr)
        return 2
    if not (args.include / "activations.h").is_file():
        print(f"oracle: no activations.h in {args.include}", file=sys.stderr)
        return 2

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as under the grader
    try:
        import numpy
        import torch as torch_module
        import torch.nn.functional as functional
    except ImportError:
        print("oracle: skipped (python3-torch not installed)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    np, torch, F = numpy, torch_module, functional
    torch.set_num_threads(1)

    try:
        lib = Lib(lib_path.resolve())
    except OSError as e:
        print(f"oracle: cannot load {lib_path}: {e}", file=sys.stderr)
        return 2
    try:
        lib.nn_blas_set_threads(1)
    except AttributeError:
        pass

    acts, slope, alpha = read_activation_header(args.include)
    ACTS.update(acts)
    for header, name in (("conv.h", "nn_conv_shape"), ("pool.h", "nn_pool_shape")):
        SHAPES[name] = int_struct(name, read_int_struct(args.include, header, name))
    refs = torch_activations(slope, alpha)
    rng = np.random.default_rng(args.seed)
    report = Report()

    print(f"oracle: {lib_path} vs PyTorch {torch.__version__}, seed {args.seed}")
    report.run("logistic_step", check_logistic_step, lib, rng)
    for name, value in acts.items():
        short = name[len("NN_ACT_"):].lower()
        if name not in refs:
            report.result(f"{short}_forward", math.nan, TOL, f"{name}: no PyTorch reference")
            continue
        fwd, grad = refs[name]
        report.run(f"{short}_forward", check_activation_forward, lib, rng, value, fwd)
        report.run(f"{short}_backward", check_activation_backward, lib, rng, value, fwd, grad)
    report.run("softmax_forward", check_softmax_forward, lib, rng, False)
    report.run("log_softmax_forward", check_softmax_forward, lib, rng, True)
    report.run("softmax_backward", check_softmax_backward, lib, rng)
    report.run("dense_forward", check_dense_forward, lib, rng)
    report.run("dense_backward", check_dense_backward, lib, rng, False)
    report.run("dense_backward_accumulate", check_dense_backward, lib, rng, True)
    report.run("mse_loss_backward", check_mse, lib, rng)
    report.run("bce_loss_backward", check_bce, lib, rng)
    report.run("cross_entropy_loss_backward", check_cross_entropy, lib, rng)
    report.run("backward_accumulate", check_backward_accumulates, lib, rng)
    report.run("mlp_forward_backward", check_mlp, lib, rng)
    for name, (make_torch, c_step, n_state) in optimizer_cases().items():
        report.run(f"optimizer_{name}", check_optimizer, lib, rng, make_torch, c_step, n_state)
    report.run("lr_schedules", check_lr_schedules, lib)
    report.run("train_mlp_sgd_20_steps", check_training, lib, rng)

    for dims, shape in (("2d", (7, 5)), ("4d", (3, 4, 5, 6))):
        report.run(f"batchnorm_train_{dims}", check_batchnorm_train, lib, rng, shape)
        report.run(f"batchnorm_eval_{dims}", check_batchnorm_eval, lib, rng, shape)
        report.run(f"batchnorm_backward_{dims}", check_batchnorm_backward, lib, rng, shape)
    report.run("dropout_forward_backward", check_dropout, lib, rng)

    for case, k in CONV_CASES.items():
        for what, check in (("forward", check_conv_forward), ("backward", check_conv_backward),
                            ("im2col_col2im", check_im2col)):
            report.run(f"conv2d_{what}_{case}", check, lib, rng, k,
                       needs=CONV_SYMBOLS, lib=lib)
    for case, k in POOL_CASES.items():
        report.run(f"maxpool_{case}", check_maxpool, lib, rng, k, needs=POOL_SYMBOLS, lib=lib)
        report.run(f"avgpool_{case}", check_avgpool, lib, rng, k, needs=POOL_SYMBOLS, lib=lib)
        report.run(f"maxpool_ties_{case}", check_maxpool, lib, rng, k, True,
                   needs=POOL_SYMBOLS, lib=lib)

    print(f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""tapeflow from Python through cppyy, with the pythonizations a Python user expects.

    import tapeflow
    tf = tapeflow.load()          # or tapeflow.load("build/libtapeflow.so", "path/to/source")
    t = tf.tensor([[1, 2], [3, 4]])
    1 - t, 2 * t, 1 / t, t += 1   # numbers on either side
    t                             # tensor([[...]], shape=(2, 2), dtype=float32, device=cpu)
    numpy.asarray(t)              # shares t's memory (CPU tensors; the array keeps t alive)
    tf.from_numpy(a)              # shares a's memory (keeps a alive while the tensor lives)

load() finds the library in $TAPEFLOW_LIB, then next to this file's repository (build/), then
the system's library path; the headers in $TAPEFLOW_INCLUDE, the repository, or pkg-config's
tapeflow include directory. Everything of the C++ API stays reachable on the returned namespace
(tf.nn.Sequential, tf.optim.Adam, ...).
"""
import ctypes.util
import enum
import os
import subprocess

__all__ = ["load", "DType"]

_here = os.path.dirname(os.path.abspath(__file__))
_repo = os.path.normpath(os.path.join(_here, "..", ".."))
_loaded = None


class DType(enum.IntEnum):
    """tapeflow::DType as Python shows it; equal to the C++ constants (tf.kFloat32 == DType.float32)."""
    bool = 0
    uint8 = 1
    int32 = 2
    int64 = 3
    float32 = 4
    float64 = 5

    def __repr__(self):
        return "tapeflow." + self.name

    __str__ = __repr__


_NUMPY_TYPESTR = {DType.bool: "|b1", DType.uint8: "|u1", DType.int32: "<i4", DType.int64: "<i8",
                  DType.float32: "<f4", DType.float64: "<f8"}
_FROM_TYPESTR = {v[1:]: k for k, v in _NUMPY_TYPESTR.items()}
_ITEMSIZE = {DType.bool: 1, DType.uint8: 1, DType.int32: 4, DType.int64: 8, DType.float32: 4, DType.float64: 8}

_HELPERS = r"""
#include <cstdint>
namespace tapeflow_py {
using tapeflow::Tensor;
inline Tensor radd(const Tensor& t, double s) { return s + t; }
inline Tensor radd(const Tensor& t, int64_t s) { return s + t; }
inline Tensor rsub(const Tensor& t, double s) { return s - t; }
inline Tensor rsub(const Tensor& t, int64_t s) { return s - t; }
inline Tensor rmul(const Tensor& t, double s) { return s * t; }
inline Tensor rmul(const Tensor& t, int64_t s) { return s * t; }
inline Tensor rdiv(const Tensor& t, double s) { return s / t; }
inline Tensor rdiv(const Tensor& t, int64_t s) { return s / t; }
inline void iadd(Tensor& t, double s) { t += s; }
inline void iadd(Tensor& t, int64_t s) { t += s; }
inline void isub(Tensor& t, double s) { t -= s; }
inline void isub(Tensor& t, int64_t s) { t -= s; }
inline void imul(Tensor& t, double s) { t *= s; }
inline void imul(Tensor& t, int64_t s) { t *= s; }
inline void idiv(Tensor& t, double s) { t /= s; }
inline void idiv(Tensor& t, int64_t s) { t /= s; }
inline void iadd(Tensor& t, const Tensor& o) { t += o; }
inline void isub(Tensor& t, const Tensor& o) { t -= o; }
inline void imul(Tensor& t, const Tensor& o) { t *= o; }
inline void idiv(Tensor& t, const Tensor& o) { t /= o; }
inline uintptr_t address(const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); }
inline Tensor wrap(uintptr_t p, const tapeflow::Shape& shape, int dtype) {
  return tapeflow::from_blob(reinterpret_cast<void*>(p), shape, static_cast<tapeflow::DType>(dtype));
}
inline Tensor copy_in(uintptr_t p, const tapeflow::Shape& shape, int dtype) {
  return tapeflow::from_blob_copy(reinterpret_cast<const void*>(p), shape, static_cast<tapeflow::DType>(dtype));
}
inline int dtype_of(const Tensor& t) { return static_cast<int>(t.dtype()); }
}  // namespace tapeflow_py
"""


def _find_library(library):
    cands = [library, os.environ.get("TAPEFLOW_LIB"), os.path.join(_repo, "build", "libtapeflow.so"),
             ctypes.util.find_library("tapeflow")]
    for c in cands:
        if c and (os.path.exists(c) or not os.path.isabs(c)):
            return c
    raise RuntimeError("tapeflow.load: libtapeflow.so not found (pass its path or set TAPEFLOW_LIB)")


def _find_include(include_dir):
    cands = [include_dir, os.environ.get("TAPEFLOW_INCLUDE"), _repo]
    for c in cands:
        if c and os.path.exists(os.path.join(c, "tapeflow.h")):
            return c
    try:
        out = subprocess.run(["pkg-config", "--variable=includedir", "tapeflow"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if out and os.path.exists(os.path.join(out, "tapeflow", "tapeflow.h")):
            return os.path.join(out, "tapeflow")
    except (OSError, subprocess.CalledProcessError):
        pass
    raise RuntimeError("tapeflow.load: tapeflow.h not found (pass include_dir or set TAPEFLOW_INCLUDE)")


def _flatten(data):
    """Nested Python lists/tuples (or numbers) -> (flat list, shape); rejects ragged lists."""
    if not isinstance(data, (list, tuple)):
        return [data], []
    if len(data) == 0:
        return [], [0]
    parts = [_flatten(d) for d in data]
    shape = parts[0][1]
    for p in parts:
        if p[1] != shape:
            raise ValueError("tensor: ragged nested list (sub-lists of different shapes %s and %s)" % (shape, p[1]))
    return [v for p in parts for v in p[0]], [len(data)] + shape


def load(library=None, include_dir=None):
    """Loads libtapeflow through cppyy (once) and returns the pythonized tapeflow namespace."""
    global _loaded
    if _loaded is not None:
        return _loaded
    import cppyy

    cppyy.add_include_path(_find_include(include_dir))
    cppyy.load_library(_find_library(library))
    cppyy.include("tapeflow.h")
    cppyy.cppdef(_HELPERS)
    tf = cppyy.gbl.tapeflow
    _pythonize(tf, cppyy.gbl.tapeflow_py, cppyy.gbl.std)
    _loaded = tf
    return tf


def _pythonize(tf, py, std):
    T = tf.Tensor
    cpp_tensor = tf.tensor
    dtype_method = T.dtype

    def scalar_or_tensor(op_scalar, op_tensor):
        def f(self, other):
            if isinstance(other, (bool, int, float)) and not isinstance(other, enum.Enum):
                return op_scalar(self, int(other) if isinstance(other, (bool, int)) else float(other))
            return op_tensor(self, other)
        return f

    # Numbers on the left: Python asks the tensor (__radd__ & co.) once int/float give up.
    T.__radd__ = scalar_or_tensor(py.radd, lambda s, o: NotImplemented)
    T.__rsub__ = scalar_or_tensor(py.rsub, lambda s, o: NotImplemented)
    T.__rmul__ = scalar_or_tensor(py.rmul, lambda s, o: NotImplemented)
    T.__rtruediv__ = scalar_or_tensor(py.rdiv, lambda s, o: NotImplemented)

    def inplace(fn):
        def f(self, other):
            fn(self, int(other) if isinstance(other, (bool, int)) else (float(other) if isinstance(other, float) else other))
            return self
        return f

    T.__iadd__ = inplace(py.iadd)
    T.__isub__ = inplace(py.isub)
    T.__imul__ = inplace(py.imul)
    T.__itruediv__ = inplace(py.idiv)
    T.__repr__ = lambda self: str(self.repr()) if self.defined() else "tensor(undefined)"
    T.__str__ = lambda self: str(self.str()) if self.defined() else "tensor(undefined)"
    T.dtype = lambda self: DType(int(py.dtype_of(self)))
    T.__len__ = lambda self: int(self.size(0))

    def array_interface(self):
        if not self.defined():
            raise ValueError("__array_interface__: undefined tensor")
        if self.device().is_cuda():
            raise ValueError("__array_interface__: a CUDA tensor: call .cpu() first")
        dt = DType(int(py.dtype_of(self)))
        item = _ITEMSIZE[dt]
        return {"version": 3, "shape": tuple(int(d) for d in self.shape()),
                "strides": tuple(int(s) * item for s in self.strides()), "typestr": _NUMPY_TYPESTR[dt],
                "data": (int(py.address(self)), False)}

    T.__array_interface__ = property(array_interface)

    def tensor(data, dtype=None, device=None):
        """tf.tensor(nested lists | numbers | NumPy array, dtype=None, device=None): a copy.
        Without dtype, Python floats give float32 and ints give int64 (as PyTorch does)."""
        if hasattr(data, "__array_interface__") and not isinstance(data, T):
            t = from_numpy(data).clone()
        else:
            flat, shape = _flatten(data)
            if dtype is None:
                dtype = DType.float32 if any(isinstance(v, float) for v in flat) else (
                    DType.bool if flat and all(isinstance(v, bool) for v in flat) else DType.int64)
            vec = std.vector["double"]([float(v) for v in flat])
            t = tf.from_vector["double"](vec, tf.Shape(shape)).astype(int(dtype))
        if dtype is not None and int(py.dtype_of(t)) != int(dtype):
            t = t.astype(int(dtype))
        if device is not None:
            t = t.to(tf.Device(device) if isinstance(device, str) else device)
        return t

    def from_numpy(array):
        """A tensor sharing the NumPy array's memory (C-contiguous arrays of bool, uint8, int32,
        int64, float32, float64). The tensor keeps a reference to the array."""
        ai = array.__array_interface__
        typestr = ai["typestr"]
        if typestr[1:] not in _FROM_TYPESTR or (typestr[0] == ">"):
            raise TypeError("from_numpy: unsupported dtype %s (bool, uint8, int32, int64, float32, float64)" % typestr)
        if ai.get("strides") is not None:
            raise ValueError("from_numpy: the array must be C-contiguous (numpy.ascontiguousarray)")
        t = py.wrap(ai["data"][0], tf.Shape([int(d) for d in ai["shape"]]), int(_FROM_TYPESTR[typestr[1:]]))
        t._numpy_base = array  # the proxy keeps the array alive
        return t

    tf.tensor = tensor
    tf.tensor_cpp = cpp_tensor
    tf.from_numpy = from_numpy
    tf.DType = DType
    tf._dtype_method = dtype_method

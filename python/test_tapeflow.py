"""Checks python/tapeflow (the cppyy pythonizations) as a user types at a prompt.

    python python/test_tapeflow.py BUILD_DIR/libtapeflow.so SOURCE_DIR

Run by samples/interactive/check.sh. Exits 0 only when every check held.
"""
import sys

sys.path.insert(0, sys.argv[2] + "/python")
import tapeflow  # noqa: E402

tf = tapeflow.load(sys.argv[1], sys.argv[2])
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def values(t):
    return [float(v) for v in t.astype(tf.kFloat64).contiguous().to_vector["double"]()]


t = tf.tensor([1.0, 2.0, 4.0])
check(values(1 - t) == [0.0, -1.0, -3.0], "1 - t")
check(values(1.0 - t) == [0.0, -1.0, -3.0], "1.0 - t")
check(values(1 / t) == [1.0, 0.5, 0.25], "1 / t")
check(values(2 * t) == [2.0, 4.0, 8.0], "2 * t")
check(values(1 + t) == [2.0, 3.0, 5.0], "1 + t")
check(values(t * 2) == [2.0, 4.0, 8.0] and values(t - 1) == [0.0, 1.0, 3.0], "t * 2, t - 1")
u = tf.tensor([1.0, 2.0])
u += 1
check(values(u) == [2.0, 3.0], "t += 1")
u *= 2.5
u -= tf.tensor([1.0, 1.0])
u /= 2
check(values(u) == [2.0, 3.25], "t *= 2.5; t -= tensor; t /= 2")
check(repr(t) == "tensor([1. 2. 4.], shape=(3,), dtype=float32, device=cpu)", "repr: " + repr(t))
check(str(t) == "[1. 2. 4.]", "str: " + str(t))
check(repr(t.dtype()) == "tapeflow.float32" and t.dtype() == tf.kFloat32, "t.dtype() shows " + repr(t.dtype()))
n = tf.tensor([[1, 2], [3, 4]])
check(list(n.shape()) == [2, 2] and n.dtype() == tapeflow.DType.int64 and values(n) == [1, 2, 3, 4],
      "nested int lists: " + repr(n))
f = tf.tensor([[1.5, 2], [3, 4]], dtype=tf.DType.float64)
check(f.dtype() == tf.kFloat64 and values(f) == [1.5, 2, 3, 4], "nested lists with dtype")
check(list(tf.tensor([[[1.0], [2.0]]]).shape()) == [1, 2, 1], "3-level nesting (single column)")
try:
    tf.tensor([[1, 2], [3]])
    check(False, "ragged list raises")
except ValueError as e:
    check("ragged" in str(e), "ragged list raises ValueError: " + str(e))

try:
    import numpy as np
except ImportError:
    np = None
if np is not None:
    m = tf.arange(6, tf.Options(tf.kFloat32)).reshape([2, 3])
    a = np.asarray(m)
    check(a.dtype == np.float32 and a.shape == (2, 3) and a.tolist() == [[0, 1, 2], [3, 4, 5]], "numpy.asarray(t)")
    a[0, 0] = 42
    check(values(m)[0] == 42.0, "numpy.asarray shares memory with the tensor")
    at = np.asarray(m.T())
    check(at.shape == (3, 2) and at[0, 1] == 3, "a transposed view keeps its strides")
    b = np.array([[1, 2], [3, 4]], dtype=np.int32)
    s = tf.from_numpy(b)
    check(s.dtype() == tf.kInt32 and values(s) == [1, 2, 3, 4], "from_numpy(int32)")
    b[1, 1] = 7
    check(values(s)[3] == 7.0, "from_numpy shares memory with the array")
    c = tf.tensor(np.linspace(0, 1, 3))
    check(c.dtype() == tf.kFloat64 and values(c) == [0.0, 0.5, 1.0], "tensor(numpy array) copies, keeping float64")
    check(np.allclose(np.asarray(tf.matmul(tf.from_numpy(np.eye(2, dtype=np.float32)), m)), np.asarray(m)), "matmul on wrapped arrays")

if failures:
    print("test_tapeflow.py: %d check(s) failed" % len(failures))
    sys.exit(1)
print("test_tapeflow.py: all checks passed")

#!/usr/bin/python3
"""The C API from Python through ctypes alone (no cppyy, no compiler): tensors, a model built
layer by layer, one hand-checked SGD step, clone / copy / save / load, and bad input returning
error codes with messages. NumPy is used when installed, never required.
Usage: test_ctypes.py path/to/libtapeflow.so TMPDIR. Ends with "capi_ctypes: N passed, M failed"."""
import ctypes as C
import os
import sys

lib = C.CDLL(sys.argv[1])
tmp = sys.argv[2] if len(sys.argv) > 2 else "/tmp"

P = C.c_void_p
I64P = C.POINTER(C.c_int64)
lib.tf_last_error.restype = C.c_char_p
lib.tf_status_string.restype = C.c_char_p
lib.tf_status_string.argtypes = [C.c_int]
lib.tf_version.restype = C.c_int
lib.tf_version_string.restype = C.c_char_p
sigs = {
    "tf_check_version": [C.c_int],
    "tf_set_num_threads": [C.c_int],
    "tf_get_num_threads": [C.POINTER(C.c_int)],
    "tf_manual_seed": [C.c_uint64],
    "tf_device_available": [C.c_char_p, C.POINTER(C.c_int)],
    "tf_tensor_create": [P, I64P, C.c_int, C.c_int, C.POINTER(P)],
    "tf_tensor_wrap": [P, I64P, C.c_int, C.c_int, C.POINTER(P)],
    "tf_tensor_ndim": [P, C.POINTER(C.c_int)],
    "tf_tensor_shape": [P, I64P, C.c_int],
    "tf_tensor_numel": [P, I64P],
    "tf_tensor_dtype": [P, C.POINTER(C.c_int)],
    "tf_tensor_read": [P, P, C.c_size_t],
    "tf_tensor_free": [P],
    "tf_optimizer_create": [C.c_char_p, C.c_char_p, C.POINTER(P)],
    "tf_optimizer_get_lr": [P, C.POINTER(C.c_double)],
    "tf_optimizer_free": [P],
    "tf_model_create": [C.POINTER(P)],
    "tf_model_add_dense": [P, C.c_int64, C.c_char_p, C.c_int64],
    "tf_model_add_dense_ex": [P, C.c_int64, C.c_char_p, C.c_int64, C.c_int, C.c_char_p, C.c_char_p],
    "tf_model_add_dropout": [P, C.c_double],
    "tf_model_build": [P, I64P, C.c_int],
    "tf_model_num_params": [P, I64P],
    "tf_model_compile": [P, P, C.c_char_p],
    "tf_model_train_step": [P, P, P, C.POINTER(C.c_float)],
    "tf_model_forward": [P, P, P],
    "tf_model_save_weights": [P, C.c_char_p],
    "tf_model_load_weights": [P, C.c_char_p],
    "tf_model_clone": [P, C.POINTER(P)],
    "tf_model_copy_weights": [P, P],
    "tf_model_to_device": [P, C.c_char_p],
    "tf_model_free": [P],
    "tf_model_from_json": [C.c_char_p, C.POINTER(P)],
    "tf_model_to_json": [P, C.c_char_p, C.c_size_t, C.POINTER(C.c_size_t)],
}
for name, args in sigs.items():
    f = getattr(lib, name)
    f.argtypes = args
    f.restype = C.c_int

TF_OK, TF_ERR_INVALID_ARGUMENT, TF_ERR_INVALID_HANDLE, TF_ERR_SHAPE, TF_ERR_IO, TF_ERR_STATE, TF_ERR_UNSUPPORTED = range(7)
TF_FLOAT32 = 0

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what)


def ok(st, what):
    check(st == TF_OK, "%s: %s %s" % (what, lib.tf_status_string(st).decode(), lib.tf_last_error().decode()))


def err(st, code, text, what):
    msg = lib.tf_last_error().decode()
    check(st == code and text in msg, "%s gave %s '%s', wanted %s '%s'" % (
        what, lib.tf_status_string(st).decode(), msg, lib.tf_status_string(code).decode(), text))


def shape(*dims):
    return (C.c_int64 * len(dims))(*dims)


def floats(*vals):
    return (C.c_float * len(vals))(*vals)


def wrap(buf, *dims):
    h = P()
    ok(lib.tf_tensor_wrap(C.cast(buf, P), shape(*dims), len(dims), TF_FLOAT32, C.byref(h)), "wrap")
    return h


# versions and runtime
check(lib.tf_version() == 100 and lib.tf_version_string() == b"0.1.0", "version")
ok(lib.tf_check_version(lib.tf_version()), "check_version")
err(lib.tf_check_version(10000), TF_ERR_UNSUPPORTED, "same major version", "check_version(1.0.0)")
ok(lib.tf_set_num_threads(1), "set_num_threads")
n = C.c_int()
ok(lib.tf_get_num_threads(C.byref(n)), "get_num_threads")
check(n.value == 1, "num_threads == 1")
ok(lib.tf_manual_seed(7), "seed")
avail = C.c_int(5)
ok(lib.tf_device_available(b"cpu", C.byref(avail)), "device_available")
check(avail.value == 1, "cpu available")

# tensors: a copy and a wrap
data = floats(1, 2, 3, 4, 5, 6)
t = P()
ok(lib.tf_tensor_create(C.cast(data, P), shape(2, 3), 2, TF_FLOAT32, C.byref(t)), "create")
nd, dt, ne = C.c_int(), C.c_int(-1), C.c_int64()
ok(lib.tf_tensor_ndim(t, C.byref(nd)), "ndim")
ok(lib.tf_tensor_dtype(t, C.byref(dt)), "dtype")
ok(lib.tf_tensor_numel(t, C.byref(ne)), "numel")
dims = shape(0, 0)
ok(lib.tf_tensor_shape(t, dims, 2), "shape")
check((nd.value, dt.value, ne.value, list(dims)) == (2, 0, 6, [2, 3]), "tensor metadata")
data[0] = 50
back = (C.c_float * 6)()
ok(lib.tf_tensor_read(t, C.cast(back, P), C.sizeof(back)), "read")
check(list(back) == [1, 2, 3, 4, 5, 6], "create copies")
err(lib.tf_tensor_read(t, C.cast(back, P), 8), TF_ERR_SHAPE, "needs 24", "read with a short buffer")
w = wrap(data, 6)
data[1] = 20
ok(lib.tf_tensor_read(w, C.cast(back, P), C.sizeof(back)), "read wrap")
check(back[0] == 50 and back[1] == 20, "wrap shares the buffer")
ok(lib.tf_tensor_free(t), "free")
err(lib.tf_tensor_free(t), TF_ERR_INVALID_HANDLE, "not a live tf_tensor", "double free")
err(lib.tf_tensor_numel(None, C.byref(ne)), TF_ERR_INVALID_ARGUMENT, "t is NULL", "null tensor")

# One SGD step by hand: w = 1, b = 0, x = 1, y = 0, mse, lr 0.1 -> w = 0.8, b = -0.2: 1 -> 0.6.
m = P()
ok(lib.tf_model_create(C.byref(m)), "model_create")
ok(lib.tf_model_add_dense_ex(m, 1, None, 1, 1, b"ones", b"zeros"), "add_dense_ex")
opt = P()
ok(lib.tf_optimizer_create(b"sgd", b"lr=0.1", C.byref(opt)), "optimizer_create")
lr = C.c_double()
ok(lib.tf_optimizer_get_lr(opt, C.byref(lr)), "get_lr")
check(abs(lr.value - 0.1) < 1e-12, "lr 0.1")
ok(lib.tf_model_compile(m, opt, b"mse"), "compile")
ok(lib.tf_optimizer_free(opt), "optimizer_free")
xv, yv, ov = floats(1), floats(0), floats(0)
x, y, o = wrap(xv, 1, 1), wrap(yv, 1, 1), wrap(ov, 1, 1)
path = os.path.join(tmp, "capi_ctypes.safetensors").encode()
ok(lib.tf_model_save_weights(m, path), "save")
loss = C.c_float(-1)
ok(lib.tf_model_train_step(m, x, y, C.byref(loss)), "train_step")
check(abs(loss.value - 1.0) < 1e-6, "loss 1")
ok(lib.tf_model_forward(m, x, o), "forward")
check(abs(ov[0] - 0.6) < 1e-6, "forward after one step: %r" % ov[0])
c = P()
ok(lib.tf_model_clone(m, C.byref(c)), "clone")
ok(lib.tf_model_load_weights(m, path), "load")
ok(lib.tf_model_forward(m, x, o), "forward")
check(abs(ov[0] - 1.0) < 1e-6, "loaded weights")
ok(lib.tf_model_forward(c, x, o), "forward clone")
check(abs(ov[0] - 0.6) < 1e-6, "the clone kept the trained weights")
ok(lib.tf_model_copy_weights(m, c), "copy_weights")
ok(lib.tf_model_forward(m, x, o), "forward")
check(abs(ov[0] - 0.6) < 1e-6, "copied weights")

# bad input
bad = wrap(floats(1, 2), 1, 2)
err(lib.tf_model_forward(m, bad, o), TF_ERR_SHAPE, "(1, 2)", "forward with a wrong input shape")
err(lib.tf_model_forward(m, x, bad), TF_ERR_SHAPE, "out has shape (1, 2)", "forward into a wrong buffer")
err(lib.tf_model_add_dense(m, 3, b"nonsense", 0), TF_ERR_INVALID_ARGUMENT, "nonsense", "unknown activation")
err(lib.tf_model_to_device(m, b"quantum:0"), TF_ERR_INVALID_ARGUMENT, "quantum", "bad device")
if lib.tf_device_available(b"cuda:0", C.byref(avail)) == TF_OK and not avail.value:
    err(lib.tf_model_to_device(m, b"cuda:0"), TF_ERR_UNSUPPORTED, "CUDA", "cuda without a GPU")
junk = os.path.join(tmp, "capi_ctypes_junk.safetensors")
with open(junk, "wb") as f:
    f.write(b"\xff" * 40)
err(lib.tf_model_load_weights(m, junk.encode()), TF_ERR_IO, junk, "corrupt weights")
err(lib.tf_model_forward(m, None, o), TF_ERR_INVALID_ARGUMENT, "x is NULL", "null input")
ok(lib.tf_model_free(c), "free clone")
err(lib.tf_model_forward(c, x, o), TF_ERR_INVALID_HANDLE, "not a live tf_model", "freed model")
err(lib.tf_model_forward(x, x, o), TF_ERR_INVALID_HANDLE, "is a tf_tensor, not a tf_model", "tensor as model")

# A model as JSON (Keras's to_json format), and back
js = P()
ok(lib.tf_model_from_json(b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", '
                          b'"config": {"units": 1, "batch_input_shape": [null, 1], "kernel_initializer": "ones"}}]}}',
                          C.byref(js)), "from_json")
ok(lib.tf_model_forward(js, x, o), "forward json model")
check(abs(ov[0] - 1.0) < 1e-6, "json model: ones kernel, zero bias")
n = C.c_size_t()
ok(lib.tf_model_to_json(js, None, 0, C.byref(n)), "to_json size")
buf = C.create_string_buffer(n.value + 1)
ok(lib.tf_model_to_json(js, buf, n.value + 1, C.byref(n)), "to_json")
check(buf.value.startswith(b'{"class_name": "Sequential"') and b'"units": 1' in buf.value, "to_json text %r" % buf.value)
err(lib.tf_model_from_json(b"[1, 2", C.byref(js)), TF_ERR_INVALID_ARGUMENT, "malformed JSON", "bad json")
ok(lib.tf_model_free(js), "free json model")

# NumPy arrays work directly as buffers (optional).
try:
    import numpy as np
except ImportError:
    np = None
if np is not None:
    m2 = P()
    ok(lib.tf_model_create(C.byref(m2)), "model_create")
    ok(lib.tf_model_add_dense_ex(m2, 2, b"relu", 3, 1, b"ones", b"zeros"), "add_dense_ex")
    xa = np.array([[1, 2, 3], [-4, 0, 1]], dtype=np.float32)
    ya = np.zeros((2, 2), dtype=np.float32)
    tx, ty = wrap(xa.ctypes.data, 2, 3), wrap(ya.ctypes.data, 2, 2)
    ok(lib.tf_model_forward(m2, tx, ty), "numpy forward")
    check(np.array_equal(ya, np.array([[6, 6], [0, 0]], dtype=np.float32)), "numpy forward values %r" % ya)
    for h in (tx, ty):
        ok(lib.tf_tensor_free(h), "free")
    ok(lib.tf_model_free(m2), "free")

for h in (w, x, y, o, bad):
    ok(lib.tf_tensor_free(h), "free")
ok(lib.tf_model_free(m), "free")
print("capi_ctypes: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

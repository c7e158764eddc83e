# Regenerates the fixtures in tests/data: the safetensors files used by
# tests/test_safetensors.cpp, written by Python's `safetensors` package (0.8.0 was used), and a
# tiny gzip-compressed IDX file used by tests/test_data.cpp.
#   pip install --target /tmp/st safetensors
#   PYTHONPATH=/tmp/st python3 tests/data/make_fixtures.py tests/data
import gzip
import struct
import sys

import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1] if len(sys.argv) > 1 else "."

# py_mixed.safetensors: one tensor of every dtype tapeflow supports, a scalar, an empty tensor
# and several metadata entries (Python writes several entries in random order: read-only use).
save_file({
    "weight": np.array([[0.5, -1.25, 3.0], [0.0, 1e-3, -7.0]], dtype=np.float32),
    "bias": np.array([0.1, -2.5, 1e300], dtype=np.float64),
    "steps": np.array(1234567890123, dtype=np.int64),
    "ids": np.array([[-1, 2], [2147483647, -2147483648]], dtype=np.int32),
    "pixels": np.array([0, 1, 128, 255], dtype=np.uint8),
    "mask": np.array([True, False, True]),
    "empty": np.zeros((0, 3), dtype=np.float32),
}, f"{out}/py_mixed.safetensors", metadata={"format": "np", "epoch": "7", "note": "quote \" and \u00e9"})

# py_canonical.safetensors: the byte-for-byte target of our writer (one metadata entry, names
# that exercise the dtype-then-name ordering, a scalar and an empty tensor).
save_file({
    "b": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "a": np.array([1.5, -2.0], dtype=np.float32),
    "B": np.array([-3, 4], dtype=np.int64),
    "a.b": np.array(2.5, dtype=np.float64),
    "z": np.array([False, True, True]),
    "u": np.array([7, 250], dtype=np.uint8),
    "i": np.array([[1, -1, 65536]], dtype=np.int32),
    "e": np.zeros((2, 0), dtype=np.float32),
    "layer\u00e9\"q": np.array([9.0], dtype=np.float64),
}, f"{out}/py_canonical.safetensors", metadata={"format": "pt"})

# tiny-idx3-ubyte.gz: an IDX (2, 3, 2) uint8 file holding 0, 20, ..., 220, deflate-compressed.
raw = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 3, 2) + bytes(i * 20 for i in range(12))
with open(f"{out}/tiny-idx3-ubyte.gz", "wb") as f:
    f.write(gzip.compress(raw, mtime=0))

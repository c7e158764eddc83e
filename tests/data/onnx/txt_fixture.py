# The text fixture format of the ONNX tests (read by tests/onnx_test_util.h's read_txt): the
# shape on the first line, then every value in row-major order, one per line, in %.9g. Shared
# by the fixture scripts of this folder; takes a torch tensor or anything numpy can read.
import numpy as np


def write_txt(path, t):
    if hasattr(t, "detach"):  # a torch tensor
        t = t.detach().double().contiguous().numpy()
    a = np.asarray(t, dtype=np.float64)
    with open(path, "w") as f:
        f.write(" ".join(str(d) for d in a.shape) + "\n")
        for v in a.ravel():
            f.write("%.9g\n" % v)

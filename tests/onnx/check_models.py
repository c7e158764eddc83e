"""tests/onnx/check_models.py DIR: for each case in DIR/cases.txt (written by export_cases),
runs ONNX's checker (full_check: with shape inference) and ONNX Runtime on DIR/<case>.onnx at
each batch size written, and compares with tapeflow's outputs (float32: 1e-5 relative, plus
1e-6 absolute for values near zero). Prints one line per case and `onnx_export: N passed, M failed`."""
import glob
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

RTOL, ATOL = 1e-5, 1e-6


def check(directory, name):
    path = os.path.join(directory, name + ".onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if dims[0].dim_param != "batch":
        raise AssertionError("input dim 0 is not the symbolic 'batch'")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    batches = sorted(glob.glob(os.path.join(directory, name + ".b*.in.npy")))
    if len(batches) < 2:
        raise AssertionError("fewer than two batch sizes to run")
    worst = 0.0
    for inp in batches:
        x = np.load(inp)
        want = np.load(inp.replace(".in.npy", ".out.npy"))
        (got,) = sess.run(None, {sess.get_inputs()[0].name: x})
        if got.shape != want.shape:
            raise AssertionError(f"batch {x.shape[0]}: shape {got.shape} != tapeflow's {want.shape}")
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
            err = np.abs(got - want) / (np.abs(want) + ATOL)
            i = np.unravel_index(np.argmax(err), err.shape)
            raise AssertionError(f"batch {x.shape[0]}: at {i} onnxruntime {got[i]!r} vs tapeflow {want[i]!r}")
        # the worst difference as a share of allclose's bound (1.0 = at the tolerance)
        worst = max(worst, float(np.max(np.abs(got - want) / (ATOL + RTOL * np.abs(want)))))
    ops = sorted({n.op_type for n in model.graph.node})
    return f"opset {opset}, batches {[int(np.load(b).shape[0]) for b in batches]}, worst diff {worst:.2f} of the tolerance, ops {' '.join(ops)}"


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "cases.txt")) as f:
        names = [line.strip() for line in f if line.strip()]
    passed = failed = 0
    for name in names:
        try:
            info = check(directory, name)
            print(f"  {name:24s} ok ({info})")
            passed += 1
        except Exception as e:  # report every case, then the count
            print(f"  {name:24s} FAILED: {type(e).__name__}: {e}")
            failed += 1
    print(f"onnx_export: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

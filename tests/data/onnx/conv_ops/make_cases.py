"""Makes the single-node ONNX models of tests/test_onnx_conv.cpp with ONNX's own helper and
ONNX Runtime as the reference (run offline, once, in the venv of tests/onnx/check.sh --setup:
  ~/.cache/tapeflow/onnx-venv/bin/python tests/data/onnx/conv_ops/make_cases.py
). Each case exercises what tapeflow's importer rewrites: asymmetric pads, auto_pad, groups,
dilations, output_padding, count_include_pad, reflect / edge / negative constant padding.
Writes <case>.onnx, <case>.input.txt and <case>.output.txt (a line with the shape, then one
value per line, %.9g) next to this file; the batch dim is dynamic."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from txt_fixture import write_txt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(15)


def make(name, op, x_shape, weights=(), extra_inputs=(), **attrs):
    inits, names = [], ["input"]
    for i, w in enumerate(weights):
        n = f"{name}.w{i}"
        inits.append(numpy_helper.from_array(w.astype(np.float32), n))
        names.append(n)
    for n, arr in extra_inputs:  # non-float constants (Pad's pads) or "" for an omitted input
        if arr is not None:
            inits.append(numpy_helper.from_array(arr, n))
        names.append(n)
    node = helper.make_node(op, names, ["output"], name=name, **attrs)
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch"] + list(x_shape[1:]))
    path = os.path.join(HERE, name + ".onnx")
    x = rng.uniform(-2, 2, size=x_shape).astype(np.float32)
    y = None
    for out_shape in (None, "known"):  # run once to learn the output shape, then write it down
        if out_shape is not None:
            out_shape = ["batch"] + list(y.shape[1:])
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, out_shape)
        graph = helper.make_graph([node], name, [inp], [out], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        onnx.save(model, path)
        (y,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})
    onnx.checker.check_model(model, full_check=True)
    write_txt(os.path.join(HERE, name + ".input.txt"), x)
    write_txt(os.path.join(HERE, name + ".output.txt"), y)
    print(name, y.shape)


def w(*shape):
    return rng.uniform(-1, 1, size=shape)


make("conv_asym_pads_groups", "Conv", (2, 4, 7, 6), [w(6, 2, 3, 2), w(6)],
     pads=[1, 0, 2, 1], strides=[2, 1], dilations=[1, 2], group=2)
make("conv_same_lower", "Conv", (2, 3, 9, 8), [w(2, 3, 4, 3)], auto_pad="SAME_LOWER", strides=[2, 2])
make("conv1d_same_upper", "Conv", (2, 3, 11), [w(4, 3, 4), w(4)], auto_pad="SAME_UPPER", strides=[3])
make("conv_depthwise_valid", "Conv", (2, 3, 6, 6), [w(6, 1, 3, 3)], auto_pad="VALID", group=3)
make("conv_transpose_asym", "ConvTranspose", (2, 3, 4, 5), [w(3, 2, 3, 3), w(2)],
     pads=[1, 0, 0, 2], strides=[2, 2], output_padding=[1, 0])
make("conv_transpose_groups", "ConvTranspose", (2, 4, 3, 4), [w(4, 3, 2, 3)],
     pads=[1, 1, 1, 1], strides=[2, 3], dilations=[2, 1], group=2)
make("maxpool_asym", "MaxPool", (2, 3, 8, 7), kernel_shape=[3, 2], pads=[2, 0, 1, 1], strides=[2, 1])
make("maxpool_dilated", "MaxPool", (2, 2, 9, 9), kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
     dilations=[2, 1])
make("avgpool_asym_exclude", "AveragePool", (2, 3, 8, 7), kernel_shape=[3, 3], pads=[0, 1, 2, 1],
     strides=[2, 2], count_include_pad=0)
make("avgpool_asym_include", "AveragePool", (2, 3, 8, 7), kernel_shape=[3, 3], pads=[0, 1, 2, 1],
     strides=[2, 2], count_include_pad=1)
make("avgpool_pads_exclude", "AveragePool", (2, 3, 7, 7), kernel_shape=[3, 3], pads=[1, 1, 1, 1],
     strides=[2, 2])
make("avgpool_same_upper", "AveragePool", (2, 3, 7, 8), kernel_shape=[3, 3], auto_pad="SAME_UPPER",
     strides=[2, 2])
make("avgpool1d", "AveragePool", (2, 3, 10), kernel_shape=[4], strides=[3], pads=[1, 2],
     count_include_pad=0)
make("global_max_pool", "GlobalMaxPool", (2, 3, 4, 5))
make("global_average_pool", "GlobalAveragePool", (2, 3, 4, 5))
make("batch_norm", "BatchNormalization", (2, 3, 4, 5),
     [w(3) + 1.5, w(3), w(3), rng.uniform(0.5, 2.0, size=3)], epsilon=1e-3)
make("batch_norm_2d", "BatchNormalization", (4, 5),
     [w(5) + 1.5, w(5), w(5), rng.uniform(0.5, 2.0, size=5)])
make("pad_reflect", "Pad", (2, 3, 5, 6), extra_inputs=[("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))],
     mode="reflect")
make("pad_edge", "Pad", (2, 3, 5, 6), extra_inputs=[("pads", np.array([0, 0, 2, 0, 0, 0, 1, 3], np.int64))],
     mode="edge")
make("pad_constant_crop", "Pad", (2, 3, 5, 6),
     extra_inputs=[("pads", np.array([0, 1, -1, 2, 0, 0, 1, -2], np.int64)),
                   ("value", np.array(0.75, np.float32))])

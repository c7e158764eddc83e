"""tapeflow from Python through cppyy (the cling interpreter): the walkthrough of README.md.

    python session.py BUILD_DIR/libtapeflow.so SOURCE_DIR

Builds and prints tensors, defines a small model (a C++ class typed into cling), trains it and
checks that the loss fell, then checks that a library exception arrives as a Python exception.
Exits with status 0 only when every check held (samples/interactive/check.sh runs it).
"""
import os
import sys
import tempfile

import cppyy

lib, src = sys.argv[1], sys.argv[2]
cppyy.add_include_path(src)
cppyy.load_library(lib)
cppyy.include("tapeflow.h")
cppyy.include("tensor/cling_print.h")  # cling::printValue (tapeflow.h may include it already)

from cppyy.gbl import tapeflow as tf  # noqa: E402

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("CHECK FAILED:", what)


# 1. Tensors. Python lists become C++ initializer lists; print() uses operator<<.
x = tf.tensor([1.0, 2.0, 3.0])
z = x * 2.0 + 0.7
print("w*x + b =", z)
check(str(z) == "[2.7 4.7 6.7]", "operator<< printed " + str(z))
m = tf.arange(6, tf.Options(tf.kFloat32)).reshape([2, 3])
print("m =", m, sep="\n")
print("column sums:", m.sum(0))


def at_the_prompt(expr):
    """What cling prints for `expr` typed at its prompt (its value printer writes to fd 1)."""
    sys.stdout.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(1)
        os.dup2(captured.fileno(), 1)
        try:
            cppyy.gbl.gInterpreter.ProcessLine(expr)
            cppyy.gbl.gInterpreter.ProcessLine("std::cout << std::flush; std::fflush(stdout);")
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        captured.seek(0)
        return captured.read().decode()


# Typed at a cling prompt, a tensor shows through cling::printValue (tensor/cling_print.h).
cppyy.cppdef("namespace session { tapeflow::Tensor shown; }")
cppyy.gbl.session.shown = m
shown = at_the_prompt("session::shown")
print("at the cling prompt:", shown, sep="\n", end="")
check(shown.startswith("(tapeflow::Tensor &) tensor([[0. 1. 2.]") and "shape=(2, 3)" in shown,
      "cling's value printer showed " + shown)

# 2. A small model, typed into the interpreter as C++: a Module with two Dense layers.
cppyy.cppdef("""
namespace session {
struct MLP : tapeflow::nn::Module {
  std::shared_ptr<tapeflow::nn::Dense> hidden, out;
  MLP()
      : hidden(register_module("hidden", std::make_shared<tapeflow::nn::Dense>(
                   8, "tanh", true, "glorot_uniform", "zeros", 2))),
        out(register_module("out", std::make_shared<tapeflow::nn::Dense>(
                   1, "linear", true, "glorot_uniform", "zeros", 8))) {}
  tapeflow::Tensor forward(const tapeflow::Tensor& input) override {
    return (*out)((*hidden)(input));
  }
};
}
""")
tf.manual_seed(1)
model = cppyy.gbl.session.MLP()
print("parameters:", model.count_params())

# 3. Train it on XOR with Adam from a Python loop, and watch the loss fall.
# NOTE: flat lists and reshape: cppyy 3.5 mangles nested lists passed as nested
# std::initializer_list (tf.tensor([[0.0, 1.0], ...]) gives wrong values).
X = tf.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]).reshape([4, 2])
y = tf.tensor([0.0, 1.0, 1.0, 0.0]).reshape([4, 1])
print("X =", X, sep="\n")
print("y =", y.reshape([4]))
check(X.sum().item["double"]() == 4.0 and y.sum().item["double"]() == 2.0, "XOR data")
options = tf.optim.AdamOptions()
options.lr = 0.05
opt = tf.optim.Adam(model.parameters(), options)
losses = []
for step in range(200):
    opt.zero_grad()
    loss = tf.nn.mean_squared_error(y, model(X))
    loss.backward()
    opt.step()
    losses.append(loss.item["double"]())
    if step % 50 == 0:
        print(f"step {step:3d}  loss {losses[-1]:.5f}")
print(f"loss {losses[0]:.5f} -> {losses[-1]:.5f}")
check(0 <= losses[-1] < losses[0] / 4, "the loss did not fall fourfold")
tf.set_grad_enabled(False)  # as NoGradGuard does in C++
print("predictions:", model(X).reshape([4]))
tf.set_grad_enabled(True)

# 4. A C++ exception from the library is a Python exception of the same class.
caught = False
try:
    tf.matmul(tf.ones([2, 3]), tf.ones([2, 3]))
except tf.Error as e:
    caught = True
    print("caught tapeflow::Error:", e)
check(caught, "matmul shape mismatch did not raise tapeflow::Error")

if failures:
    print(f"session.py: {len(failures)} check(s) failed")
    sys.exit(1)
print("session.py: all checks passed")

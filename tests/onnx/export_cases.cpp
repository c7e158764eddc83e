// tests/onnx/export_cases DIR: exports one model per exportable layer and activation (and the
// samples' MLP) to DIR/<case>.onnx, and writes tapeflow's input and output at two batch sizes
// (DIR/<case>.b<N>.in.npy / .out.npy) for check_models.py, which runs ONNX's checker and ONNX
// Runtime on each file and compares. One line per case in DIR/cases.txt.
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

#include "tapeflow.h"
#include "seq_models.h"

namespace tf = tapeflow;
using tf::nn::Sequential;

namespace {

// A float32 .npy file (NumPy format version 1.0, C order).
void write_npy(const std::string& path, const tf::Tensor& t0) {
  tf::Tensor t = t0.detach().astype(tf::kFloat32).contiguous();
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  if (t.dim() > 1) shape.pop_back();
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = (uint16_t)header.size();
  f.write(reinterpret_cast<const char*>(&len), 2);
  f << header;
  f.write(static_cast<const char*>(t.raw_data()), t.numel() * 4);
  if (!f) throw std::runtime_error("cannot write " + path);
}

struct Case {
  std::string name;
  tf::Shape sample;  // input shape without the batch dim
  std::function<void(Sequential&)> build;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  for (const std::string& act : tf::nn::activation_names())
    c.push_back({"dense_" + act, {6}, [act](Sequential& m) { m.add(tf::nn::Dense(5, act)); }});
  c.push_back({"dense_no_bias", {6}, [](Sequential& m) { m.add(tf::nn::Dense(4, "linear", false)); }});
  c.push_back({"dense_3d_input", {3, 6}, [](Sequential& m) { m.add(tf::nn::Dense(4, "relu")); }});
  c.push_back({"activation_layer", {7}, [](Sequential& m) { m.add(tf::nn::Activation("elu")); }});
  c.push_back({"flatten", {2, 3, 2}, [](Sequential& m) {
                 m.add(tf::nn::Flatten());
                 m.add(tf::nn::Dense(3));
               }});
  c.push_back({"dropout", {6}, [](Sequential& m) {
                 m.add(tf::nn::Dense(8, "relu"));
                 m.add(tf::nn::Dropout(0.5));
                 m.add(tf::nn::Dense(3));
               }});
  c.push_back({"mlp", {4, 5}, [](Sequential& m) {
                 m.add(tf::nn::Flatten());
                 m.add(tf::nn::Dense(16, "relu"));
                 m.add(tf::nn::Dropout(0.25));
                 m.add(tf::nn::Dense(8, "gelu"));
                 m.add(tf::nn::Dense(8, "leaky_relu"));
                 m.add(tf::nn::Dense(3, "softmax"));
               }});
  // samples/mnist_keras's network (784 -> 50 tanh -> 50 tanh -> 10 softmax).
  c.push_back({"mnist_keras", {784}, [](Sequential& m) {
                 m.add(tf::nn::Dense(50, "tanh"));
                 m.add(tf::nn::Dense(50, "tanh"));
                 m.add(tf::nn::Dense(10, "softmax"));
               }});
  return c;
}

tf::Tensor example(int64_t batch, const tf::Shape& sample) {
  tf::Shape s{batch};
  for (int64_t d : sample) s.push_back(d);
  return tf::uniform(s, -3.0, 3.0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: export_cases DIR\n";
    return 2;
  }
  if (!tf::onnx::available()) {
    std::cerr << "tapeflow was built without ONNX support\n";
    return 1;
  }
  std::string dir = argv[1];
  std::ofstream list(dir + "/cases.txt");
  int failed = 0;
  tf::manual_seed(15);
  for (const Case& c : cases()) {
    try {
      Sequential m;
      c.build(m);
      m.build(c.sample);
      tf::onnx::export_model(m, example(3, c.sample), dir + "/" + c.name + ".onnx");
      m.eval();
      tf::NoGradGuard ng;
      for (int64_t b : {3, 7}) {
        tf::Tensor x = example(b, c.sample);
        std::string stem = dir + "/" + c.name + ".b" + std::to_string(b);
        write_npy(stem + ".in.npy", x);
        write_npy(stem + ".out.npy", m(x));
      }
      list << c.name << "\n";
    } catch (const std::exception& e) {
      std::cout << "  " << c.name << ": export FAILED: " << e.what() << "\n";
      ++failed;
    }
  }
  // The sequence ops and layers (seq_models.h).
  for (const seq_models::Case& c : seq_models::cases()) {
    try {
      auto m = c.make();
      tf::onnx::export_model(*m, seq_models::example(c, 3), dir + "/" + c.name + ".onnx");
      m->eval();
      tf::NoGradGuard ng;
      for (int64_t b : {3, 7}) {
        tf::Tensor x = seq_models::example(c, b);
        std::string stem = dir + "/" + c.name + ".b" + std::to_string(b);
        write_npy(stem + ".in.npy", x);
        write_npy(stem + ".out.npy", (*m)(x));
      }
      list << c.name << "\n";
    } catch (const std::exception& e) {
      std::cout << "  " << c.name << ": export FAILED: " << e.what() << "\n";
      ++failed;
    }
  }
  return failed ? 1 : 0;
}

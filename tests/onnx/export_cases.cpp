// tests/onnx/export_cases DIR: exports one model per exportable layer and activation (and the
// samples' MLP and fashion_cnn CNN, and the conv family's options) to DIR/<case>.onnx, and writes tapeflow's input and output at two batch sizes
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

// A functional op with weights (for the conv family's options that no layer exposes).
class Fn : public tf::nn::Module {
 public:
  using F = std::function<tf::Tensor(const tf::Tensor&, const std::vector<tf::Tensor>&)>;
  Fn(F f, std::vector<tf::Shape> weights = {}) : Module("Fn", "fn"), f_(std::move(f)) {
    for (size_t i = 0; i < weights.size(); ++i)
      w_.push_back(register_parameter("w" + std::to_string(i), tf::uniform(weights[i], -1.0, 1.0)));
  }
  tf::Tensor forward(const tf::Tensor& x) override { return f_(x, w_); }

 private:
  F f_;
  std::vector<tf::Tensor> w_;
};

// Batch norm's statistics and affine parameters away from their identity defaults.
void randomize_norm(Sequential& m) {
  tf::NoGradGuard ng;
  for (auto& [n, b] : m.named_buffers())
    b.copy_(n.find("variance") != std::string::npos ? tf::uniform(b.shape(), 0.5, 2.0) : tf::uniform(b.shape(), -1.0, 1.0));
  for (auto& [n, p] : m.named_parameters())
    if (n.find("gamma") != std::string::npos || n.find("beta") != std::string::npos)
      p.copy_(tf::uniform(p.shape(), 0.5, 1.5));
}

struct Case {
  std::string name;
  tf::Shape sample;  // input shape without the batch dim
  std::function<void(Sequential&)> build;
};

// The conv family: each layer and the functional options behind them.
void conv_cases(std::vector<Case>& c) {
  namespace nn = tf::nn;
  using CO = nn::Conv2DOptions;
  using PO = nn::PoolOptions;
  auto one = [&](const std::string& name, tf::Shape s, std::function<void(Sequential&)> b) { c.push_back({name, s, b}); };
  one("conv2d", {3, 8, 7}, [](Sequential& m) { m.add(nn::Conv2D(4, 3)); });
  one("conv2d_strided_relu", {3, 9, 8}, [](Sequential& m) { m.add(nn::Conv2D(5, {3, 2}, CO().strides({2, 3}).activation("relu"))); });
  one("conv2d_same_even_kernel", {2, 6, 7}, [](Sequential& m) { m.add(nn::Conv2D(3, {2, 4}, CO().padding("same"))); });
  one("conv2d_dilated_same", {2, 9, 9}, [](Sequential& m) { m.add(nn::Conv2D(3, 3, CO().padding("same").dilation_rate(2))); });
  one("conv2d_no_bias", {2, 5, 5}, [](Sequential& m) { m.add(nn::Conv2D(3, 3, CO().use_bias(false))); });
  one("conv2d_channels_last", {7, 6, 3}, [](Sequential& m) {
    m.add(nn::Conv2D(4, 3, CO().data_format("channels_last").activation("tanh")));
  });
  one("conv1d", {3, 12}, [](Sequential& m) { m.add(nn::Conv1D(4, 3)); });
  one("conv1d_same_strided", {3, 12}, [](Sequential& m) {
    m.add(nn::Conv1D(4, 4, CO().padding("same")));
    m.add(nn::Conv1D(2, 3, CO().strides(2).dilation_rate(1)));
  });
  one("conv2d_transpose", {3, 4, 5}, [](Sequential& m) { m.add(nn::Conv2DTranspose(2, 3, CO().strides(2))); });
  one("conv2d_transpose_same", {3, 4, 5}, [](Sequential& m) {
    m.add(nn::Conv2DTranspose(2, 3, CO().strides(2).padding("same")));  // output_padding 1
  });
  one("depthwise_conv2d", {3, 7, 6}, [](Sequential& m) { m.add(nn::DepthwiseConv2D(3, 2, CO().padding("same"))); });
  one("max_pooling2d", {2, 8, 7}, [](Sequential& m) { m.add(nn::MaxPooling2D(2)); });
  one("max_pooling2d_strided", {2, 9, 8}, [](Sequential& m) { m.add(nn::MaxPooling2D({3, 2}, PO().strides({2, 1}))); });
  one("average_pooling2d", {2, 8, 7}, [](Sequential& m) { m.add(nn::AveragePooling2D({2, 3}, PO().strides(2))); });
  one("max_pooling1d", {3, 11}, [](Sequential& m) { m.add(nn::MaxPooling1D(3, PO().strides(2))); });
  one("average_pooling1d", {3, 11}, [](Sequential& m) { m.add(nn::AveragePooling1D(2)); });
  // "same" pooling: odd sizes, so the extra pad goes to the end (asymmetric ONNX pads)
  one("max_pooling2d_same", {2, 7, 9}, [](Sequential& m) { m.add(nn::MaxPooling2D(3, PO().strides(2).padding("same"))); });
  one("average_pooling2d_same", {2, 7, 9}, [](Sequential& m) { m.add(nn::AveragePooling2D({2, 3}, PO().strides(2).padding("same"))); });
  one("average_pooling1d_same", {3, 11}, [](Sequential& m) { m.add(nn::AveragePooling1D(4, PO().strides(3).padding("same"))); });
  one("pooling_channels_last", {8, 6, 3}, [](Sequential& m) { m.add(nn::MaxPooling2D(2, PO().data_format("channels_last"))); });
  one("global_average_pooling2d", {3, 5, 4}, [](Sequential& m) { m.add(nn::GlobalAveragePooling2D()); });
  one("global_max_pooling2d", {3, 5, 4}, [](Sequential& m) { m.add(nn::GlobalMaxPooling2D()); });
  one("global_pooling_channels_last", {5, 4, 3}, [](Sequential& m) {
    m.add(nn::GlobalAveragePooling2D(PO().data_format("channels_last")));
  });
  one("batch_normalization_2d", {3, 4, 5}, [](Sequential& m) { m.add(nn::BatchNormalization()); });
  one("batch_normalization_1d", {6}, [](Sequential& m) {
    m.add(nn::Dense(5));
    m.add(nn::BatchNormalization(nn::NormOptions().epsilon(1e-2)));
  });
  one("batch_normalization_3d_input", {4, 9}, [](Sequential& m) {
    m.add(nn::BatchNormalization(nn::NormOptions().center(false).scale(false)));
  });
  one("zero_padding2d", {2, 4, 5}, [](Sequential& m) { m.add(nn::ZeroPadding2D(1, 2, 0, 3)); });
  one("reshape_permute", {12, 5}, [](Sequential& m) {
    m.add(nn::Reshape({3, 4, 5}));
    m.add(nn::Permute({3, 1, 2}));
    m.add(nn::Conv2D(2, 2));
  });
  // Functional options no layer exposes.
  auto fn = [&](const std::string& name, tf::Shape s, Fn::F f, std::vector<tf::Shape> w = {}) {
    c.push_back({name, s, [f, w](Sequential& m) { m.add(Fn(f, w)); }});
  };
  using V = const std::vector<tf::Tensor>&;
  fn("f_conv2d_pad_groups", {4, 7, 6}, [](const tf::Tensor& x, V w) {
    return tf::conv2d(x, w[0], w[1], {1, 2}, tf::ConvPadding(2, 1), {2, 1}, 2);
  }, {{6, 2, 3, 3}, {6}});
  fn("f_conv1d_dilated_groups", {4, 13}, [](const tf::Tensor& x, V w) {
    return tf::conv1d(x, w[0], tf::Tensor(), 2, 3, 2, 4);
  }, {{8, 1, 3}});
  fn("f_conv_transpose2d_groups", {4, 5, 4}, [](const tf::Tensor& x, V w) {
    return tf::conv_transpose2d(x, w[0], w[1], {2, 3}, {1, 0}, {1, 2}, 2, 1);
  }, {{4, 3, 3, 3}, {6}});
  fn("f_max_pool2d_pad_dilation", {2, 9, 8}, [](const tf::Tensor& x, V) {
    return tf::max_pool2d(x, {3, 2}, {2, 2}, {1, 1}, {2, 1});
  });
  fn("f_max_pool2d_ceil", {2, 8, 7}, [](const tf::Tensor& x, V) { return tf::max_pool2d(x, 3, 2, 1, 1, true); });
  fn("f_avg_pool2d_count_pad", {2, 7, 6}, [](const tf::Tensor& x, V) { return tf::avg_pool2d(x, 3, 2, 1, false, true); });
  fn("f_avg_pool2d_exclude_pad", {2, 7, 6}, [](const tf::Tensor& x, V) { return tf::avg_pool2d(x, 3, 2, 1, false, false); });
  fn("f_avg_pool1d_ceil_exclude", {2, 8}, [](const tf::Tensor& x, V) { return tf::avg_pool1d(x, 3, 2, 1, true, false); });
  fn("f_global_pool_functional", {3, 5, 4}, [](const tf::Tensor& x, V) {
    return tf::global_max_pool2d(x) + tf::global_avg_pool2d(x);
  });
  fn("f_pad_reflect", {2, 5, 6}, [](const tf::Tensor& x, V) { return tf::pad(x, {2, 1, 0, 3}, "reflect"); });
  fn("f_pad_replicate", {2, 5, 6}, [](const tf::Tensor& x, V) { return tf::pad(x, {1, 2, 2, 0}, "replicate"); });
  fn("f_pad_constant", {2, 5, 6}, [](const tf::Tensor& x, V) { return tf::pad(x, {1, 0, 2, 1, 1, 1}, "constant", 0.5); });
  // samples/fashion_cnn's network.
  one("fashion_cnn", {1, 28, 28}, [](Sequential& m) {
    m.add(nn::Conv2D(32, 3, CO().activation("relu")));
    m.add(nn::MaxPooling2D(2));
    m.add(nn::Conv2D(64, 3, CO().activation("relu")));
    m.add(nn::MaxPooling2D(2));
    m.add(nn::Flatten());
    m.add(nn::Dense(128, "relu"));
    m.add(nn::Dropout(0.5));
    m.add(nn::Dense(10, "softmax"));
  });
  one("small_cnn_bn", {3, 12, 12}, [](Sequential& m) {
    m.add(nn::Conv2D(6, 3, CO().padding("same")));
    m.add(nn::BatchNormalization());
    m.add(nn::Activation("relu"));
    m.add(nn::MaxPooling2D(2));
    m.add(nn::Conv2D(8, 3, CO().strides(2)));
    m.add(nn::GlobalAveragePooling2D());
    m.add(nn::Dense(4, "softmax"));
  });
}

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
  conv_cases(c);
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
      randomize_norm(m);
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

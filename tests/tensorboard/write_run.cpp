// tests/tensorboard/write_run DIR: writes the runs that check.sh has TensorBoard read back, and
// DIR/expected.json listing every tag, step and value they must hold.
//   DIR/writer      SummaryWriter directly: scalars, histograms, images, text, hparams
//   DIR/fit         a small fit() with the TensorBoard callback (train/, validation/, hparams)
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tapeflow.h"

namespace tf = tapeflow;
namespace tb = tapeflow::tensorboard;

namespace {

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
std::string quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') { q += "\\n"; continue; }
    q += c;
  }
  return q + "\"";
}

struct Expected {
  std::vector<std::string> scalars, histograms, images, texts, hparams;
  void scalar(const std::string& run, const std::string& tag, int64_t step, double v) {
    scalars.push_back("[" + quote(run) + "," + quote(tag) + "," + std::to_string(step) + "," + num(v) + "]");
  }
  // min, max, num, sum, sum_squares of the values, and the bucket counts when `counts` is given.
  void histogram(const std::string& run, const std::string& tag, int64_t step, const tf::Tensor& t,
                 const std::vector<double>* counts = nullptr) {
    std::vector<double> v = t.detach().to_vector<double>();
    double lo = v[0], hi = v[0], s = 0, sq = 0;
    for (double x : v) { lo = std::min(lo, x); hi = std::max(hi, x); s += x; sq += x * x; }
    std::string c = "null";
    if (counts) {
      c = "[";
      for (size_t i = 0; i < counts->size(); ++i) c += (i ? "," : "") + num((*counts)[i]);
      c += "]";
    }
    histograms.push_back("[" + quote(run) + "," + quote(tag) + "," + std::to_string(step) + "," + num(lo) + "," +
                         num(hi) + "," + num(double(v.size())) + "," + num(s) + "," + num(sq) + "," + c + "]");
  }
  void write(const std::string& path) {
    std::ofstream out(path);
    auto list = [&](const char* name, const std::vector<std::string>& items, bool last) {
      out << "  " << quote(name) << ": [\n";
      for (size_t i = 0; i < items.size(); ++i) out << "    " << items[i] << (i + 1 < items.size() ? ",\n" : "\n");
      out << "  ]" << (last ? "\n" : ",\n");
    };
    out << "{\n";
    list("scalars", scalars, false);
    list("histograms", histograms, false);
    list("images", images, false);
    list("texts", texts, false);
    list("hparams", hparams, true);
    out << "}\n";
  }
};

void write_writer_run(const std::string& dir, Expected& ex) {
  tb::SummaryWriter w(dir + "/writer");
  for (int s = 0; s < 5; ++s) {
    w.add_scalar("loss", 1.0 / (s + 1), s);
    ex.scalar("writer", "loss", s, 1.0 / (s + 1));
  }
  w.add_scalar("metrics/big", 123456.75, 1000000);
  ex.scalar("writer", "metrics/big", 1000000, 123456.75);
  // 0..99 in 10 equal buckets: 10 each; then 0..99 squared over 5 buckets.
  tf::Tensor a = tf::arange(100, tf::kFloat64);
  std::vector<double> tens(10, 10.0);
  w.add_histogram("weights", a, 0, 10);
  ex.histogram("writer", "weights", 0, a, &tens);
  tf::Tensor sq = a * a;  // edges 0, 1960.2, ..., 9801: 0..44, 45..62, 63..76, 77..88, 89..99
  std::vector<double> sq_counts = {45, 18, 14, 12, 11};
  w.add_histogram("weights", sq, 1, 5);
  ex.histogram("writer", "weights", 1, sq, &sq_counts);
  tf::Tensor same = tf::full({7}, 2.5);
  std::vector<double> one = {7};
  w.add_histogram("constant", same, 0);
  ex.histogram("writer", "constant", 0, same, &one);
  // A 24x32 RGB image with a known pixel pattern, and an 8x8 grey float image.
  tf::Tensor rgb = tf::zeros({24, 32, 3}, tf::Options(tf::kUInt8));
  {
    auto* p = rgb.data_ptr<uint8_t>();
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 32; ++x) {
        p[(y * 32 + x) * 3 + 0] = uint8_t(x * 8);
        p[(y * 32 + x) * 3 + 1] = uint8_t(y * 10);
        p[(y * 32 + x) * 3 + 2] = 200;
      }
  }
  w.add_image("image/rgb", rgb, 3);
  ex.images.push_back("[\"writer\",\"image/rgb\",3,32,24,3,\"rgb_gradient\"]");
  w.add_image("image/grey", tf::full({8, 8}, 0.5), 0, "HW");
  ex.images.push_back("[\"writer\",\"image/grey\",0,8,8,1,\"grey_128\"]");
  w.add_text("notes", "# tapeflow\nA **markdown** note.", 0);
  ex.texts.push_back("[\"writer\",\"notes\",0," + quote("# tapeflow\nA **markdown** note.") + "]");
  w.add_text("notes", "second note", 4);
  ex.texts.push_back("[\"writer\",\"notes\",4,\"second note\"]");
  // No metrics: no experiment record here (TensorBoard shows one experiment per log dir: fit's).
  w.add_hparams({{"lr", 0.01}, {"optimizer", "sgd"}, {"nesterov", true}, {"units", 50}});
  ex.hparams.push_back("[\"writer\",{\"lr\":0.01,\"optimizer\":\"sgd\",\"nesterov\":true,\"units\":50},[]]");
}

void write_fit_run(const std::string& dir, Expected& ex) {
  tf::manual_seed(7);
  tf::Tensor x = tf::randn({60, 4});
  tf::Tensor y = tf::data::to_categorical((tf::sum(x, 1) > 0).astype(tf::kInt64), 2);
  tf::nn::Sequential model;
  model.add(tf::nn::Dense(8, "tanh", true, "glorot_uniform", "zeros", 4));
  model.add(tf::nn::Dense(2, "softmax"));
  model.compile(std::make_shared<tf::optim::SGD>(tf::optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .decay = 0.01}),
                "categorical_crossentropy", {"accuracy"});
  tf::nn::TensorBoardOptions o;
  o.histogram_freq = 2;
  o.update_freq = 2;
  o.hparams = {{"units", 8}, {"activation", "tanh"}};
  auto board = std::make_shared<tf::nn::TensorBoard>(dir + "/fit", o);
  // Records what the TensorBoard callback (which runs first) saw, to compare with the files.
  auto record = std::make_shared<tf::nn::LambdaCallback>();
  record->on_batch_end_fn = [&](int, const tf::nn::Logs& logs) {
    int64_t step = model.optimizer()->iterations();
    if (step % 2 == 0)
      for (auto& [k, v] : logs.items()) ex.scalar("fit/train", "batch_" + k, step, v);
  };
  record->on_epoch_end_fn = [&](int epoch, tf::nn::Logs& logs) {
    for (auto& [k, v] : logs.items()) {
      bool val = k.rfind("val_", 0) == 0;
      ex.scalar(val ? "fit/validation" : "fit/train", "epoch_" + (val ? k.substr(4) : k), epoch, v);
    }
    ex.scalar("fit/train", "epoch_learning_rate", epoch, model.optimizer()->current_lr());
    if (epoch % 2 == 0)
      for (auto& [name, p] : model.named_parameters()) {
        std::string tag = name;
        for (char& c : tag) if (c == '.') c = '/';
        ex.histogram("fit/train", tag, epoch, p);
      }
  };
  model.fit(x, y, {.batch_size = 16, .epochs = 3, .verbose = 0, .callbacks = {board, record},
                   .validation_split = 0.25, .seed = 3});
  ex.hparams.push_back("[\"fit\",{\"units\":8,\"activation\":\"tanh\"},[[\"train\",\"epoch_loss\"],"
                       "[\"train\",\"epoch_accuracy\"],[\"validation\",\"epoch_loss\"],[\"validation\",\"epoch_accuracy\"]]]");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_run DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  Expected ex;
  write_writer_run(dir, ex);
  write_fit_run(dir, ex);
  ex.write(dir + "/expected.json");
  std::cout << "wrote " << dir << "/writer, " << dir << "/fit and " << dir << "/expected.json\n";
  return 0;
}

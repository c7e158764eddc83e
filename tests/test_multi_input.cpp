// A Keras-style model with two inputs (an image-like tensor and a feature vector), written as a
// plain C++ class and trained with fit({x_image, x_features}, y): the loss drops and the
// accuracy reaches a bar on a synthetic task that needs both inputs.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/training.h"

using namespace tapeflow;

namespace {

struct TwoInput : nn::Cloneable<TwoInput, nn::Model> {
  std::shared_ptr<nn::Dense> image_branch, feature_branch, head;
  TwoInput() : Cloneable("TwoInput", "two_input") {
    image_branch = register_module("image", std::make_shared<nn::Dense>(8, nn::DenseOptions().activation("relu")));
    feature_branch = register_module("features", std::make_shared<nn::Dense>(8, nn::DenseOptions().activation("relu")));
    head = register_module("head", std::make_shared<nn::Dense>(2, nn::DenseOptions().activation("softmax")));
  }
  Tensor forward(const Tensor& image, const Tensor& features) {
    Tensor a = (*image_branch)(image.flatten(1));
    Tensor b = (*feature_branch)(features);
    return (*head)(concat({a, b}, 1));
  }
};

}  // namespace

TEST_CASE("a two-input model trains with fit on a vector of inputs", "[modules][multi_input][model]") {
  manual_seed(11);
  const int64_t n = 512;
  // Class 1 when (mean brightness of the 4x4 image) + (first feature) > 0: neither input alone
  // decides it.
  Tensor images = randn(Shape{n, 4, 4});
  Tensor features = randn(Shape{n, 3});
  Tensor score = images.mean({1, 2}) * 4.0 + features.select(1, 0);
  Tensor labels = (score > 0.0).astype(kInt64);

  TwoInput model;
  model.compile(std::make_shared<optim::Adam>(optim::AdamOptions{.lr = 0.02}), "sparse_categorical_crossentropy",
                {"accuracy"});
  auto history = model.fit({images, features}, labels,
                           {.batch_size = 32, .epochs = 15, .verbose = 0, .validation_split = 0.2, .seed = 5});
  auto loss = history.history.at("loss");
  CHECK(loss.back() < loss.front() * 0.5);
  CHECK(history.history.at("val_accuracy").back() >= 0.9);
  training::Logs eval = model.evaluate({images, features}, labels);
  CHECK(eval.at("accuracy") >= 0.9);
  Tensor p = model.predict({images.slice(0, 0, 10), features.slice(0, 0, 10)});
  CHECK(p.shape() == Shape({10, 2}));
  // The trained model clones with its weights; the clone predicts the same.
  auto copy = nn::clone(model);
  CHECK(copy->predict({images.slice(0, 0, 10), features.slice(0, 0, 10)}).to_vector<float>() == p.to_vector<float>());
  REQUIRE_THROWS_WITH(model.fit({images, features.slice(0, 0, 100)}, labels, {.verbose = 0}),
                      Catch::Contains("x[1] has 100 samples"));
  REQUIRE_THROWS_WITH(model.predict(images), Catch::Contains("TwoInput: forward takes 2 input tensors, got 1"));
}

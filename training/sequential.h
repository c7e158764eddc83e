// nn::Sequential: a Model that runs its layers one after another. Layers are registered as
// children "0", "1", ... (so parameters are "0.kernel", "0.bias", ...) and get Keras-style
// display names ("dense", "dense_1", ...) unless they were named already.
#pragma once
#include "training/namespace.h"
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nn/cloneable.h"
#include "training/model.h"

namespace tapeflow::training {

class Sequential : public Cloneable<Sequential, Model> {
 public:
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers = {}, std::string name = "sequential");

  // Appends a layer. When the input shape is known (a first Dense with input_dim, or an
  // earlier build()), the model is (re)built at once, as Keras does.
  void add(std::shared_ptr<Module> layer);
  template <class L, std::enable_if_t<std::is_base_of_v<Module, std::decay_t<L>> &&
                                          !std::is_lvalue_reference_v<L>, int> = 0>
  void add(L&& layer) {
    add(std::shared_ptr<Module>(std::make_shared<std::decay_t<L>>(std::move(layer))));
  }

  Tensor forward(const Tensor& x) override;
  // For clone(): a Sequential of clones of the layers (clone() then copies the rest).
  std::shared_ptr<Sequential> fresh() const;
  size_t size() const { return layers_.size(); }
  const std::vector<std::shared_ptr<Module>>& layers() const { return layers_; }
  std::shared_ptr<Module> operator[](size_t i) const;
  // The layer with this display name ("dense_1"); throws listing the names.
  std::shared_ptr<Module> get_layer(const std::string& name) const;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace tapeflow::training

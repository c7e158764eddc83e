// Sequential: layer registration, Keras-style automatic layer names, the chained forward.
#include "training/sequential.h"

#include "nn/layers.h"

namespace tapeflow::training {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers, std::string name)
    : Cloneable("Sequential", "sequential") {
  set_name(std::move(name));
  for (auto& l : layers) add(l);
}

void Sequential::add(std::shared_ptr<Module> layer) {
  if (!layer) fail("Sequential.add: got a null layer");
  for (auto& l : layers_)
    if (l == layer) fail("Sequential.add: this layer (", layer->name(), ") is already in the model");
  if (layer->name().empty()) {
    int same = 0;
    for (auto& l : layers_)
      if (l->base_name() == layer->base_name()) ++same;
    layer->set_name(same == 0 ? layer->base_name() : str_cat(layer->base_name(), "_", same));
  }
  if (layer->device() != device()) layer->to(device());
  if (layer->dtype() != dtype()) layer->to(dtype());
  if (!is_training()) layer->eval();
  register_module(std::to_string(layers_.size()), layer);
  layers_.push_back(layer);
  if (has_build_input_shape()) {
    build(build_input_shape());
  } else if (layers_.size() == 1) {
    if (auto* dense = dynamic_cast<Dense*>(layer.get()); dense && dense->built())
      build(Shape{dense->kernel().size(0)});
  }
}

Tensor Sequential::forward(const Tensor& x) {
  if (layers_.empty()) fail("Sequential: the model has no layers");
  Tensor h = x;
  for (auto& l : layers_) h = (*l)(h);
  return h;
}

std::shared_ptr<Sequential> Sequential::fresh() const {
  std::vector<std::shared_ptr<Module>> layers;
  for (auto& l : layers_) layers.push_back(l->clone());
  return std::make_shared<Sequential>(std::move(layers), name());
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  if (i >= layers_.size()) fail_index("Sequential: layer index ", i, " out of range for ", layers_.size(), " layers");
  return layers_[i];
}

std::shared_ptr<Module> Sequential::get_layer(const std::string& name) const {
  std::string names;
  for (auto& l : layers_) {
    if (l->name() == name) return l;
    names += (names.empty() ? "" : ", ") + l->name();
  }
  fail("Sequential.get_layer: no layer named '", name, "' (layers: ", names, ")");
}

}  // namespace tapeflow::training

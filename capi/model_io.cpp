// C API: weights files, clone, weight copies between models and device moves.
#include "capi/internal.h"

using namespace tapeflow;
using namespace tapeflow::capi;

namespace tapeflow::capi {
void add_layer(tf_model* m, const tf_layer_spec& spec);
}

namespace {

// Raises TF_ERR_UNSUPPORTED (e.g. "built without CUDA") when d cannot hold tensors here.
void require_device(Device d) {
  if (d.is_cpu()) return;
  try {
    (void)zeros({1}, Options(kFloat32, d));
  } catch (const std::exception& e) {
    raise(TF_ERR_UNSUPPORTED, e.what());
  }
}

}  // namespace

extern "C" {

tf_status tf_model_save_weights(const tf_model* m, const char* path) {
  return guard("tf_model_save_weights", TF_ERR_IO, [&] {
    tf_model* h = get(m, "m");
    need(path, "path");
    if (!h->seq->built()) raise(TF_ERR_STATE, "the model has no weights yet (build it first)");
    h->seq->save_weights(path);
  });
}

tf_status tf_model_load_weights(tf_model* m, const char* path) {
  return guard("tf_model_load_weights", TF_ERR_IO, [&] {
    tf_model* h = get(m, "m");
    need(path, "path");
    if (!h->seq->built()) raise(TF_ERR_STATE, "the model has no weights yet (build it first)");
    h->seq->load_weights(path);
  });
}

tf_status tf_model_clone(const tf_model* m, tf_model** out) {
  return guard("tf_model_clone", TF_ERR_INTERNAL, [&] {
    tf_model* src = get(m, "m");
    need(out, "out");
    auto dst = std::make_unique<tf_model>();
    dst->device = src->device;
    for (const tf_layer_spec& s : src->layers) add_layer(dst.get(), s);
    if (src->seq->has_build_input_shape()) dst->seq->build(src->seq->build_input_shape());
    // Layers built by their first call (no build shape recorded): build each Dense alike.
    for (size_t i = 0; i < src->layers.size(); ++i) {
      auto* a = dynamic_cast<nn::Dense*>((*src->seq)[i].get());
      auto* b = dynamic_cast<nn::Dense*>((*dst->seq)[i].get());
      if (a && b && a->built() && !b->built()) b->build_for(a->kernel().shape()[0]);
    }
    if (src->seq->built()) dst->seq->load_state_dict(src->seq->state_dict());
    if (src->seq->compiled()) {
      dst->opt = make_optimizer(src->opt_name, src->opt_options.c_str());
      dst->seq->compile(nn::OptimizerSpec(dst->opt), nn::LossSpec(src->loss));
      dst->opt_name = src->opt_name;
      dst->opt_options = src->opt_options;
      dst->loss = src->loss;
    }
    if (!src->seq->is_training()) dst->seq->eval();
    register_handle(dst.get(), Kind::Model);
    *out = dst.release();
  });
}

tf_status tf_model_copy_weights(tf_model* dst, const tf_model* src) {
  return guard("tf_model_copy_weights", TF_ERR_SHAPE, [&] {
    tf_model* d = get(dst, "dst");
    tf_model* s = get(src, "src");
    if (d == s) return;
    if (!s->seq->built()) raise(TF_ERR_STATE, "src has no weights yet (build it first)");
    if (!d->seq->built()) raise(TF_ERR_STATE, "dst has no weights yet (build it first)");
    d->seq->load_state_dict(s->seq->state_dict());
  });
}

tf_status tf_model_to_device(tf_model* m, const char* device) {
  return guard("tf_model_to_device", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_model* h = get(m, "m");
    need(device, "device");
    Device d{std::string(device)};
    require_device(d);
    h->seq->to(d);
    h->device = d;
  });
}

}  // extern "C"

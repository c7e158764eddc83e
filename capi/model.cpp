// C API: building a Sequential layer by layer, compiling, training and batch inference.
#include <cmath>

#include "capi/internal.h"

using namespace tapeflow;
using namespace tapeflow::capi;

namespace tapeflow::capi {

// Adds the layer `spec` to m's Sequential (shared with clone()).
void add_layer(tf_model* m, const tf_layer_spec& spec) {
  std::shared_ptr<nn::Module> layer;
  switch (spec.kind) {
    case tf_layer_spec::Dense:
      layer = std::make_shared<nn::Dense>(spec.units, spec.activation, spec.use_bias, spec.kernel_init,
                                          spec.bias_init, spec.input_dim);
      break;
    case tf_layer_spec::Flatten: layer = std::make_shared<nn::Flatten>(); break;
    case tf_layer_spec::Dropout: layer = std::make_shared<nn::Dropout>(spec.rate); break;
    case tf_layer_spec::Activation: layer = std::make_shared<nn::Activation>(spec.activation); break;
  }
  if (!m->device.is_cpu()) layer->to(m->device);
  m->seq->add(layer);
  m->layers.push_back(spec);
}

}  // namespace tapeflow::capi

extern "C" {

tf_status tf_model_create(tf_model** out) {
  return guard("tf_model_create", TF_ERR_INTERNAL, [&] {
    need(out, "out");
    auto h = std::make_unique<tf_model>();
    register_handle(h.get(), Kind::Model);
    *out = h.release();
  });
}

tf_status tf_model_add_dense_ex(tf_model* m, int64_t units, const char* activation, int64_t input_dim,
                                int use_bias, const char* kernel_initializer, const char* bias_initializer) {
  return guard("tf_model_add_dense", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_model* h = get(m, "m");
    if (units < 1 || units > (int64_t(1) << 31)) raise(TF_ERR_INVALID_ARGUMENT, "units = ", units, " is not in 1..2^31");
    if (input_dim < 0 || input_dim > (int64_t(1) << 31))
      raise(TF_ERR_INVALID_ARGUMENT, "input_dim = ", input_dim, " is not in 0..2^31");
    tf_layer_spec s;
    s.kind = tf_layer_spec::Dense;
    s.units = units;
    s.input_dim = input_dim;
    s.use_bias = use_bias != 0;
    s.activation = activation ? activation : "linear";
    s.kernel_init = kernel_initializer ? kernel_initializer : "glorot_uniform";
    s.bias_init = bias_initializer ? bias_initializer : "zeros";
    add_layer(h, s);
  });
}

tf_status tf_model_add_dense(tf_model* m, int64_t units, const char* activation, int64_t input_dim) {
  return tf_model_add_dense_ex(m, units, activation, input_dim, 1, nullptr, nullptr);
}

tf_status tf_model_add_flatten(tf_model* m) {
  return guard("tf_model_add_flatten", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_layer_spec s;
    s.kind = tf_layer_spec::Flatten;
    add_layer(get(m, "m"), s);
  });
}

tf_status tf_model_add_dropout(tf_model* m, double rate) {
  return guard("tf_model_add_dropout", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_model* h = get(m, "m");
    if (!(rate >= 0.0 && rate < 1.0)) raise(TF_ERR_INVALID_ARGUMENT, "rate = ", rate, " is not in [0, 1)");
    tf_layer_spec s;
    s.kind = tf_layer_spec::Dropout;
    s.rate = rate;
    add_layer(h, s);
  });
}

tf_status tf_model_add_activation(tf_model* m, const char* activation) {
  return guard("tf_model_add_activation", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_model* h = get(m, "m");
    need(activation, "activation");
    tf_layer_spec s;
    s.kind = tf_layer_spec::Activation;
    s.activation = activation;
    add_layer(h, s);
  });
}

tf_status tf_model_build(tf_model* m, const int64_t* input_shape, int ndim) {
  return guard("tf_model_build", TF_ERR_SHAPE, [&] {
    tf_model* h = get(m, "m");
    if (h->layers.empty()) raise(TF_ERR_STATE, "the model has no layers");
    Shape s = to_shape(input_shape, ndim, "input_shape");
    if (ndim < 1) raise(TF_ERR_SHAPE, "input_shape needs at least one dim (the batch dim is left out)");
    for (int64_t d : s)
      if (d < 1) raise(TF_ERR_SHAPE, "input_shape ", s, " has an empty dim");
    h->seq->build(s);
  });
}

tf_status tf_model_output_shape(const tf_model* m, int64_t* shape, int capacity, int* ndim) {
  return guard("tf_model_output_shape", TF_ERR_INTERNAL, [&] {
    tf_model* h = get(m, "m");
    need(ndim, "ndim");
    if (!h->seq->has_output_shape()) raise(TF_ERR_STATE, "the model has not been built or called yet");
    const Shape& s = h->seq->output_shape();
    if (capacity < s.size()) raise(TF_ERR_SHAPE, "capacity ", capacity, " is less than the ", s.size(), " dims of ", s);
    if (s.size() > 0) need(shape, "shape");
    for (int i = 0; i < s.size(); ++i) shape[i] = s[i];
    *ndim = s.size();
  });
}

tf_status tf_model_num_params(const tf_model* m, int64_t* count) {
  return guard("tf_model_num_params", TF_ERR_INTERNAL, [&] {
    tf_model* h = get(m, "m");
    need(count, "count");
    *count = h->seq->count_params();
  });
}

tf_status tf_model_compile(tf_model* m, tf_optimizer* opt, const char* loss) {
  return guard("tf_model_compile", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_model* h = get(m, "m");
    tf_optimizer* o = get(opt, "opt");
    need(loss, "loss");
    if (o->attached && o->opt != h->opt)
      raise(TF_ERR_STATE, "the optimizer is compiled into another model already (one optimizer per model)");
    h->seq->compile(nn::OptimizerSpec(o->opt), nn::LossSpec(std::string(loss)));
    o->attached = true;
    h->opt = o->opt;
    h->opt_name = o->name;
    h->opt_options = o->options;
    h->loss = loss;
  });
}

tf_status tf_model_train_step(tf_model* m, const tf_tensor* x, const tf_tensor* y, float* loss) {
  return guard("tf_model_train_step", TF_ERR_SHAPE, [&] {
    tf_model* h = get(m, "m");
    tf_tensor* tx = get(x, "x");
    tf_tensor* ty = get(y, "y");
    if (!h->seq->compiled()) raise(TF_ERR_STATE, "the model is not compiled (call tf_model_compile first)");
    if (tx->t.dim() < 1 || ty->t.dim() < 1 || tx->t.shape()[0] != ty->t.shape()[0] || tx->t.shape()[0] < 1)
      raise(TF_ERR_SHAPE, "x of shape ", tx->t.shape(), " and y of shape ", ty->t.shape(),
            " need the same batch size >= 1 in dim 0");
    Tensor xs = tx->t, ys = ty->t;
    if (!h->device.is_cpu()) {
      xs = xs.to(h->device);
      ys = ys.to(h->device);
    }
    if (!h->seq->is_training()) h->seq->train();
    h->seq->reset_metrics();  // the logs then hold this batch's loss alone
    nn::Logs logs = h->seq->train_step(xs, ys);
    double l = logs.at("loss");
    if (loss) *loss = (float)l;
  });
}

tf_status tf_model_forward(tf_model* m, const tf_tensor* x, tf_tensor* out) {
  return guard("tf_model_forward", TF_ERR_SHAPE, [&] {
    tf_model* h = get(m, "m");
    tf_tensor* tx = get(x, "x");
    tf_tensor* to = get(out, "out");
    if (h->layers.empty()) raise(TF_ERR_STATE, "the model has no layers");
    if (tx->t.dim() < 1) raise(TF_ERR_SHAPE, "x has shape ", tx->t.shape(), "; it needs a batch dim");
    NoGradGuard no_grad;
    if (h->seq->is_training()) h->seq->eval();
    Tensor y = h->device.is_cpu() ? (*h->seq)(tx->t) : (*h->seq)(tx->t.to(h->device));
    if (y.shape() != to->t.shape() || y.dtype() != to->t.dtype())
      raise(TF_ERR_SHAPE, "out has shape ", to->t.shape(), " and dtype ", to->t.dtype(), " but the model gives ",
            y.shape(), " and ", y.dtype(), " for x of shape ", tx->t.shape());
    to->t.copy_(y);
  });
}

tf_status tf_model_free(tf_model* m) {
  return guard("tf_model_free", TF_ERR_INTERNAL, [&] {
    if (!m) return;
    destroy_handle(m, Kind::Model, "m");
  });
}

}  // extern "C"

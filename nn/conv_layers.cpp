// Conv1D / Conv2D (lazy build, Keras-shaped initialisation, PyTorch weight layout), pooling layers.
#include "nn/conv_layers.h"

#include <string>

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::nn {

namespace {
void check_format(const char* who, const std::string& f) {
  if (f != "channels_first" && f != "channels_last")
    fail(who, ": data_format must be 'channels_first' or 'channels_last', got '", f, "'");
}
// channels_last (N, ..., C) -> channels_first (N, C, ...) and back.
Tensor to_first(const Tensor& x) {
  std::vector<int> p{0, x.dim() - 1};
  for (int i = 1; i < x.dim() - 1; ++i) p.push_back(i);
  return x.permute(p);
}
std::string size_text(int64_t h, int64_t w) { return "(" + std::to_string(h) + ", " + std::to_string(w) + ")"; }
Tensor to_last(const Tensor& x) {
  std::vector<int> p{0};
  for (int i = 2; i < x.dim(); ++i) p.push_back(i);
  p.push_back(1);
  return x.permute(p);
}
}  // namespace

ConvND::ConvND(const char* type, const char* base, int rank, int64_t filters, Size2 kernel_size, const ConvOptions& o,
               Mode mode)
    : Module(type, base), rank_(rank), mode_(mode), filters_(filters), kernel_size_(kernel_size), options_(o) {
  if (filters <= 0) fail(type, ": filters must be positive, got ", filters);
  if (kernel_size.h <= 0 || kernel_size.w <= 0)
    fail(type, ": kernel_size must be positive, got (", kernel_size.h, ", ", kernel_size.w, ")");
  if (o.padding() != "valid" && o.padding() != "same")
    fail(type, ": padding must be 'valid' or 'same', got '", o.padding(), "'");
  check_format(type, o.data_format());
  const Size2 st = o.strides(), dl = o.dilation_rate();
  if (st.h <= 0 || st.w <= 0) fail(type, ": strides must be positive, got (", st.h, ", ", st.w, ")");
  if (dl.h <= 0 || dl.w <= 0) fail(type, ": dilation_rate must be positive, got (", dl.h, ", ", dl.w, ")");
  if (o.groups() <= 0) fail(type, ": groups must be positive, got ", o.groups());
  if (o.groups() != 1 && mode != Mode::Normal) fail(type, ": groups must be 1, got ", o.groups());
  if (filters % o.groups() != 0)
    fail(type, ": filters ", filters, " must be divisible by groups ", o.groups());
  if (options_.activation().empty()) options_.activation("linear");
  activation_ = get_activation(options_.activation());
  options_.kernel_initializer(options_.kernel_initializer().resolve(type, "kernel_initializer"));
  options_.bias_initializer(options_.bias_initializer().resolve(type, "bias_initializer"));
  if (!o.name().empty()) set_name(o.name());
}

void ConvND::build_for(int64_t in) {
  if (built()) return;
  NoGradGuard no_grad;
  tapeflow::Options o(dtype(), device());
  // Keras's kernel shape (k..., in, out) for the fans, stored as PyTorch's (out, in, k...).
  // Transpose: Keras (k..., out, in) -> PyTorch (in, out, k...); depthwise: (k..., in, dm) -> (in*dm, 1, k...).
  const int64_t kin = mode_ == Mode::Normal ? in / options_.groups() : in;  // per group
  Shape keras = rank_ == 2 ? Shape{kernel_size_.h, kernel_size_.w, kin, filters_} : Shape{kernel_size_.w, kin, filters_};
  if (mode_ == Mode::Transpose) keras = Shape{kernel_size_.h, kernel_size_.w, filters_, in};
  Tensor k = options_.kernel_initializer().fn(keras, o);
  if (k.shape() != keras) fail(type_name(), ": kernel initializer returned shape ", k.shape(), ", expected ", keras);
  if (mode_ == Mode::Depthwise)
    k = k.permute({2, 3, 0, 1}).contiguous().reshape(Shape{in * filters_, 1, kernel_size_.h, kernel_size_.w});
  else
    k = rank_ == 2 ? k.permute({3, 2, 0, 1}) : k.permute({2, 1, 0});
  k = k.contiguous().astype(dtype());
  kernel_ = register_parameter("kernel", k.to(device()));
  if (options_.use_bias()) {
    int64_t outc = mode_ == Mode::Depthwise ? in * filters_ : filters_;
    Tensor b = options_.bias_initializer().fn(Shape{outc}, o);
    bias_ = register_parameter("bias", b.astype(dtype()).to(device()));
  }
}

void ConvND::prepare_clone_from(const Module& src) {
  auto* c = dynamic_cast<const ConvND*>(&src);
  if (c && c->built() && !built()) build_for(c->in_channels());
}

Tensor ConvND::conv_forward(const Tensor& x) {
  const bool last = options_.data_format() == "channels_last";
  if (x.dim() != rank_ + 2)
    fail(type_name(), ": expected a ", rank_ + 2, "-D input (N, ", last ? "" : "C, ", rank_ == 2 ? "H, W" : "L",
         last ? ", C" : "", "), got shape ", x.shape());
  Tensor xf = last ? to_first(x) : x;
  int64_t in = xf.size(1);
  if (built() && in != in_channels())
    fail(type_name(), "(", filters_, "): input shape ", x.shape(), " has ", in, " channels, the kernel ", kernel_.shape(),
         " expects ", in_channels());
  // Checked before the weights are made, so a bad first call builds nothing.
  if (!built() && in % options_.groups() != 0)
    fail(type_name(), "(", filters_, "): input shape ", x.shape(), " has ", in, " channels, not divisible by groups ",
         options_.groups());
  const Size2 st = options_.strides(), dl = options_.dilation_rate();
  const bool same = options_.padding() == "same";
  if (same && mode_ != Mode::Transpose && (st.w != 1 || (rank_ == 2 && st.h != 1)))
    fail(type_name(), ": padding 'same' needs strides 1, got ", rank_ == 2 ? size_text(st.h, st.w) : std::to_string(st.w));
  if (!same && mode_ != Mode::Transpose) {
    const int64_t kh = dl.h * (kernel_size_.h - 1) + 1, kw = dl.w * (kernel_size_.w - 1) + 1;
    if ((rank_ == 2 && xf.size(2) < kh) || xf.size(-1) < kw)
      fail(type_name(), ": the kernel ", rank_ == 2 ? size_text(kh, kw) : std::to_string(kw),
           (dl.h > 1 || dl.w > 1) ? " (dilated)" : "", " is larger than the input ", x.shape(), " (padding 'valid')");
  }
  if (!built()) build_for(in);
  if (xf.dtype() != kernel_.dtype()) xf = xf.astype(kernel_.dtype());
  ConvPadding pad = options_.padding() == "same" ? ConvPadding("same") : ConvPadding(0);
  Tensor y;
  if (mode_ == Mode::Transpose) {
    Size2 st = options_.strides(), p(0, 0), op(0, 0);
    if (options_.padding() == "same") {  // output = input * stride
      if (kernel_size_.h < st.h || kernel_size_.w < st.w)
        fail(type_name(), ": padding 'same' needs kernel_size >= strides");
      p = Size2((kernel_size_.h - st.h + 1) / 2, (kernel_size_.w - st.w + 1) / 2);
      op = Size2(st.h - kernel_size_.h + 2 * p.h, st.w - kernel_size_.w + 2 * p.w);
    }
    y = conv_transpose2d(xf, kernel_, bias_, st, p, op, 1, options_.dilation_rate());
  } else if (rank_ == 2) {
    y = conv2d(xf, kernel_, bias_, options_.strides(), pad, options_.dilation_rate(),
               mode_ == Mode::Depthwise ? in : options_.groups());
  } else {
    y = conv1d(xf, kernel_, bias_, options_.strides().w, pad, options_.dilation_rate().w, options_.groups());
  }
  if (options_.activation() != "linear") y = activation_(y);
  return last ? to_last(y) : y;
}

Conv2D::Conv2D(int64_t filters, Size2 kernel_size, const ConvOptions& options)
    : Cloneable("Conv2D", "conv2d", 2, filters, kernel_size, options) {}
std::shared_ptr<Conv2D> Conv2D::fresh() const { return std::make_shared<Conv2D>(filters_, kernel_size_, options_); }

Conv2DTranspose::Conv2DTranspose(int64_t filters, Size2 kernel_size, const ConvOptions& options)
    : Cloneable("Conv2DTranspose", "conv2d_transpose", 2, filters, kernel_size, options, Mode::Transpose) {}
std::shared_ptr<Conv2DTranspose> Conv2DTranspose::fresh() const {
  return std::make_shared<Conv2DTranspose>(filters_, kernel_size_, options_);
}

DepthwiseConv2D::DepthwiseConv2D(Size2 kernel_size, int64_t depth_multiplier, const ConvOptions& options)
    : Cloneable("DepthwiseConv2D", "depthwise_conv2d", 2, depth_multiplier, kernel_size, options, Mode::Depthwise) {}
std::shared_ptr<DepthwiseConv2D> DepthwiseConv2D::fresh() const {
  return std::make_shared<DepthwiseConv2D>(kernel_size_, filters_, options_);
}

Conv1D::Conv1D(int64_t filters, int64_t kernel_size, const ConvOptions& options)
    : Cloneable("Conv1D", "conv1d", 1, filters, Size2(1, kernel_size), options) {}
std::shared_ptr<Conv1D> Conv1D::fresh() const { return std::make_shared<Conv1D>(filters_, kernel_size_.w, options_); }

Pooling::Pooling(const char* type, const char* base, int rank, Kind kind, Size2 pool, const PoolOptions& o)
    : Module(type, base), rank_(rank), kind_(kind), pool_(pool), options_(o) {
  if (pool.h <= 0 || pool.w <= 0) fail(type, ": pool_size must be positive, got (", pool.h, ", ", pool.w, ")");
  if (o.strides().given && (o.strides().h <= 0 || o.strides().w <= 0))
    fail(type, ": strides must be positive, got (", o.strides().h, ", ", o.strides().w, ")");
  if (o.padding() != "valid" && o.padding() != "same")
    fail(type, ": padding must be 'valid' or 'same', got '", o.padding(), "'");
  check_format(type, o.data_format());
  if (!o.name().empty()) set_name(o.name());
}

Tensor Pooling::pool_forward(const Tensor& x) {
  const bool last = options_.data_format() == "channels_last";
  if (x.dim() != rank_ + 2)
    fail(type_name(), ": expected a ", rank_ + 2, "-D input, got shape ", x.shape());
  Tensor xf = last ? to_first(x) : x;
  Size2 s = options_.strides().given ? options_.strides() : pool_;
  int64_t lh = rank_ == 2 ? xf.size(2) : 1, lw = xf.size(-1);
  const bool same = options_.padding() == "same";
  if (!same && (lh < pool_.h || lw < pool_.w))
    fail(type_name(), ": input shape ", x.shape(), " is smaller than the pool (", pool_.h, ", ", pool_.w, ")");
  ConvPadding pad = same ? ConvPadding("same") : ConvPadding(0);
  Tensor y;
  if (rank_ == 2)
    y = kind_ == Kind::Max ? max_pool2d(xf, pool_, s, pad) : avg_pool2d(xf, pool_, s, pad);
  else
    y = kind_ == Kind::Max ? max_pool1d(xf, pool_.w, s.w, pad) : avg_pool1d(xf, pool_.w, s.w, pad);
  return last ? to_last(y) : y;
}

#define TAPEFLOW_POOL_IMPL(Name, rank, kind, SizeT, base, size_expr, fresh_expr)                         \
  Name::Name(SizeT pool_size, const PoolOptions& options)                                                \
      : Cloneable(#Name, base, rank, Pooling::Kind::kind, size_expr, options) {}                         \
  SizeT Name::fresh_size() const { return fresh_expr; }
TAPEFLOW_POOL_IMPL(MaxPooling2D, 2, Max, Size2, "max_pooling2d", pool_size, pool_)
TAPEFLOW_POOL_IMPL(AveragePooling2D, 2, Avg, Size2, "average_pooling2d", pool_size, pool_)
TAPEFLOW_POOL_IMPL(MaxPooling1D, 1, Max, int64_t, "max_pooling1d", Size2(1, pool_size), pool_.w)
TAPEFLOW_POOL_IMPL(AveragePooling1D, 1, Avg, int64_t, "average_pooling1d", Size2(1, pool_size), pool_.w)
#undef TAPEFLOW_POOL_IMPL

GlobalAveragePooling2D::GlobalAveragePooling2D(const PoolOptions& options)
    : Cloneable("GlobalAveragePooling2D", "global_average_pooling2d"), options_(options) {
  check_format("GlobalAveragePooling2D", options.data_format());
  if (!options.name().empty()) set_name(options.name());
}
Tensor GlobalAveragePooling2D::forward(const Tensor& x) {
  if (x.dim() != 4) fail("GlobalAveragePooling2D: expected a 4-D input, got shape ", x.shape());
  return options_.data_format() == "channels_last" ? x.mean({1, 2}) : x.mean({2, 3});
}

GlobalMaxPooling2D::GlobalMaxPooling2D(const PoolOptions& options)
    : Cloneable("GlobalMaxPooling2D", "global_max_pooling2d"), options_(options) {
  check_format("GlobalMaxPooling2D", options.data_format());
  if (!options.name().empty()) set_name(options.name());
}
Tensor GlobalMaxPooling2D::forward(const Tensor& x) {
  if (x.dim() != 4) fail("GlobalMaxPooling2D: expected a 4-D input, got shape ", x.shape());
  return options_.data_format() == "channels_last" ? x.max({1, 2}) : x.max({2, 3});
}

}  // namespace tapeflow::nn

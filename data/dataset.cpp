// One-hot labels, the seed's image standardisation and seeded, shuffled batching. Everything
// goes through public Tensor ops, so it runs on whatever device the data lives on; only the
// shuffle order is drawn on the host, from a stream owned by the iterator.
#include "data/dataset.h"

#include <cmath>
#include <random>
#include <vector>

#include "backends/backend.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::data {
namespace {

// Rows per step in PixelStandardizer: keeps the float64 temporaries near 64 MB for 28x28 images.
constexpr int64_t kChunkRows = 10000;

// Images (N, ...) flattened to (N, pixels).
Tensor flatten_images(const Tensor& images, const char* op) {
  if (!images.defined()) fail(op, ": images tensor is undefined");
  if (images.dim() < 1) fail(op, ": images must have a leading batch dim, got shape ", images.shape());
  int64_t n = images.size(0);
  int64_t pixels = 1;
  for (int d = 1; d < images.dim(); ++d) pixels *= images.size(d);
  return images.reshape(Shape{n, pixels});
}

// The seed's pixel scaling, in float64: (p / 255 - 0.5) * 2.
Tensor scale_pixels(const Tensor& rows) {
  return (rows.astype(kFloat64) / 255.0 - 0.5) * 2.0;
}

// SplitMix64: turns (seed, epoch) into a well-mixed 64-bit seed for the shuffle stream.
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform integer in [0, n) by rejection: the same on every standard library (unlike
// std::uniform_int_distribution, whose algorithm is implementation-defined).
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    uint64_t r = rng();
    if (r < limit) return r % n;
  }
}

}  // namespace

Tensor to_categorical(const Tensor& labels, int64_t num_classes) {
  if (!labels.defined()) fail("to_categorical: labels tensor is undefined");
  if (!is_integral(labels.dtype()))
    fail("to_categorical: labels must be integers (uint8, int32 or int64), got ", labels.dtype());
  if (labels.dim() != 1) fail("to_categorical: labels must be 1-D (N,), got shape ", labels.shape());
  if (num_classes < -1 || num_classes == 0)
    fail("to_categorical: num_classes must be positive or -1 (infer), got ", num_classes);
  Tensor lab = labels.astype(kInt64);
  if (lab.numel() == 0) {
    if (num_classes == -1) fail("to_categorical: cannot infer num_classes from empty labels");
    return zeros(Shape{0, num_classes}, Options(kFloat32, labels.device()));
  }
  int64_t lo = lab.min().item<int64_t>();
  int64_t hi = lab.max().item<int64_t>();
  if (lo < 0) fail("to_categorical: labels must be non-negative, got ", lo);
  if (num_classes == -1) num_classes = hi + 1;
  if (hi >= num_classes)
    fail("to_categorical: label ", hi, " is out of range for num_classes = ", num_classes);
  Tensor classes = arange(num_classes, Options(kInt64, labels.device()));
  return eq(lab.unsqueeze(1), classes.unsqueeze(0)).astype(kFloat32);
}

void PixelStandardizer::fit(const Tensor& train_images) {
  Tensor flat = flatten_images(train_images, "PixelStandardizer::fit");
  if (train_images.dtype() != kUInt8)
    fail("PixelStandardizer::fit: expects uint8 images (pixel values 0..255), got ", train_images.dtype(),
         "; for float features (tabular data) use data::StandardScaler, which scales each feature");
  int64_t n = flat.size(0), pixels = flat.size(1);
  if (n == 0 || pixels == 0) fail("PixelStandardizer::fit: no training pixels, images have shape ", train_images.shape());
  // Pass 1: per-pixel mean of the scaled images (float64 sums over chunks of rows).
  Tensor total = zeros(Shape{pixels}, Options(kFloat64, flat.device()));
  for (int64_t r = 0; r < n; r += kChunkRows)
    total = total + scale_pixels(flat.slice(0, r, std::min(n, r + kChunkRows))).sum(0);
  Tensor pixel_mean = total / double(n);
  // Pass 2: one population std over every scaled pixel (NumPy's np.std(X_train), ddof = 0).
  double global_mean = pixel_mean.mean().item<double>();
  double squares = 0.0;
  for (int64_t r = 0; r < n; r += kChunkRows) {
    Tensor c = scale_pixels(flat.slice(0, r, std::min(n, r + kChunkRows))) - global_mean;
    squares += (c * c).sum().item<double>();
  }
  double s = std::sqrt(squares / (double(n) * double(pixels)));
  if (!(s > 0.0)) fail("PixelStandardizer::fit: every training pixel has the same value (std = 0)");
  mean = pixel_mean;
  std = s;
}

Tensor PixelStandardizer::transform(const Tensor& images) const {
  if (!mean.defined()) fail("PixelStandardizer::transform: call fit() first");
  Tensor flat = flatten_images(images, "PixelStandardizer::transform");
  if (images.dtype() != kUInt8)
    fail("PixelStandardizer::transform: expects uint8 images (pixel values 0..255), got ", images.dtype());
  int64_t n = flat.size(0), pixels = flat.size(1);
  if (pixels != mean.numel())
    fail("PixelStandardizer::transform: images of shape ", images.shape(), " have ", pixels,
         " pixels each, but fit() saw ", mean.numel());
  Tensor m = mean.device() == flat.device() ? mean : mean.to(flat.device());
  if (n == 0) return empty(Shape{0, pixels}, Options(kFloat32, flat.device()));
  std::vector<Tensor> parts;
  for (int64_t r = 0; r < n; r += kChunkRows) {
    Tensor c = scale_pixels(flat.slice(0, r, std::min(n, r + kChunkRows)));
    parts.push_back(((c - m) / std).astype(kFloat32));
  }
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

BatchIterator::BatchIterator(Tensor x, Tensor y, int64_t batch_size, bool shuffle, uint64_t seed)
    : x_(std::move(x)), y_(std::move(y)), batch_size_(batch_size), shuffle_(shuffle), seed_(seed) {
  if (!x_.defined() || !y_.defined()) fail("BatchIterator: x and y must both be defined");
  if (x_.dim() < 1 || y_.dim() < 1)
    fail("BatchIterator: x and y need a leading sample dim, got shapes ", x_.shape(), " and ", y_.shape());
  if (x_.size(0) != y_.size(0))
    fail("BatchIterator: x ", x_.shape(), " and y ", y_.shape(), " differ in their number of samples");
  if (batch_size_ <= 0) fail("BatchIterator: batch_size must be positive, got ", batch_size_);
}

void BatchIterator::start_epoch() {
  pos_ = 0;
  ++epoch_;
  if (!shuffle_) return;
  // Fisher-Yates over a stream seeded by (seed, epoch): the same order for the same seed,
  // a new one each epoch, independent of the global generator and of the thread count.
  std::mt19937_64 rng(splitmix64(seed_ ^ splitmix64(epoch_)));
  int64_t n = size();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[uniform_below(rng, uint64_t(i) + 1)]);
  order_ = from_vector(order);
  if (order_.device() != x_.device()) order_ = order_.to(x_.device());
}

bool BatchIterator::next(Tensor& x_batch, Tensor& y_batch) {
  if (epoch_ == 0) start_epoch();  // first use without an explicit start_epoch()
  int64_t n = size();
  if (pos_ >= n) return false;
  int64_t stop = std::min(n, pos_ + batch_size_);
  if (shuffle_) {
    Tensor idx = order_.slice(0, pos_, stop);
    x_batch = index_select(x_, 0, idx);
    y_batch = index_select(y_, 0, idx.device() == y_.device() ? idx : idx.to(y_.device()));
  } else {
    x_batch = x_.slice(0, pos_, stop);
    y_batch = y_.slice(0, pos_, stop);
  }
  pos_ = stop;
  if (shuffle_) prefetch_next();
  return true;
}

// The rows of the next batch are scattered over the data set (188 MB for Fashion-MNIST) and come
// from DRAM: they go to the backend's prefetch_rows (the CPU asks for each row's first line at
// once and its small-gemm kernel brings in the rest a few lines at a time while it computes
// this batch: backends/cpu/prefetch.h). A hint only: no effect on any value.
void BatchIterator::prefetch_next() const {
  if (!x_.device().is_cpu() || !x_.is_contiguous() || !order_.device().is_cpu() || pos_ >= size()) return;
  const int64_t stop = std::min(size(), pos_ + batch_size_);
  const int64_t row_bytes = x_.numel() / size() * int64_t(dtype_size(x_.dtype()));
  if (row_bytes <= 0) return;
  const char* base = static_cast<const char*>(x_.raw_data());
  const int64_t* order = order_.data_ptr<int64_t>();
  backend::backend_for(x_.device()).prefetch_rows(base, row_bytes, order + pos_, stop - pos_);
}

int64_t BatchIterator::num_batches() const { return (size() + batch_size_ - 1) / batch_size_; }

int64_t BatchIterator::size() const { return x_.size(0); }

}  // namespace tapeflow::data

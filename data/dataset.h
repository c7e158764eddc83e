// Preparing data for training: one-hot labels, the seed's standardisation, seeded shuffling
// batches.
#pragma once
#include <cstdint>
#include <utility>

#include "tensor/tensor.h"

namespace tapeflow::data {

// Integer labels (N,) -> float32 one-hot (N, num_classes); num_classes = -1 infers max + 1.
Tensor to_categorical(const Tensor& labels, int64_t num_classes = -1);

// The seed's preprocessing of uint8 images: x = (p/255 - 0.5) * 2, then centred by the
// per-pixel mean of the training set and divided by the single std of the whole training set.
// Images are flattened to (N, pixels) float32. Only for uint8 pixels (it throws otherwise): for
// float features use StandardScaler (data/scaler.h), which scales each feature on its own.
struct PixelStandardizer {
  // NOTE: as the seed does (np.mean(X, axis=0), np.std(X)): the mean is per pixel, the std is
  // one population std over every scaled training pixel about their global mean. Both are
  // computed in float64 over chunks of rows; transform() returns float32.
  Tensor mean;       // (pixels,) float64 per-pixel mean of the scaled training images
  double std = 1.0;  // np.std of all scaled training pixels (ddof = 0)
  void fit(const Tensor& train_images);
  Tensor transform(const Tensor& images) const;
};
// The name before the pixel-only scaler was named for what it does.
using Standardizer [[deprecated("data::Standardizer is data::PixelStandardizer (uint8 images); for float "
                                "features use data::StandardScaler")]] = PixelStandardizer;

// Iterates (x, y) batches over the first dim; reshuffles each epoch when shuffle is on, from its
// own seeded stream (independent of the global generator and the thread count).
class BatchIterator {
 public:
  BatchIterator(Tensor x, Tensor y, int64_t batch_size, bool shuffle = true, uint64_t seed = 0);
  void start_epoch();  // new order (if shuffling) and rewind
  bool next(Tensor& x_batch, Tensor& y_batch);  // false at the end of the epoch
  int64_t num_batches() const;
  int64_t size() const;

 private:
  void prefetch_next() const;  // a cache hint for the next batch's rows (CPU data)
  Tensor x_, y_, order_;
  int64_t batch_size_, pos_ = 0;
  bool shuffle_;
  uint64_t seed_, epoch_ = 0;
};

}  // namespace tapeflow::data

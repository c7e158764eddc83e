// Reading the MNIST family's IDX files (plain or .gz through zlib), checked for magic numbers,
// sizes and truncation.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace tapeflow::data {

// The whole file as a uint8 tensor with the file's dims, e.g. (60000, 28, 28) or (60000,).
// Throws tapeflow::Error naming the path on a missing, truncated or malformed file.
Tensor read_idx(const std::string& path);

struct MnistData {
  Tensor train_images, train_labels, test_images, test_labels;  // uint8 as stored on disk
  std::string dir;
};
// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from dir.
MnistData load_mnist(const std::string& dir = "/usr/share/datasets/fashion-mnist");

}  // namespace tapeflow::data

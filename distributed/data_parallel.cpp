// DataParallel: buckets of parameters (in reverse registration order, about the order in which
// backward produces their gradients), each flattened into one buffer with one extra element per
// parameter saying whether this rank has its gradient, all-reduced (mean) together.
#include "distributed/data_parallel.h"

#include <chrono>
#include <functional>
#include <string>

#include "autograd/grad_mode.h"
#include "base/error.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::distributed {

struct DataParallel::Bucket {
  std::vector<Tensor> params;
  std::vector<int64_t> offsets;  // of each parameter in the flat buffer
  int64_t numel = 0;             // parameters only; the flags follow
  DType dtype = kFloat32;
  Device device = Device::cpu();
};

DataParallel::DataParallel(std::shared_ptr<nn::Module> module, DataParallelOptions options)
    : module_(std::move(module)), options_(options) {
  if (!module_) fail("DataParallel: got a null module");
  if (!(options_.bucket_cap_mb > 0)) fail("DataParallel: bucket_cap_mb must be positive, got ", options_.bucket_cap_mb);
  if (!is_initialized()) init();
  if (!module_->built())
    fail("DataParallel: the ", module_->type_name(), " is not built yet (call build(input_shape) first), so "
         "its parameters cannot be sent to the other ranks");
  // Every rank must hold the same parameters: compare names, shapes and dtypes.
  std::hash<std::string> h;
  uint64_t digest = 0;
  int64_t total = 0;
  for (const auto& [name, p] : module_->state_dict()) {
    digest = digest * 1099511628211ull ^ h(name + str_cat(p.shape(), p.dtype()));
    total += p.numel();
  }
  Tensor mine = from_vector(std::vector<int64_t>{(int64_t)module_->state_dict().size(), total, (int64_t)(digest >> 1)});
  Tensor all = all_gather(mine);
  for (int r = 1; r < world_size(); ++r)
    if (!tapeflow::all(eq(all[r], all[0])).item<bool>())
      fail("DataParallel: rank ", r, "'s ", module_->type_name(), " differs from rank 0's (", all[r][0].item<int64_t>(),
           " vs ", all[0][0].item<int64_t>(), " tensors, ", all[r][1].item<int64_t>(), " vs ", all[0][1].item<int64_t>(),
           " elements, or other names/shapes): every rank must build the same model");
  if (options_.broadcast_state) broadcast_state(0);
  build_buckets();
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast_state(int root) {
  NoGradGuard no_grad;
  for (auto& [name, t] : module_->state_dict()) {
    Tensor v = t;
    broadcast(v, root);
  }
}

void DataParallel::build_buckets() {
  auto params = module_->parameters();
  const double cap = options_.bucket_cap_mb * 1024.0 * 1024.0;
  buckets_.clear();
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const Tensor& p = *it;
    if (!p.requires_grad()) continue;
    bool fits = !buckets_.empty() && buckets_.back().dtype == p.dtype() && buckets_.back().device == p.device() &&
                (double)(buckets_.back().numel + p.numel()) * (double)dtype_size(p.dtype()) <= cap;
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().dtype = p.dtype();
      buckets_.back().device = p.device();
    }
    Bucket& b = buckets_.back();
    b.params.push_back(p);
    b.offsets.push_back(b.numel);
    b.numel += p.numel();
  }
}

size_t DataParallel::bucket_count() const { return buckets_.size(); }

void DataParallel::sync_gradients() {
  if (no_sync_) return;
  NoGradGuard no_grad;
  auto start = std::chrono::steady_clock::now();
  std::vector<Tensor> flats;
  std::vector<PendingReduce> pending;
  flats.reserve(buckets_.size());
  pending.reserve(buckets_.size());
  for (Bucket& b : buckets_) {
    Tensor flat = zeros({b.numel + (int64_t)b.params.size()}, Options(b.dtype, b.device));
    for (size_t i = 0; i < b.params.size(); ++i) {
      Tensor g = b.params[i].grad();
      if (!g.defined()) continue;
      flat.narrow(0, b.offsets[i], b.params[i].numel()).copy_(g.reshape({-1}));
      flat.narrow(0, b.numel + (int64_t)i, 1).fill_(1.0);
    }
    flats.push_back(flat);
    pending.push_back(all_reduce_async(flats.back(), ReduceOp::Mean));
  }
  for (size_t k = 0; k < buckets_.size(); ++k) {
    pending[k].wait();
    Bucket& b = buckets_[k];
    Tensor flags = flats[k].narrow(0, b.numel, (int64_t)b.params.size()).astype(kFloat64).contiguous();
    auto have = flags.to_vector<double>();
    for (size_t i = 0; i < b.params.size(); ++i) {
      if (!(have[i] > 0)) continue;  // no rank has a gradient for it: leave it without one
      Tensor avg = flats[k].narrow(0, b.offsets[i], b.params[i].numel()).reshape(b.params[i].shape());
      Tensor g = b.params[i].grad();
      if (g.defined()) g.copy_(avg);
      else b.params[i].set_grad(avg.clone());
    }
  }
  last_wait_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tapeflow::distributed

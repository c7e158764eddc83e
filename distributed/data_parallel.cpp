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
  // This round (between two syncs): how many gradients are complete, and the all-reduce.
  size_t ready = 0;
  bool launched = false, stale = false;
  Tensor flat;
  PendingReduce pending;
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
  if (options_.overlap)
    for (size_t b = 0; b < buckets_.size(); ++b)
      for (Tensor& p : buckets_[b].params)
        hooks_.push_back(p.register_post_accumulate_grad_hook([this, b](const Tensor&) { on_grad_ready(b); }));
}

DataParallel::~DataParallel() {
  for (auto& h : hooks_) h.remove();
}

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

// A parameter's gradient is complete for this backward: start every bucket, in index order,
// whose gradients all are (the same order on every rank, as MPI's collectives require).
void DataParallel::on_grad_ready(size_t b) {
  if (no_sync_) return;
  Bucket& bucket = buckets_[b];
  if (bucket.launched) {  // a second backward before sync_gradients(): resend at sync
    bucket.stale = true;
    return;
  }
  if (++bucket.ready < bucket.params.size()) return;
  while (next_launch_ < buckets_.size() && !buckets_[next_launch_].launched &&
         buckets_[next_launch_].ready >= buckets_[next_launch_].params.size()) {
    launch(next_launch_++);
    ++started_early_;
  }
}

void DataParallel::launch(size_t b) {
  NoGradGuard no_grad;
  Bucket& bucket = buckets_[b];
  Tensor flat = zeros({bucket.numel + (int64_t)bucket.params.size()}, Options(bucket.dtype, bucket.device));
  for (size_t i = 0; i < bucket.params.size(); ++i) {
    Tensor g = bucket.params[i].grad();
    if (!g.defined()) continue;
    flat.narrow(0, bucket.offsets[i], bucket.params[i].numel()).copy_(g.reshape({-1}));
    flat.narrow(0, bucket.numel + (int64_t)i, 1).fill_(1.0);
  }
  bucket.flat = flat;
  bucket.pending = all_reduce_async(bucket.flat, ReduceOp::Mean);
  bucket.launched = true;
}

void DataParallel::sync_gradients() {
  if (no_sync_) return;
  NoGradGuard no_grad;
  auto start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < buckets_.size(); ++k) {
    Bucket& b = buckets_[k];
    if (b.launched && b.stale) {  // its gradients changed after it was sent
      b.pending.wait();
      b.launched = false;
    }
    if (!b.launched) launch(k);
  }
  for (Bucket& b : buckets_) {
    b.pending.wait();
    Tensor flags = b.flat.narrow(0, b.numel, (int64_t)b.params.size()).astype(kFloat64).contiguous();
    auto have = flags.to_vector<double>();
    for (size_t i = 0; i < b.params.size(); ++i) {
      if (!(have[i] > 0)) continue;  // no rank has a gradient for it: leave it without one
      Tensor avg = b.flat.narrow(0, b.offsets[i], b.params[i].numel()).reshape(b.params[i].shape());
      Tensor g = b.params[i].grad();
      if (g.defined()) g.copy_(avg);
      else b.params[i].set_grad(avg.clone());
    }
    b.ready = 0;
    b.launched = b.stale = false;
    b.flat = Tensor();
  }
  last_started_early_ = started_early_;
  started_early_ = 0;
  next_launch_ = 0;
  last_wait_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tapeflow::distributed

// DataParallel: data-parallel training of any module (PyTorch's DistributedDataParallel, with
// the gradient exchange as an explicit call, as Horovod's optimizer.synchronize()):
//
//   auto model = std::make_shared<MyNet>();
//   dist::DataParallel ddp(model);        // rank 0's parameters and buffers go to every rank
//   for (...) {                           // each rank runs its own shard of every batch
//     Tensor loss = loss_fn((*model)(x_shard), y_shard);
//     opt.zero_grad(); loss.backward();
//     ddp.sync_gradients();               // gradients averaged over the ranks
//     opt.step();
//   }
//
// Gradients travel in buckets of about bucket_cap_mb (25 MB by default), in reverse order of
// registration (about the order backward produces them). A hook on every parameter (its
// post-accumulate-grad hook) notes when its gradient is complete; as soon as a bucket is
// complete, its all-reduce starts, while backward goes on computing the next buckets'
// gradients (buckets start in index order on every rank, as MPI requires). sync_gradients()
// starts what is left, waits for all and writes the averages back. A parameter that got no
// gradient on a rank (unused in its forward) counts as zeros there; one that got none on any
// rank keeps no gradient. Inside a no_sync() scope nothing is sent, so gradients accumulate
// locally; the first sync after it averages the sums (gradient accumulation).
#pragma once
#include <memory>
#include <vector>

#include "distributed/distributed.h"
#include "nn/module.h"

namespace tapeflow::distributed {

struct DataParallelOptions {
  double bucket_cap_mb = 25.0;
  bool broadcast_state = true;  // rank 0's parameters and buffers to every rank at construction
  DataParallelOptions& with_bucket_cap_mb(double mb) { bucket_cap_mb = mb; return *this; }
  bool overlap = true;  // start buckets during backward (parameter hooks); false: all at sync
  DataParallelOptions& with_broadcast_state(bool b) { broadcast_state = b; return *this; }
  DataParallelOptions& with_overlap(bool b) { overlap = b; return *this; }
};

class DataParallel {
 public:
  explicit DataParallel(std::shared_ptr<nn::Module> module, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  nn::Module& module() { return *module_; }
  const std::shared_ptr<nn::Module>& module_ptr() const { return module_; }

  // Averages the gradients over the ranks (call after backward, before the optimizer step).
  void sync_gradients();
  // Sends rank root's parameters and buffers to every rank.
  void broadcast_state(int root = 0);

  class NoSync {
   public:
    explicit NoSync(DataParallel& d) : d_(&d), prev_(d.no_sync_) { d.no_sync_ = true; }
    ~NoSync() { if (d_) d_->no_sync_ = prev_; }
    NoSync(NoSync&& o) noexcept : d_(o.d_), prev_(o.prev_) { o.d_ = nullptr; }
    NoSync(const NoSync&) = delete;
   private:
    DataParallel* d_;
    bool prev_;
  };
  NoSync no_sync() { return NoSync(*this); }  // auto guard = ddp.no_sync();

  size_t bucket_count() const;
  // Buckets whose all-reduce started during the last backward, before sync_gradients().
  size_t buckets_started_early() const { return last_started_early_; }
  // Seconds the last sync_gradients() spent waiting for the all-reduces (for benchmarks).
  double last_wait_seconds() const { return last_wait_s_; }

 private:
  struct Bucket;
  void build_buckets();
  void on_grad_ready(size_t bucket);
  void launch(size_t bucket);
  std::shared_ptr<nn::Module> module_;
  DataParallelOptions options_;
  std::vector<Bucket> buckets_;
  bool no_sync_ = false;
  double last_wait_s_ = 0;
  size_t next_launch_ = 0, started_early_ = 0, last_started_early_ = 0;
  std::vector<RemovableHandle> hooks_;
};

}  // namespace tapeflow::distributed

// fit()'s data-parallel mode: see distributed_fit.h.
#include "training/distributed_fit.h"

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::training {

DistributedFit::DistributedFit(Model& model, const FitOptions&) : model_(model) {
  if (!distributed::is_initialized()) distributed::init();
  // A non-owning handle: the model outlives this object (fit() owns both).
  std::shared_ptr<nn::Module> handle(std::shared_ptr<nn::Module>(), &model);
  ddp_ = std::make_unique<distributed::DataParallel>(handle);
  distributed::DataParallel* ddp = ddp_.get();
  model_.before_step_ = [ddp] { ddp->sync_gradients(); };
}

DistributedFit::~DistributedFit() { model_.before_step_ = nullptr; }

int DistributedFit::rank() const { return distributed::rank(); }

uint64_t DistributedFit::agree_seed(uint64_t seed) const {
  Tensor s = from_vector(std::vector<int64_t>{(int64_t)seed});
  distributed::broadcast(s, 0);
  return (uint64_t)s.item<int64_t>();
}

int64_t DistributedFit::local_batch(int64_t global_batch) const {
  int64_t n = distributed::world_size();
  return (global_batch + n - 1) / n;
}

int64_t DistributedFit::steps_per_epoch(int64_t n, int64_t global_batch) const {
  int64_t per_rank = distributed::DistributedSampler(n).size();
  int64_t b = local_batch(global_batch);
  return (per_rank + b - 1) / b;
}

Tensor DistributedFit::shard(int64_t n, int epoch, bool shuffle, uint64_t seed) const {
  distributed::DistributedSampler sampler(n, distributed::SamplerOptions().with_shuffle(shuffle).with_seed(seed));
  sampler.set_epoch(epoch);
  return sampler.indices_tensor();
}

void DistributedFit::average(Logs& logs) const {
  if (logs.empty()) return;
  std::vector<double> values;
  for (const auto& [k, v] : logs.items()) values.push_back(v);
  Tensor t = from_vector(values);
  distributed::all_reduce(t, distributed::ReduceOp::Mean);
  auto mean = t.to_vector<double>();
  Logs out;
  size_t i = 0;
  for (const auto& [k, v] : logs.items()) out.set(k, mean[i++]);
  logs = out;
}

Logs DistributedFit::evaluate(Model& model, const std::vector<Tensor>& x, const Tensor& y, int64_t global_batch) const {
  Tensor idx = shard(y.size(0), 0, false, 0);
  std::vector<Tensor> xs;
  for (const Tensor& xi : x) xs.push_back(index_select(xi, 0, idx.to(xi.device())));
  Tensor ys = index_select(y, 0, idx.to(y.device()));
  Logs logs = model.evaluate(xs, ys, EvaluateOptions().with_batch_size(local_batch(global_batch)));
  average(logs);
  return logs;
}

bool DistributedFit::agree_stop(bool stop) const {
  Tensor s = from_vector(std::vector<int64_t>{stop ? 1 : 0});
  distributed::broadcast(s, 0);
  return s.item<int64_t>() != 0;
}

}  // namespace tapeflow::training

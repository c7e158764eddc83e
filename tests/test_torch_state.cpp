// PyTorch weights: tests/data/torch_*.safetensors were written by PyTorch 1.13 and safetensors'
// save_file (tests/data/make_torch_fixtures.py): F16/BF16 specials convert exactly, and a
// torch MLP (Linear 4-8 tanh, 8-6 relu, 6-3) loaded into a Sequential of Dense layers gives
// PyTorch's outputs. Also every bad mapping and bad half-type file by its message.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "data/safetensors.h"
#include "data/torch_state.h"
#include "helpers.h"
#include "nn/nn.h"

using namespace tapeflow;
using Catch::Matchers::Contains;

namespace {

const std::string kData = std::string(TAPEFLOW_SOURCE_DIR) + "/tests/data/";

const Tensor& find(const data::NamedTensors& ts, const std::string& name) { return tftest::find_named(ts, name); }

nn::Sequential torch_mlp_twin() {
  nn::Sequential m;
  m.add(nn::Dense(8, "tanh", true, "glorot_uniform", "zeros", 4));
  m.add(nn::Dense(6, "relu"));
  m.add(nn::Dense(3, "linear"));
  return m;
}

// |a - e| <= rel * |e| + tiny, elementwise.
bool rel_close(const Tensor& a, const Tensor& e, double rel) {
  std::vector<double> x = a.to_vector<double>(), y = e.to_vector<double>();
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::fabs(x[i] - y[i]) > rel * std::fabs(y[i]) + 1e-7) return false;
  return true;
}

}  // namespace

TEST_CASE("torch: F16 and BF16 load as float32, bit-exactly as torch converts them", "[torch][safetensors]") {
  data::NamedTensors t = data::load_safetensors(kData + "torch_half_specials.safetensors");
  for (auto [half, ref] : {std::pair{"h", "h_f32"}, std::pair{"b", "b_f32"}}) {
    const Tensor& a = find(t, half);
    const Tensor& b = find(t, ref);
    REQUIRE(a.dtype() == kFloat32);
    REQUIRE(a.shape() == b.shape());
    // Zeros of both signs, subnormals, the largest finite, infinities and NaN: same bits.
    CHECK(std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel()) * 4) == 0);
  }
}

TEST_CASE("torch: an MLP's state_dict loads into Dense layers and gives PyTorch's outputs", "[torch]") {
  data::NamedTensors ex = data::load_safetensors(kData + "torch_mlp_expected.safetensors");
  const Tensor& x = find(ex, "x");
  auto mapping = data::torch_linear_mapping({"fc1", "fc2", "out"});
  REQUIRE(mapping.size() == 6);
  CHECK(mapping[0].torch_name == "fc1.weight");
  CHECK(mapping[0].name == "0.kernel");
  CHECK(mapping[0].transpose);
  CHECK(mapping[5].name == "2.bias");
  CHECK_FALSE(mapping[5].transpose);
  for (std::string kind : {"f32", "f16", "bf16"}) {
    INFO("weights " << kind);
    nn::Sequential model = torch_mlp_twin();
    model.load_state_dict(data::load_torch_state(kData + "torch_mlp_" + kind + ".safetensors", mapping));
    CHECK(model.named_parameters()[0].second.shape() == Shape{4, 8});  // (in, out)
    Tensor y = model.predict(x);
    // Against a float64 forward of the same stored weights: the half types widen exactly, so
    // only float32 arithmetic is left on our side, for every kind.
    CHECK(rel_close(y, find(ex, "y_" + kind), 1e-5));
    // Against the float32 model: rounding the weights to half costs up to 2^-11 (F16) or 2^-8
    // (BF16) of each weight; through three layers that stayed below 2.2e-4 and 1.3e-3 absolute
    // here (outputs up to 0.55), so 1e-3 and 5e-3 absolute leave room without hiding a bug.
    double tol = kind == "f32" ? 1e-6 : kind == "f16" ? 1e-3 : 5e-3;
    std::vector<double> a = y.to_vector<double>(), b = find(ex, "y_torch_f32").to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(a[i] - b[i]) <= tol);
  }
}

TEST_CASE("torch: bad mappings and bad half-type files are rejected", "[torch][safetensors]") {
  data::NamedTensors state = data::load_safetensors(kData + "torch_mlp_f32.safetensors");
  REQUIRE_THROWS_WITH(data::from_torch_state_dict(state, data::torch_linear_mapping({"fc1", "fc3", "out"})),
                      Contains("from_torch_state_dict: missing from the state_dict: 'fc3.weight', 'fc3.bias' (it holds"));
  REQUIRE_THROWS_WITH(data::from_torch_state_dict(state, data::torch_linear_mapping({"fc1", "out"})),
                      Contains("no mapping uses 'fc2.bias', 'fc2.weight' (strict"));
  CHECK(data::from_torch_state_dict(state, data::torch_linear_mapping({"fc1", "out"}), false).size() == 4);
  REQUIRE_THROWS_WITH(data::from_torch_state_dict(state, {{"fc1.bias", "0.bias", true}}, false),
                      Contains("'fc1.bias' -> '0.bias' is transposed, which needs a 2-d tensor, got shape (8,)"));
  REQUIRE_THROWS_WITH(data::from_torch_state_dict(state, {{"fc1.bias", "b"}, {"fc2.bias", "b"}}, false),
                      Contains("two mappings produce 'b'"));
  REQUIRE_THROWS_WITH(data::torch_linear_mapping({"fc1", "fc1"}), Contains("prefix 'fc1' is given twice"));
  // A mapping that fits the file but not the model: load_state_dict names it, nothing changes.
  nn::Sequential wrong;
  wrong.add(nn::Dense(7, "tanh", true, "glorot_uniform", "zeros", 4));
  wrong.add(nn::Dense(6, "relu"));
  wrong.add(nn::Dense(3, "linear"));
  Tensor before = wrong.named_parameters()[0].second.clone();
  REQUIRE_THROWS_WITH(wrong.load_state_dict(data::from_torch_state_dict(state, data::torch_linear_mapping({"fc1", "fc2", "out"}))),
                      Contains("0.kernel"));
  CHECK(tftest::approx_vec(wrong.named_parameters()[0].second, before.to_vector<double>(), 0));
}

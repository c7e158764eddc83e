// Element types and NumPy/PyTorch-style type promotion.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace tapeflow {

enum class DType : uint8_t { Bool, UInt8, Int32, Int64, Float32, Float64 };

constexpr DType kBool = DType::Bool;
constexpr DType kUInt8 = DType::UInt8;
constexpr DType kInt32 = DType::Int32;
constexpr DType kInt64 = DType::Int64;
constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr int kNumDTypes = 6;

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Bool: case DType::UInt8: return 1;
    case DType::Int32: case DType::Float32: return 4;
    default: return 8;
  }
}
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
inline bool is_integral(DType t) { return t == DType::UInt8 || t == DType::Int32 || t == DType::Int64; }
const char* dtype_name(DType t);  // "float32", ...
DType parse_dtype(const std::string& name);
std::ostream& operator<<(std::ostream& os, DType t);

// Promotion of two tensor dtypes (bool < uint8 < int32 < int64 < float32 < float64;
// uint8 with a signed int gives the signed one).
DType promote_types(DType a, DType b);

template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <class T> constexpr DType dtype_v = dtype_of<T>::value;
// The C++ types of tapeflow's elements: bool, uint8_t, int32_t, int64_t, float, double. A call
// such as from_vector(std::vector<unsigned>) or data_ptr<size_t>() fails to compile naming it.
template <class T>
concept ElementType = requires { dtype_of<T>::value; };

// Calls f(T{}) with the C++ type of t: dispatch over every dtype.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(bool{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Float32: return f(float{});
    default: return f(double{});
  }
}

}  // namespace tapeflow

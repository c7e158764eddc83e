// The summaries that need computing before they are written: histograms (HistogramProto with
// equal-width buckets) and images (PNG through libpng, wrapped in Summary.Image).
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <vector>

#include "tensorboard/fields.h"
#include "tensorboard/record.h"
#include "tensorboard/summary_writer.h"

namespace tapeflow::tensorboard {

using namespace fields;

namespace {

// An image as 8-bit interleaved rows.
struct Pixels {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<unsigned char> data;
};

Pixels to_pixels(const char* who, const Tensor& image, const std::string& fmt) {
  if (!image.defined()) fail(who, ": the image is undefined");
  if (fmt != "HWC" && fmt != "CHW" && fmt != "HW")
    fail(who, ": dataformats must be \"HWC\", \"CHW\" or \"HW\", got \"", fmt, "\"");
  if (image.dim() != int(fmt.size()))
    fail(who, ": dataformats \"", fmt, "\" needs a ", fmt.size(), "-d image, got shape ", image.shape());
  DType dt = image.dtype();
  if (dt != kUInt8 && dt != kFloat32 && dt != kFloat64)
    fail(who, ": the image must be uint8, float32 or float64, got ", dtype_name(dt));
  Tensor hwc = fmt == "HW" ? image.unsqueeze(2) : fmt == "CHW" ? image.permute({1, 2, 0}) : image;
  Pixels p{hwc.size(0), hwc.size(1), hwc.size(2), {}};
  if (p.channels != 1 && p.channels != 3 && p.channels != 4)
    fail(who, ": the image needs 1, 3 or 4 channels, got ", p.channels, " (shape ", image.shape(), ", \"", fmt, "\")");
  if (p.height < 1 || p.width < 1 || p.height > 65535 || p.width > 65535)
    fail(who, ": image height and width must be in [1, 65535], got shape ", image.shape());
  Tensor host = hwc.detach().to(Device::cpu()).contiguous();
  p.data.resize(size_t(host.numel()));
  if (dt == kUInt8) {
    std::memcpy(p.data.data(), host.raw_data(), p.data.size());
  } else {
    Tensor d = host.astype(kFloat64).contiguous();
    const double* v = d.data_ptr<double>();
    for (size_t i = 0; i < p.data.size(); ++i) {
      if (std::isnan(v[i])) fail(who, ": the image holds NaN (element ", i, ")");
      p.data[i] = (unsigned char)std::lround(std::clamp(v[i], 0.0, 1.0) * 255.0);
    }
  }
  return p;
}

struct PngOut {
  std::string bytes;
};
void png_write_cb(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<PngOut*>(png_get_io_ptr(png));
  try {
    out->bytes.append(reinterpret_cast<const char*>(data), n);
  } catch (...) {
    png_error(png, "out of memory");
  }
}
void png_flush_cb(png_structp) {}
void png_error_cb(png_structp png, png_const_charp msg) {
  auto* m = static_cast<char*>(png_get_error_ptr(png));
  std::strncpy(m, msg ? msg : "unknown error", 255);
  png_longjmp(png, 1);
}
void png_warning_cb(png_structp, png_const_charp) {}

// NOTE: libpng reports errors by longjmp: between setjmp and the end of this function no C++
// object is created, so nothing is skipped. Returns false with `message` set on failure.
bool write_png(const Pixels& p, unsigned char* const* rows, PngOut* out, char* message) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, png_error_cb, png_warning_cb);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  int color = p.channels == 1 ? PNG_COLOR_TYPE_GRAY : p.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
  png_set_write_fn(png, out, png_write_cb, png_flush_cb);
  png_set_IHDR(png, info, png_uint_32(p.width), png_uint_32(p.height), 8, color, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, const_cast<png_bytepp>(rows));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

std::string png_of(const char* who, const Pixels& p) {
  std::vector<unsigned char*> rows(size_t(p.height));
  for (int64_t r = 0; r < p.height; ++r)
    rows[size_t(r)] = const_cast<unsigned char*>(p.data.data()) + r * p.width * p.channels;
  PngOut out;
  char message[256] = "libpng could not start";
  if (!write_png(p, rows.data(), &out, message)) fail(who, ": PNG encoding failed: ", message);
  return std::move(out.bytes);
}

}  // namespace

std::string encode_png(const Tensor& image, const std::string& dataformats) {
  return png_of("encode_png", to_pixels("encode_png", image, dataformats));
}

void SummaryWriter::add_image(const std::string& tag, const Tensor& image, int64_t step,
                              const std::string& dataformats) {
  check_open("add_image", tag);
  std::string who = "SummaryWriter::add_image('" + tag + "')";
  Pixels p = to_pixels(who.c_str(), image, dataformats);
  ProtoWriter img, v;
  img.varint_field(kImgHeight, uint64_t(p.height));
  img.varint_field(kImgWidth, uint64_t(p.width));
  img.varint_field(kImgColorspace, uint64_t(p.channels));  // 1 grey, 3 RGB, 4 RGBA
  img.bytes_field(kImgEncoded, png_of(who.c_str(), p));
  v.bytes_field(kValueTag, tag);
  v.message_field(kValueImage, img);
  write_event(v.bytes(), step);
}

void SummaryWriter::add_histogram(const std::string& tag, const Tensor& values, int64_t step, int bins) {
  check_open("add_histogram", tag);
  const std::string who = "SummaryWriter::add_histogram('" + tag + "')";
  if (!values.defined()) fail(who, ": the tensor is undefined");
  if (bins < 1) fail(who, ": bins must be >= 1, got ", bins);
  if (values.numel() == 0) fail(who, ": the tensor of shape ", values.shape(), " has no elements");
  if (values.dtype() == kBool) fail(who, ": bool tensors have no histogram");
  Tensor d = values.detach().to(Device::cpu()).astype(kFloat64).contiguous();
  const double* v = d.data_ptr<double>();
  const int64_t n = d.numel();
  double lo = v[0], hi = v[0], sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) fail(who, ": element ", i, " is ", v[i], " (values must be finite)");
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
    sum += v[i];
    sum_sq += v[i] * v[i];
  }
  // bucket_limit[i] is bucket i's right edge; TensorBoard takes min as the first left edge.
  int k = hi > lo ? bins : 1;
  std::vector<double> limits(static_cast<size_t>(k)), counts(static_cast<size_t>(k), 0.0);
  for (int i = 0; i < k; ++i) limits[size_t(i)] = i + 1 == k ? hi : lo + (hi - lo) * (i + 1) / k;
  for (int64_t i = 0; i < n; ++i) {
    int b = k == 1 ? 0 : int(std::floor((v[i] - lo) / (hi - lo) * k));
    b = std::clamp(b, 0, k - 1);
    // Keep each value inside [left, right]: rounding in the division may point one bucket off.
    while (b > 0 && v[i] < (b == 0 ? lo : limits[size_t(b - 1)])) --b;
    while (b + 1 < k && v[i] > limits[size_t(b)]) ++b;
    counts[size_t(b)] += 1;
  }
  ProtoWriter h, val;
  h.double_field(kHMin, lo);
  h.double_field(kHMax, hi);
  h.double_field(kHNum, double(n));
  h.double_field(kHSum, sum);
  h.double_field(kHSumSq, sum_sq);
  h.packed_doubles(kHLimit, limits);
  h.packed_doubles(kHBucket, counts);
  val.bytes_field(kValueTag, tag);
  val.message_field(kValueHisto, h);
  write_event(val.bytes(), step);
}

}  // namespace tapeflow::tensorboard

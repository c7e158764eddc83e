// C API: a model as JSON, in the format of Keras's model.to_json() for a Sequential of Dense,
// Flatten, Dropout and Activation layers (InputLayer and batch_input_shape give the input shape).
// data/json.h reads only what safetensors headers hold (no fractions, booleans or null), so this
// file has its own small reader for the full JSON grammar.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "capi/internal.h"

using namespace tapeflow;
using namespace tapeflow::capi;

namespace tapeflow::capi {
void add_layer(tf_model* m, const tf_layer_spec& spec);
}

namespace {

struct JMember;  // (key, value): a struct, not a std::pair of the incomplete JValue (clang)

struct JValue {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<JValue> items;
  std::vector<JMember> members;
  const JValue* get(const char* key) const;
};

struct JMember {
  std::string first;
  JValue second;
  JMember(std::string k, JValue v) : first(std::move(k)), second(std::move(v)) {}
};

const JValue* JValue::get(const char* key) const {
  for (auto& m : members)
    if (m.first == key) return &m.second;
  return nullptr;
}

class Reader {
 public:
  explicit Reader(const char* text) : p_(text), start_(text) {}
  JValue document() {
    JValue v = value(0);
    ws();
    if (*p_) bad("unexpected text after the value");
    return v;
  }

 private:
  const char *p_, *start_;
  [[noreturn]] void bad(const char* what) {
    raise(TF_ERR_INVALID_ARGUMENT, "malformed JSON at byte ", p_ - start_, ": ", what);
  }
  void ws() { while (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r') ++p_; }
  bool word(const char* w) {
    size_t n = std::strlen(w);
    if (std::strncmp(p_, w, n) != 0) return false;
    p_ += n;
    return true;
  }
  JValue value(int depth) {
    if (depth > 64) bad("nested deeper than 64 levels");
    ws();
    JValue v;
    if (*p_ == '{') {
      v.kind = JValue::Object;
      ++p_;
      ws();
      if (*p_ == '}') { ++p_; return v; }
      for (;;) {
        ws();
        if (*p_ != '"') bad("expected a member name");
        std::string k = string();
        ws();
        if (*p_++ != ':') bad("expected ':'");
        v.members.emplace_back(std::move(k), value(depth + 1));
        ws();
        if (*p_ == ',') { ++p_; continue; }
        if (*p_ == '}') { ++p_; return v; }
        bad("expected ',' or '}'");
      }
    }
    if (*p_ == '[') {
      v.kind = JValue::Array;
      ++p_;
      ws();
      if (*p_ == ']') { ++p_; return v; }
      for (;;) {
        v.items.push_back(value(depth + 1));
        ws();
        if (*p_ == ',') { ++p_; continue; }
        if (*p_ == ']') { ++p_; return v; }
        bad("expected ',' or ']'");
      }
    }
    if (*p_ == '"') { v.kind = JValue::String; v.str = string(); return v; }
    if (word("true")) { v.kind = JValue::Bool; v.b = true; return v; }
    if (word("false")) { v.kind = JValue::Bool; return v; }
    if (word("null")) return v;
    if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) {
      char* end = nullptr;
      v.kind = JValue::Number;
      v.num = std::strtod(p_, &end);
      if (end == p_ || !std::isfinite(v.num)) bad("bad number");
      p_ = end;
      return v;
    }
    bad(*p_ ? "unexpected character" : "unexpected end of text");
  }
  std::string string() {
    std::string s;
    ++p_;  // the opening quote
    for (;;) {
      char c = *p_++;
      if (c == '"') return s;
      if (c == '\0') { --p_; bad("unterminated string"); }
      if ((unsigned char)c < 0x20) bad("control character in a string");
      if (c != '\\') { s += c; continue; }
      char e = *p_++;
      switch (e) {
        case '"': case '\\': case '/': s += e; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          for (int i = 0; i < 4; ++i) {
            char h = *p_++;
            cp <<= 4;
            if (h >= '0' && h <= '9') cp |= h - '0';
            else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
            else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
            else { --p_; bad("bad \\u escape"); }
          }
          if (cp < 0x80) s += (char)cp;  // names here are ASCII; others are kept as UTF-8
          else if (cp < 0x800) { s += (char)(0xC0 | (cp >> 6)); s += (char)(0x80 | (cp & 0x3F)); }
          else { s += (char)(0xE0 | (cp >> 12)); s += (char)(0x80 | ((cp >> 6) & 0x3F)); s += (char)(0x80 | (cp & 0x3F)); }
          break;
        }
        default: --p_; bad("bad escape");
      }
    }
  }
};

// "GlorotUniform" -> "glorot_uniform"; a plain string is taken as is.
std::string initializer_name(const JValue& v, const char* what) {
  if (v.kind == JValue::String) return v.str;
  const JValue* cls = v.kind == JValue::Object ? v.get("class_name") : nullptr;
  if (!cls || cls->kind != JValue::String) raise(TF_ERR_INVALID_ARGUMENT, what, ": expected a name or {\"class_name\": ...}");
  if (cls->str == "Constant") {
    const JValue* cfg = v.get("config");
    const JValue* val = cfg ? cfg->get("value") : nullptr;
    if (val && !(val->kind == JValue::Number && val->num == 0.0))
      raise(TF_ERR_INVALID_ARGUMENT, what, ": only Constant with value 0 is supported");
  }
  std::string out;
  for (char c : cls->str) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out += '_';
      out += (char)(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

int64_t integer(const JValue& v, const char* what) {
  if (v.kind != JValue::Number || v.num != std::floor(v.num) || std::fabs(v.num) > 9e15)
    raise(TF_ERR_INVALID_ARGUMENT, what, ": expected an integer");
  return (int64_t)v.num;
}

// [null, d1, d2, ...] -> (d1, d2, ...)
std::vector<int64_t> batch_shape(const JValue& v, const char* what) {
  if (v.kind != JValue::Array || v.items.size() < 2) raise(TF_ERR_INVALID_ARGUMENT, what, ": expected [null, d1, ...]");
  std::vector<int64_t> dims;
  for (size_t i = 1; i < v.items.size(); ++i) dims.push_back(integer(v.items[i], what));
  return dims;
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if ((unsigned char)c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
    else out += c;
  }
  out += '"';
}

std::string number(double d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", d);
  return b;
}

}  // namespace

extern "C" {

tf_status tf_model_from_json(const char* json, tf_model** out) {
  return guard("tf_model_from_json", TF_ERR_INVALID_ARGUMENT, [&] {
    need(json, "json");
    need(out, "out");
    JValue doc = Reader(json).document();
    const JValue* cls = doc.get("class_name");
    const JValue* cfg = doc.get("config");
    if (!cls || cls->kind != JValue::String || cls->str != "Sequential")
      raise(TF_ERR_INVALID_ARGUMENT, "expected {\"class_name\": \"Sequential\", \"config\": {...}}");
    const JValue* layers = cfg ? cfg->get("layers") : nullptr;
    if (!layers || layers->kind != JValue::Array) raise(TF_ERR_INVALID_ARGUMENT, "config.layers: expected an array");
    auto m = std::make_unique<tf_model>();
    std::vector<int64_t> input;
    if (const JValue* b = cfg->get("build_input_shape"); b && b->kind == JValue::Array) input = batch_shape(*b, "build_input_shape");
    for (size_t i = 0; i < layers->items.size(); ++i) {
      const JValue& L = layers->items[i];
      const JValue* lc = L.get("class_name");
      const JValue* c = L.get("config");
      std::string where = "layers[" + std::to_string(i) + "]";
      if (!lc || lc->kind != JValue::String || !c || c->kind != JValue::Object)
        raise(TF_ERR_INVALID_ARGUMENT, where, ": expected {\"class_name\": ..., \"config\": {...}}");
      if (const JValue* b = c->get("batch_input_shape"); b && input.empty()) input = batch_shape(*b, where.c_str());
      if (const JValue* b = c->get("batch_shape"); b && input.empty()) input = batch_shape(*b, where.c_str());
      tf_layer_spec s;
      const std::string& k = lc->str;
      if (k == "InputLayer") continue;
      if (k == "Dense") {
        s.kind = tf_layer_spec::Dense;
        const JValue* u = c->get("units");
        if (!u) raise(TF_ERR_INVALID_ARGUMENT, where, ": Dense needs \"units\"");
        s.units = integer(*u, (where + ".units").c_str());
        if (s.units < 1) raise(TF_ERR_INVALID_ARGUMENT, where, ".units = ", s.units, " is not positive");
        const JValue* a = c->get("activation");
        s.activation = a && a->kind == JValue::String ? a->str : "linear";
        const JValue* ub = c->get("use_bias");
        s.use_bias = !ub || ub->kind != JValue::Bool || ub->b;
        const JValue* ki = c->get("kernel_initializer");
        s.kernel_init = ki ? initializer_name(*ki, (where + ".kernel_initializer").c_str()) : "glorot_uniform";
        const JValue* bi = c->get("bias_initializer");
        s.bias_init = bi ? initializer_name(*bi, (where + ".bias_initializer").c_str()) : "zeros";
        if (const JValue* d = c->get("input_dim")) s.input_dim = integer(*d, (where + ".input_dim").c_str());
      } else if (k == "Flatten") {
        s.kind = tf_layer_spec::Flatten;
      } else if (k == "Dropout") {
        s.kind = tf_layer_spec::Dropout;
        const JValue* r = c->get("rate");
        if (!r || r->kind != JValue::Number || !(r->num >= 0 && r->num < 1))
          raise(TF_ERR_INVALID_ARGUMENT, where, ": Dropout needs \"rate\" in [0, 1)");
        s.rate = r->num;
      } else if (k == "Activation") {
        s.kind = tf_layer_spec::Activation;
        const JValue* a = c->get("activation");
        if (!a || a->kind != JValue::String) raise(TF_ERR_INVALID_ARGUMENT, where, ": Activation needs \"activation\"");
        s.activation = a->str;
      } else {
        raise(TF_ERR_INVALID_ARGUMENT, where, ": unsupported layer class '", k,
              "' (supported: InputLayer, Dense, Flatten, Dropout, Activation)");
      }
      add_layer(m.get(), s);
    }
    if (m->layers.empty()) raise(TF_ERR_INVALID_ARGUMENT, "config.layers has no layer");
    if (!input.empty()) {
      for (int64_t d : input)
        if (d < 1) raise(TF_ERR_SHAPE, "input shape dims must be positive");
      m->seq->build(Shape(input));
    }
    register_handle(m.get(), Kind::Model);
    *out = m.release();
  });
}

tf_status tf_model_to_json(const tf_model* m, char* buffer, size_t capacity, size_t* length) {
  return guard("tf_model_to_json", TF_ERR_INTERNAL, [&] {
    tf_model* h = get(m, "m");
    need(length, "length");
    if (capacity > 0) need(buffer, "buffer");
    std::string j = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": [";
    if (h->seq->has_build_input_shape()) {
      j += "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null";
      for (int64_t d : h->seq->build_input_shape()) j += ", " + std::to_string(d);
      j += "]}}";
    }
    bool first = !h->seq->has_build_input_shape();
    for (const tf_layer_spec& s : h->layers) {
      j += first ? "" : ", ";
      first = false;
      switch (s.kind) {
        case tf_layer_spec::Dense:
          j += "{\"class_name\": \"Dense\", \"config\": {\"units\": " + std::to_string(s.units) + ", \"activation\": ";
          json_string(j, s.activation);
          j += std::string(", \"use_bias\": ") + (s.use_bias ? "true" : "false") + ", \"kernel_initializer\": ";
          json_string(j, s.kernel_init);
          j += ", \"bias_initializer\": ";
          json_string(j, s.bias_init);
          if (s.input_dim > 0) j += ", \"input_dim\": " + std::to_string(s.input_dim);
          j += "}}";
          break;
        case tf_layer_spec::Flatten: j += "{\"class_name\": \"Flatten\", \"config\": {}}"; break;
        case tf_layer_spec::Dropout: j += "{\"class_name\": \"Dropout\", \"config\": {\"rate\": " + number(s.rate) + "}}"; break;
        case tf_layer_spec::Activation:
          j += "{\"class_name\": \"Activation\", \"config\": {\"activation\": ";
          json_string(j, s.activation);
          j += "}}";
          break;
      }
    }
    j += "]}}";
    *length = j.size();
    if (!buffer && capacity == 0) return;  // a size query
    if (capacity < j.size() + 1)
      raise(TF_ERR_SHAPE, "capacity ", capacity, " is less than the ", j.size() + 1, " bytes the JSON needs (with its NUL)");
    std::memcpy(buffer, j.c_str(), j.size() + 1);
  });
}

}  // extern "C"

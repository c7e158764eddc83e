// A small strict JSON reader and string escaper for the safetensors header (internal to data/).
// It accepts exactly what that header needs: objects, arrays, strings (with every escape,
// surrogate pairs included) and integers; true/false/null, fractions and exponents are
// rejected. Object members keep their file order, duplicates included: the caller decides.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tapeflow::data::json {

struct Member;

struct Value {
  enum class Kind { Object, Array, String, Integer } kind = Kind::Object;
  std::string str;                                     // String
  int64_t integer = 0;                                 // Integer
  std::vector<Value> items;                            // Array
  std::vector<Member> members;                         // Object, in file order

  bool is_object() const { return kind == Kind::Object; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_string() const { return kind == Kind::String; }
  bool is_integer() const { return kind == Kind::Integer; }
};

// One object member. Not a std::pair: a pair of the still incomplete Value inside Value does not
// compile with clang and libstdc++ 12 (std::vector of an incomplete type is allowed, pair is not).
struct Member {
  std::string first;  // the key
  Value second;       // the value
};

// True when s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(const std::string& s);

const char* kind_name(Value::Kind k);  // "object", "array", "string", "integer"

// Parses one JSON value filling the whole text (surrounding whitespace allowed). Throws
// tapeflow::Error("<what>: malformed JSON at byte N: ...") on anything else, including text
// that is not valid UTF-8 and nesting deeper than 64 levels.
Value parse(const std::string& text, const std::string& what);

// Appends s as a JSON string literal, escaped as serde_json does (so that our safetensors
// headers match Python's byte for byte): \" \\ \b \f \n \r \t, other control bytes as \u00xx,
// everything else (UTF-8 included) as is.
void append_quoted(std::string& out, const std::string& s);

}  // namespace tapeflow::data::json

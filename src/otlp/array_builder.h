// Turning the elements of a decoded OTLP ArrayValue into one homogeneous
// AttributeValue array, as both decoders (protobuf and JSON) need.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "convtrace/span_data.h"

namespace convtrace::otlp {

// The first element fixes the array's type; until then the value is an empty
// string array. An element that is unsupported or of another type makes the
// array unsupported (the decoders drop it and count the drop).
class ArrayBuilder {
 public:
  explicit ArrayBuilder(AttributeValue* out) : out_(out) { *out_ = std::vector<std::string>{}; }

  // Adds one decoded scalar; `element_ok` false marks an unsupported element.
  void add(AttributeValue&& element, bool element_ok) {
    if (!element_ok || !homogeneous_) {
      homogeneous_ = false;
      return;
    }
    if (count_++ == 0) {
      switch (element.index()) {
        case 0:
          *out_ = std::vector<bool>{};
          break;
        case 1:
          *out_ = std::vector<int64_t>{};
          break;
        case 2:
          *out_ = std::vector<double>{};
          break;
        default:
          break;  // already a string array
      }
    }
    bool ok;
    switch (element.index()) {
      case 0:
        ok = append<bool>(std::move(element));
        break;
      case 1:
        ok = append<int64_t>(std::move(element));
        break;
      case 2:
        ok = append<double>(std::move(element));
        break;
      default:
        ok = append<std::string>(std::move(element));
        break;
    }
    if (!ok) homogeneous_ = false;
  }

  bool homogeneous() const { return homogeneous_; }

 private:
  template <typename T>
  bool append(AttributeValue&& element) {
    auto* vec = std::get_if<std::vector<T>>(out_);
    auto* value = std::get_if<T>(&element);
    if (!vec || !value) return false;
    vec->push_back(std::move(*value));
    return true;
  }

  AttributeValue* out_;
  bool homogeneous_ = true;
  size_t count_ = 0;
};

}  // namespace convtrace::otlp

#include "receiver/receiver.h"

namespace convtrace::receiver {

Decoder otlp_decoder() {
  return [](std::string_view, Encoding) -> Expected<std::vector<SpanData>> {
    return Error{Error::parse_error, "OTLP decoding is not available in this build"};
  };
}

}  // namespace convtrace::receiver

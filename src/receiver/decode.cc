#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#include "receiver/receiver.h"

namespace convtrace::receiver {

Decoder otlp_decoder(size_t max_body_bytes) {
  otlp::DecodeLimits limits;
  limits.max_input_bytes = max_body_bytes;
  // Decoded spans take several times their wire size; bound each request's
  // share so a few concurrent requests cannot exhaust memory.
  limits.max_decoded_bytes = 8 * max_body_bytes;
  return [limits](std::string_view body, Encoding enc) -> Expected<std::vector<SpanData>> {
    return enc == Encoding::json ? otlp::decode_trace_request_json(body, limits)
                                 : otlp::decode_trace_request(body, limits);
  };
}

}  // namespace convtrace::receiver

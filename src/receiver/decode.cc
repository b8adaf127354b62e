#include "receiver/receiver.h"

#if __has_include("otlp/otlp_proto.h")
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#define CONVTRACE_HAVE_OTLP_DECODER 1
#endif

namespace convtrace::receiver {

Decoder otlp_decoder(size_t max_body_bytes) {
#ifdef CONVTRACE_HAVE_OTLP_DECODER
  otlp::DecodeLimits limits;
  limits.max_input_bytes = max_body_bytes;
  // Decoded spans take several times their wire size; bound each request's
  // share so a few concurrent requests cannot exhaust memory.
  limits.max_decoded_bytes = 8 * max_body_bytes;
  return [limits](std::string_view body, Encoding enc) -> Expected<std::vector<SpanData>> {
    return enc == Encoding::json ? otlp::decode_trace_request_json(body, limits)
                                 : otlp::decode_trace_request(body, limits);
  };
#else
  (void)max_body_bytes;
  return [](std::string_view, Encoding) -> Expected<std::vector<SpanData>> {
    return Error{Error::parse_error, "OTLP decoding is not available in this build"};
  };
#endif
}

}  // namespace convtrace::receiver

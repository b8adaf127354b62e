#include <gtest/gtest.h>
#include <zlib.h>

#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "convtrace/diagnostics.h"
#include "convtrace/otlp.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#include "otlp/sample_spans.h"
#include "otlp/test_http_server.h"

namespace convtrace {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::TestHttpServer;
using Request = TestHttpServer::Request;
using Response = TestHttpServer::Response;

std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return {};
  std::string out(in.size() * 20 + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string("<bad gzip>");
}

// Captures every log line for the duration of a test.
class LogCapture {
 public:
  LogCapture() {
    set_log_handler([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { set_log_handler(nullptr); }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class OtlpHttpExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A proxy from the environment must not intercept 127.0.0.1.
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    TEST_reset_warnings();
    set_warning_interval(milliseconds(0));     // every warning reaches the log handler
    set_log_handler([](std::string_view) {});  // quiet unless a test captures the log
    spans_ = convtrace::testing::sample_spans();
    ptrs_ = convtrace::testing::pointers(spans_);
  }
  void TearDown() override {
    set_warning_interval(milliseconds(60000));
    set_log_handler(nullptr);
  }

  SpanBatch batch() const { return SpanBatch(ptrs_.data(), ptrs_.size()); }

  // Synchronous unless a test asks otherwise: these tests time and count
  // what one export_batch call does.
  std::unique_ptr<SpanExporter> make(OtlpHttpOptions o, bool background = false) {
    o.background_delivery = background;
    auto e = make_otlp_http_exporter(std::move(o));
    EXPECT_TRUE(e) << (e ? "" : e.error().message);
    return e ? std::move(*e) : nullptr;
  }

  OtlpExporterStats stats(const SpanExporter& e) {
    auto s = otlp_exporter_stats(e);
    EXPECT_TRUE(s.has_value());
    return s.value_or(OtlpExporterStats{});
  }

  std::vector<SpanData> spans_;
  std::vector<const SpanData*> ptrs_;
};

struct ProtocolCase {
  OtlpHttpOptions::Protocol protocol;
  bool gzip;
};

class OtlpHttpDelivery : public OtlpHttpExporterTest,
                         public ::testing::WithParamInterface<ProtocolCase> {};

TEST_P(OtlpHttpDelivery, DeliversDecodableBodies) {
  const bool json = GetParam().protocol == OtlpHttpOptions::Protocol::http_json;
  std::mutex mu;
  std::vector<SpanData> delivered;
  std::string problem;
  TestHttpServer server([&](const Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    std::string expected_type = json ? "application/json" : "application/x-protobuf";
    if (r.method != "POST" || r.target != "/v1/traces") problem += "bad request line; ";
    if (r.header("content-type") != expected_type)
      problem += "content-type " + r.header("content-type") + "; ";
    if ((r.header("content-encoding") == "gzip") != GetParam().gzip)
      problem += "content-encoding; ";
    if (r.header("user-agent").rfind("convtrace/", 0) != 0) problem += "user-agent; ";
    std::string body = GetParam().gzip ? gunzip(r.body) : r.body;
    auto spans = json ? otlp::decode_trace_request_json(body) : otlp::decode_trace_request(body);
    if (!spans) {
      problem += spans.error().message;
      return Response{400, {}, ""};
    }
    delivered.insert(delivered.end(), spans->begin(), spans->end());
    return Response{200, {{"Content-Type", r.header("content-type")}}, json ? "{}" : ""};
  });
  ASSERT_TRUE(server.ok());
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.protocol = GetParam().protocol;
  o.gzip = GetParam().gzip;
  auto exporter = make(o);
  ASSERT_TRUE(exporter);
  ASSERT_EQ(exporter->export_batch(batch()), ExportResult::success);
  ASSERT_EQ(exporter->export_batch(batch()), ExportResult::success);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(problem, "");
    ASSERT_EQ(delivered.size(), 2 * spans_.size());
    for (size_t i = 0; i < spans_.size(); ++i)
      convtrace::testing::expect_span_eq(spans_[i], delivered[i]);
  }
  EXPECT_EQ(server.connections(), 1) << "the connection should be reused";
  auto s = stats(*exporter);
  EXPECT_EQ(s.exported_spans, 2 * spans_.size());
  EXPECT_EQ(s.http_requests, 2u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.failed_spans, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Protocols, OtlpHttpDelivery,
    ::testing::Values(ProtocolCase{OtlpHttpOptions::Protocol::http_protobuf, false},
                      ProtocolCase{OtlpHttpOptions::Protocol::http_protobuf, true},
                      ProtocolCase{OtlpHttpOptions::Protocol::http_json, false},
                      ProtocolCase{OtlpHttpOptions::Protocol::http_json, true}),
    [](const auto& info) {
      return std::string(info.param.protocol == OtlpHttpOptions::Protocol::http_json ? "json"
                                                                                     : "protobuf") +
             (info.param.gzip ? "_gzip" : "");
    });

TEST_F(OtlpHttpExporterTest, HonoursRetryAfterAndDeliversOnce) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const Request&) {
    if (calls++ == 0) return Response{503, {{"Retry-After", "1"}}, ""};
    return Response{200, {}, ""};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.retry_initial_backoff = milliseconds(10);  // Retry-After must win over this
  auto exporter = make(o);
  auto start = Clock::now();
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(950));
  EXPECT_LT(elapsed, milliseconds(5000));
  EXPECT_EQ(server.requests(), 2);
  auto s = stats(*exporter);
  EXPECT_EQ(s.exported_spans, spans_.size());
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.http_requests, 2u);
}

TEST_F(OtlpHttpExporterTest, RetryAfterAsHttpDate) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const Request&) {
    // A date in the past means "retry now".
    if (calls++ == 0) return Response{502, {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}, ""};
    return Response{200, {}, ""};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.retry_initial_backoff = milliseconds(5000);
  auto exporter = make(o);
  auto start = Clock::now();
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(OtlpHttpExporterTest, RetriesTooManyRequestsWithBackoff) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const Request&) {
    if (calls++ < 2) return Response{429, {}, ""};
    return Response{200, {}, ""};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.retry_initial_backoff = milliseconds(100);
  auto exporter = make(o);
  auto start = Clock::now();
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  // 100 ms then 200 ms, each with at most 20% jitter.
  EXPECT_GE(Clock::now() - start, milliseconds(240));
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(stats(*exporter).retries, 2u);
}

TEST_F(OtlpHttpExporterTest, RetriesAreBoundedByTimeoutAndAttempts) {
  TestHttpServer server([&](const Request&) { return Response{504, {}, ""}; });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.retry_initial_backoff = milliseconds(10);
  o.max_attempts = 3;
  auto exporter = make(o);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_EQ(server.requests(), 3);

  TestHttpServer slow([&](const Request&) { return Response{503, {{"Retry-After", "30"}}, ""}; });
  o.endpoint = slow.url();
  o.timeout = milliseconds(500);
  o.max_attempts = 10;
  exporter = make(o);
  auto start = Clock::now();
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, milliseconds(1000))
      << "a Retry-After beyond the timeout ends the export";
  EXPECT_EQ(slow.requests(), 1);
}

TEST_F(OtlpHttpExporterTest, DoesNotRetryClientErrors) {
  LogCapture logs;
  // google.rpc.Status{code: 3, message: "span name too long"}
  const std::string status = std::string("\x08\x03\x12\x12", 4) + "span name too long";
  TestHttpServer server([&](const Request&) { return Response{400, {}, status}; });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  auto exporter = make(o);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  // Not an outage: the next export goes out at once.
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_EQ(server.requests(), 2);
  auto s = stats(*exporter);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.failed_spans, 2 * spans_.size());
  EXPECT_EQ(s.skipped_exports, 0u);
  auto lines = logs.lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("HTTP 400: span name too long"), std::string::npos) << lines[0];
}

TEST_F(OtlpHttpExporterTest, EndpointDownFailsFastAndBacksOff) {
  LogCapture logs;
  OtlpHttpOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(TestHttpServer::closed_port()) + "/v1/traces";
  o.timeout = milliseconds(1000);
  o.retry_initial_backoff = milliseconds(100);
  o.retry_max_backoff = milliseconds(60000);
  auto exporter = make(o);
  auto start = Clock::now();
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
  auto after_first = stats(*exporter).http_requests;
  EXPECT_GE(after_first, 2u) << "connection errors are retried within the timeout";

  start = Clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_LT(Clock::now() - start, milliseconds(100)) << "exports in the backoff window fail fast";
  auto s = stats(*exporter);
  EXPECT_EQ(s.http_requests, after_first) << "no connection attempts inside the backoff window";
  EXPECT_EQ(s.skipped_exports, 100u);
  EXPECT_EQ(s.failed_spans, 101 * spans_.size());
  EXPECT_EQ(warning_count("otlp_export_skipped"), 100u);
  EXPECT_EQ(warning_count("otlp_export_failed"), 1u);
}

TEST_F(OtlpHttpExporterTest, OutageWarningsAreSummarizedNotRepeated) {
  set_warning_interval(milliseconds(60000));
  LogCapture logs;
  OtlpHttpOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(TestHttpServer::closed_port()) + "/v1/traces";
  o.timeout = milliseconds(300);
  o.retry_initial_backoff = milliseconds(100);
  auto exporter = make(o);
  for (int i = 0; i < 200; ++i) exporter->export_batch(batch());
  // One line per category for the whole outage, however many batches failed.
  EXPECT_LE(logs.lines().size(), 2u);
  EXPECT_EQ(warning_count("otlp_export_skipped") + warning_count("otlp_export_failed"), 200u);
}

TEST_F(OtlpHttpExporterTest, BrokenEndpointIsNotContactedDuringBackoff) {
  TestHttpServer server([](const Request&) { return Response{}; }, /*close_on_accept=*/true);
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.timeout = milliseconds(2000);
  o.retry_initial_backoff = milliseconds(50);
  o.retry_max_backoff = milliseconds(300);
  o.max_attempts = 2;
  auto exporter = make(o);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  int first = server.connections();
  EXPECT_EQ(first, 2);
  for (int i = 0; i < 50; ++i) exporter->export_batch(batch());
  EXPECT_EQ(server.connections(), first);
  // The window ends after retry_initial_backoff (50 ms); then the exporter tries again.
  std::this_thread::sleep_for(milliseconds(120));
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_EQ(server.connections(), first + 2);
  // The second failure doubled the window: 100 ms, still blocked after 60 ms.
  std::this_thread::sleep_for(milliseconds(60));
  exporter->export_batch(batch());
  EXPECT_EQ(server.connections(), first + 2);
}

TEST_F(OtlpHttpExporterTest, RecoversAfterOutage) {
  std::atomic<bool> up{false};
  TestHttpServer server([&](const Request&) {
    return up ? Response{200, {}, ""} : Response{503, {}, ""};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.retry_initial_backoff = milliseconds(30);
  o.max_attempts = 1;
  auto exporter = make(o);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  up = true;
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  EXPECT_EQ(stats(*exporter).exported_spans, 2 * spans_.size());
}

TEST_F(OtlpHttpExporterTest, SendsHeadersAndNeverLogsTheirValues) {
  const std::string secret = "sk-live-9f8e7d6c5b4a";
  const std::string bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.secret";
  LogCapture logs;
  std::mutex mu;
  std::vector<Request> seen;
  TestHttpServer server([&](const Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(r);
    // A misbehaving endpoint that echoes the credentials back in its error.
    return Response{401, {}, "invalid key " + secret + " / " + bearer};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.headers = {{"x-api-key", secret}, {"Authorization", bearer}};
  auto exporter = make(o);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].header("x-api-key"), secret);
    EXPECT_EQ(seen[0].header("authorization"), bearer);
  }
  // Also a connection failure and a partial-success path through the logs.
  o.endpoint = "http://user:" + secret +
               "@127.0.0.1:" + std::to_string(TestHttpServer::closed_port()) +
               "/v1/traces?key=" + secret;
  o.timeout = milliseconds(200);
  auto down = make(o);
  EXPECT_EQ(down->export_batch(batch()), ExportResult::failure);

  auto lines = logs.lines();
  ASSERT_GE(lines.size(), 2u);
  for (const auto& line : lines) {
    EXPECT_EQ(line.find(secret), std::string::npos) << line;
    EXPECT_EQ(line.find("eyJhbGciOiJIUzI1NiJ9"), std::string::npos) << line;
  }
  EXPECT_NE(lines[0].find("HTTP 401"), std::string::npos) << lines[0];

  // Invalid settings do not echo header values either.
  o.headers = {{"x-api-key", secret + "\r\nInjected: 1"}};
  auto bad = make_otlp_http_exporter(o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find(secret), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("x-api-key"), std::string::npos);
}

TEST_F(OtlpHttpExporterTest, CountsPartialSuccess) {
  for (auto protocol :
       {OtlpHttpOptions::Protocol::http_protobuf, OtlpHttpOptions::Protocol::http_json}) {
    const bool json = protocol == OtlpHttpOptions::Protocol::http_json;
    TestHttpServer server([&](const Request&) {
      otlp::PartialSuccess p{2, "2 spans had empty names"};
      return Response{
          200, {}, json ? otlp::encode_trace_response_json(p) : otlp::encode_trace_response(p)};
    });
    OtlpHttpOptions o;
    o.endpoint = server.url();
    o.protocol = protocol;
    auto exporter = make(o);
    EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
    auto s = stats(*exporter);
    EXPECT_EQ(s.partial_success_rejected, 2u);
    EXPECT_EQ(s.exported_spans, spans_.size() - 2);
  }
  EXPECT_EQ(warning_count("otlp_partial_success"), 2u);
}

TEST_F(OtlpHttpExporterTest, ShutdownInterruptsRetryWait) {
  TestHttpServer server([&](const Request&) { return Response{503, {{"Retry-After", "20"}}, ""}; });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.timeout = milliseconds(60000);
  auto exporter = make(o);
  auto start = Clock::now();
  std::thread t([&] { EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure); });
  while (server.requests() == 0 && Clock::now() - start < milliseconds(5000)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  exporter->shutdown(milliseconds(2000));
  t.join();
  EXPECT_LT(Clock::now() - start, milliseconds(5000));
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);  // after shutdown
}

// --- Background delivery (the default) ---------------------------------

// Requests held back by a slow or failing endpoint leave together: one
// request whose body is their protobuf bodies in order (a valid request,
// since ExportTraceServiceRequest has only a repeated field). OTLP/JSON
// bodies cannot be joined, so each leaves alone.
struct HeldEndpoint {
  std::atomic<bool> release{false};
  std::mutex mu;
  std::vector<std::string> bodies;
  std::string problem;
  size_t spans = 0;
  bool json = false;
  TestHttpServer server{[this](const Request& r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      bodies.push_back(r.body);
      auto decoded =
          json ? otlp::decode_trace_request_json(r.body) : otlp::decode_trace_request(r.body);
      if (decoded) {
        spans += decoded->size();
      } else {
        problem += decoded.error().message + "; ";
      }
    }
    auto limit = Clock::now() + std::chrono::seconds(20);
    while (!release && Clock::now() < limit) std::this_thread::sleep_for(milliseconds(2));
    return Response{200, {}, json ? "{}" : ""};
  }};
};

TEST_F(OtlpHttpExporterTest, BackgroundDeliveryNeverWaitsForTheEndpoint) {
  HeldEndpoint endpoint;
  OtlpHttpOptions o;
  o.endpoint = endpoint.server.url();
  auto exporter = make(o, /*background=*/true);
  // The endpoint holds every request until released: these return anyway.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  EXPECT_FALSE(exporter->force_flush(milliseconds(50))) << "nothing delivered yet";
  EXPECT_EQ(stats(*exporter).pending_spans, 5 * spans_.size());
  endpoint.release = true;
  ASSERT_TRUE(exporter->force_flush(milliseconds(20000)));
  auto s = stats(*exporter);
  EXPECT_EQ(s.exported_spans, 5 * spans_.size());
  EXPECT_EQ(s.pending_spans, 0u);
  std::lock_guard<std::mutex> lock(endpoint.mu);
  EXPECT_EQ(endpoint.problem, "");
  EXPECT_EQ(endpoint.spans, 5 * spans_.size()) << "every span once";
  // The first request was sent at once; the four that waited behind it left
  // as one (or all five as one, had the sender started after them).
  EXPECT_LE(endpoint.bodies.size(), 2u);
}

TEST_F(OtlpHttpExporterTest, OtlpJsonRequestsThatWaitedLeaveOneByOne) {
  HeldEndpoint endpoint;
  endpoint.json = true;
  OtlpHttpOptions o;
  o.endpoint = endpoint.server.url();
  o.protocol = OtlpHttpOptions::Protocol::http_json;
  auto exporter = make(o, /*background=*/true);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  endpoint.release = true;
  ASSERT_TRUE(exporter->force_flush(milliseconds(20000)));
  std::lock_guard<std::mutex> lock(endpoint.mu);
  EXPECT_EQ(endpoint.problem, "");
  EXPECT_EQ(endpoint.bodies.size(), 4u);
  EXPECT_EQ(endpoint.spans, 4 * spans_.size());
}

TEST_F(OtlpHttpExporterTest, BackgroundDeliveryKeepsRequestsAcrossAShortOutage) {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> bodies;
  TestHttpServer server([&](const Request& r) {
    if (calls++ < 3) return Response{503, {}, ""};
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(r.body);
    return Response{200, {}, ""};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.retry_initial_backoff = milliseconds(10);
  o.retry_max_backoff = milliseconds(40);
  o.max_attempts = 2;
  auto exporter = make(o, /*background=*/true);
  std::string sent;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
    sent += otlp::encode_trace_request(batch());
  }
  ASSERT_TRUE(exporter->force_flush(milliseconds(20000)));
  auto s = stats(*exporter);
  EXPECT_EQ(s.exported_spans, 3 * spans_.size());
  EXPECT_EQ(s.failed_spans, 0u) << "a retryable failure is retried, not dropped";
  std::lock_guard<std::mutex> lock(mu);
  std::string received;
  for (const std::string& b : bodies) received += b;
  // Requests that waited out the outage may leave together; their bytes are
  // the requests', each once, in order.
  EXPECT_EQ(received, sent) << "each request once, in order";
}

TEST_F(OtlpHttpExporterTest, AFullBacklogFailsTheExportAndCountsIt) {
  LogCapture logs;
  OtlpHttpOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(TestHttpServer::closed_port()) + "/v1/traces";
  o.retry_initial_backoff = milliseconds(1000);
  o.max_pending_bytes = 1;  // room for one request (the first always fits)
  auto exporter = make(o, /*background=*/true);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  EXPECT_EQ(exporter->export_batch(batch()), ExportResult::failure);
  auto s = stats(*exporter);
  EXPECT_EQ(s.failed_spans, 2 * spans_.size());
  EXPECT_EQ(s.pending_spans, spans_.size());
  EXPECT_EQ(warning_count("otlp_backlog_full"), 2u);
  exporter->shutdown(milliseconds(200));
  EXPECT_EQ(stats(*exporter).failed_spans, 3 * spans_.size()) << "shutdown counts what was left";
}

// A shutdown that cuts short a request read back from the spool leaves the
// request there, for the next exporter: an aborted attempt is not a refusal.
TEST_F(OtlpHttpExporterTest, AShutdownDuringASpooledRequestKeepsItInTheSpool) {
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  TestHttpServer server([&](const Request&) {
    // The first attempt fails, which moves the request to the spool; the
    // sender reads it back and sends it again, and that attempt is held.
    if (calls++ == 0) return Response{503, {}, ""};
    auto limit = Clock::now() + std::chrono::seconds(20);
    while (!release && Clock::now() < limit) std::this_thread::sleep_for(milliseconds(2));
    return Response{200, {}, ""};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.timeout = milliseconds(30000);
  o.max_attempts = 1;
  o.retry_initial_backoff = milliseconds(5);
  o.spool.directory = ::testing::TempDir() + "/convtrace-spool-cut-" + std::to_string(getpid());
  std::filesystem::remove_all(o.spool.directory);
  {
    auto exporter = make(o, /*background=*/true);
    EXPECT_EQ(exporter->export_batch(batch()), ExportResult::success);
    auto start = Clock::now();
    while (calls < 2 && Clock::now() - start < std::chrono::seconds(10)) {
      std::this_thread::sleep_for(milliseconds(2));
    }
    ASSERT_EQ(calls, 2) << "the spooled request was sent again";
    exporter->shutdown(milliseconds(100));
    auto s = stats(*exporter);
    EXPECT_EQ(s.failed_spans, 0u) << "cut short by the shutdown, not refused";
    EXPECT_EQ(s.pending_spans, spans_.size()) << "still in the spool";
  }
  release = true;
  auto next = make(o, /*background=*/true);
  EXPECT_EQ(stats(*next).recovered_spans, spans_.size());
  auto start = Clock::now();
  while (stats(*next).pending_spans > 0 && Clock::now() - start < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(stats(*next).exported_spans, spans_.size());
  next->shutdown(milliseconds(200));
  std::filesystem::remove_all(o.spool.directory);
}

TEST_F(OtlpHttpExporterTest, ASpoolNeedsBackgroundDelivery) {
  OtlpHttpOptions o;
  o.spool.directory = ::testing::TempDir() + "/convtrace-spool-" + std::to_string(getpid());
  o.background_delivery = false;
  auto e = make_otlp_http_exporter(o);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Error::invalid_argument);
  o.background_delivery = true;
  o.spool.max_bytes = 0;
  EXPECT_FALSE(make_otlp_http_exporter(o));
}

// The batch processor lets an application thread export when the queue is
// full only for an exporter that says it never waits.
TEST_F(OtlpHttpExporterTest, OnlyBackgroundDeliveryWithoutASpoolNeverBlocks) {
  OtlpHttpOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(TestHttpServer::closed_port()) + "/v1/traces";
  EXPECT_TRUE(make(o, /*background=*/true)->never_blocks());
  EXPECT_FALSE(make(o, /*background=*/false)->never_blocks()) << "sends on the calling thread";
  o.spool.directory = ::testing::TempDir() + "/convtrace-spool-nb-" + std::to_string(getpid());
  auto spooled = make(o, /*background=*/true);
  EXPECT_FALSE(spooled->never_blocks()) << "spool appends are file writes";
  spooled->shutdown(milliseconds(200));
  std::filesystem::remove_all(o.spool.directory);
}

TEST_F(OtlpHttpExporterTest, ValidatesOptions) {
  struct Case {
    const char* what;
    std::function<void(OtlpHttpOptions&)> change;
  };
  std::vector<Case> cases = {
      {"empty endpoint", [](auto& o) { o.endpoint = ""; }},
      {"grpc scheme", [](auto& o) { o.endpoint = "grpc://localhost:4317"; }},
      {"no scheme", [](auto& o) { o.endpoint = "localhost:4318/v1/traces"; }},
      {"no host", [](auto& o) { o.endpoint = "http:///v1/traces"; }},
      {"zero timeout", [](auto& o) { o.timeout = milliseconds(0); }},
      {"backoff order", [](auto& o) { o.retry_max_backoff = milliseconds(1); }},
      {"no attempts", [](auto& o) { o.max_attempts = 0; }},
      {"bad header name",
       [](auto& o) {
         o.headers = {{"bad name", "v"}};
       }},
      {"cert without key", [](auto& o) { o.client_certificate_file = "/tmp/cert.pem"; }},
  };
  for (const auto& c : cases) {
    OtlpHttpOptions o;
    c.change(o);
    auto e = make_otlp_http_exporter(o);
    ASSERT_FALSE(e) << c.what;
    EXPECT_EQ(e.error().code, Error::invalid_argument) << c.what;
  }
  OtlpHttpOptions ok;
  ok.endpoint = "HTTPS://collector.example:4318/v1/traces";
  EXPECT_TRUE(make_otlp_http_exporter(ok));
  struct OtherExporter : SpanExporter {
    ExportResult export_batch(const SpanBatch&) noexcept override { return ExportResult::success; }
  } other;
  EXPECT_FALSE(otlp_exporter_stats(other).has_value());
}

}  // namespace
}  // namespace convtrace

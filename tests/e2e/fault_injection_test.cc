// The SDK exporting over OTLP/HTTP to a controllable local receiver that is
// down, slow, failing or resetting connections. The application's calls must
// never wait for the exporter; drops and failures are counted; memory stays
// bounded by the queue; delivery resumes when the receiver recovers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "convtrace/convtrace.h"
#include "convtrace/otlp.h"
#include "otlp/otlp_proto.h"
#include "otlp/test_http_server.h"

namespace convtrace {
namespace {

using std::chrono::milliseconds;
using testing::TestHttpServer;

struct Harness {
  std::shared_ptr<Sdk> sdk;
  const SpanExporter* exporter = nullptr;

  // `background` false: the exporter sends on the processor's worker, as
  // these tests of the queue's behaviour under a failing endpoint need.
  Harness(const std::string& endpoint, BatchOptions batch,
          milliseconds timeout = milliseconds(2000), bool background = false) {
    OtlpHttpOptions o;
    o.endpoint = endpoint;
    o.background_delivery = background;
    o.timeout = timeout;
    o.retry_initial_backoff = milliseconds(50);
    o.retry_max_backoff = milliseconds(200);
    auto made = make_otlp_http_exporter(o);
    EXPECT_TRUE(made) << (made ? "" : made.error().message);
    exporter = made->get();
    Config c;
    c.read_environment = false;
    c.custom_exporter = std::move(*made);
    c.batch = batch;
    auto created = Sdk::create(std::move(c));
    EXPECT_TRUE(created);
    sdk = *created;
  }
  ~Harness() { sdk->shutdown(milliseconds(3000)); }

  void emit(int n, const std::string& name = "call") {
    Tracer tracer = sdk->tracer();
    for (int i = 0; i < n; ++i) {
      Span s = tracer.start_span(name);
      s.set_attribute("i", i);
    }
  }
};

size_t spans_in(const std::vector<TestHttpServer::Request>& requests) {
  size_t n = 0;
  for (const auto& r : requests) {
    auto spans = otlp::decode_trace_request(r.body);
    if (spans) n += spans->size();
  }
  return n;
}

TEST(FaultInjection, CollectorDownDropsAndCountsButNeverBlocks) {
  int port = TestHttpServer::closed_port();
  Harness h("http://127.0.0.1:" + std::to_string(port) + "/v1/traces",
            BatchOptions{256, 64, milliseconds(10), milliseconds(2000)});
  h.emit(20000);  // would take minutes if span end waited for the exporter
  EXPECT_GT(h.sdk->stats().processor.dropped, 0u) << "a full queue must drop";
  // Then a steady trickle: every flush hands the exporter at least one batch.
  for (int i = 0; i < 100; ++i) {
    h.emit(64);
    h.sdk->force_flush(milliseconds(2000));
  }
  SdkStats s = h.sdk->stats();
  EXPECT_EQ(s.processor.ended, 26400u);
  EXPECT_EQ(s.processor.exported, 0u);
  EXPECT_EQ(s.processor.dropped + s.processor.failed_spans, 26400u) << "every span accounted for";
  EXPECT_GE(s.processor.export_failures, 100u);
  auto stats = otlp_exporter_stats(*h.exporter);
  ASSERT_TRUE(stats);
  // Backoff: far fewer connection attempts than batches handed to the exporter.
  EXPECT_LT(stats->http_requests * 4, s.processor.export_failures);
}

TEST(FaultInjection, RecoveryDeliversNewSpans) {
  std::atomic<bool> healthy{false};
  TestHttpServer server([&](const TestHttpServer::Request&) {
    TestHttpServer::Response r;
    r.status = healthy ? 200 : 500;
    return r;
  });
  ASSERT_TRUE(server.ok());
  Harness h(server.url(), BatchOptions{2048, 128, milliseconds(10), milliseconds(2000)});
  h.emit(50, "while-down");
  h.sdk->force_flush(milliseconds(3000));
  EXPECT_GT(h.sdk->stats().processor.export_failures, 0u);
  healthy = true;
  // The exporter may still be inside its backoff window: keep offering spans
  // until one batch lands (bounded).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.sdk->stats().processor.exported == 0 && std::chrono::steady_clock::now() < deadline) {
    h.emit(10, "after-recovery");
    h.sdk->force_flush(milliseconds(2000));
  }
  EXPECT_GT(h.sdk->stats().processor.exported, 0u);
}

TEST(FaultInjection, SlowCollectorDoesNotSlowTheApplication) {
  std::atomic<bool> release{false};
  TestHttpServer server([&](const TestHttpServer::Request&) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!release && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return TestHttpServer::Response{};
  });
  ASSERT_TRUE(server.ok());
  Harness h(server.url(), BatchOptions{512, 64, milliseconds(5), milliseconds(500)},
            milliseconds(500));
  h.emit(5000);  // the export thread is stuck in the slow request meanwhile
  SdkStats s = h.sdk->stats();
  EXPECT_EQ(s.processor.ended, 5000u);
  EXPECT_GT(s.processor.dropped, 0u);
  release = true;
}

TEST(FaultInjection, RetryAfterThenSuccessDeliversExactlyOnce) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestHttpServer::Request&) {
    TestHttpServer::Response r;
    if (calls.fetch_add(1) == 0) {
      r.status = 503;
      r.headers = {{"Retry-After", "1"}};
    }
    return r;
  });
  ASSERT_TRUE(server.ok());
  Harness h(server.url(), BatchOptions{2048, 512, milliseconds(5000), milliseconds(5000)},
            milliseconds(5000));
  h.emit(7);
  ASSERT_TRUE(h.sdk->force_flush(milliseconds(8000)));
  auto received = server.received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(spans_in({received[1]}), 7u);
  EXPECT_EQ(h.sdk->stats().processor.exported, 7u);
}

TEST(FaultInjection, ConnectionResetIsAFailureNotACrash) {
  TestHttpServer server([](const TestHttpServer::Request&) { return TestHttpServer::Response{}; },
                        /*close_on_accept=*/true);
  ASSERT_TRUE(server.ok());
  Harness h(server.url(), BatchOptions{2048, 64, milliseconds(5), milliseconds(1000)},
            milliseconds(1000));
  h.emit(100);
  h.sdk->force_flush(milliseconds(3000));
  SdkStats s = h.sdk->stats();
  EXPECT_EQ(s.processor.exported, 0u);
  EXPECT_GT(s.processor.export_failures, 0u);
}

TEST(FaultInjection, ShutdownWithCollectorUpDeliversEverythingQueued) {
  TestHttpServer server([](const TestHttpServer::Request&) { return TestHttpServer::Response{}; });
  ASSERT_TRUE(server.ok());
  {
    Harness h(server.url(), BatchOptions{4096, 512, std::chrono::hours(1), milliseconds(5000)});
    h.emit(1500);
    EXPECT_TRUE(h.sdk->shutdown(milliseconds(5000)));
  }
  EXPECT_EQ(spans_in(server.received()), 1500u);
}

}  // namespace
}  // namespace convtrace

// `convtrace collect` as real processes writing one store: two collectors into
// one PostgreSQL database, a PostgreSQL restart during ingest, and kill -9 of
// a collector (on both backends) — nothing acknowledged is ever lost, nothing
// sent twice is counted twice.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "receiver/collect_client.h"
#include "receiver/collect_process.h"
#include "store/backends.h"

namespace convtrace {
namespace {

using testing::CollectProcess;
using testing::make_spans;
using testing::PgServer;
using testing::protobuf_body;
using testing::TempDir;

constexpr int kSpansPerRequest = 3;
// make_spans: costs 1000, 2000 and 3000 pico-USD.
constexpr int64_t kCostPerRequest = 6000;

struct Reply {
  int status = -1;
  std::string retry_after;
};

Reply post(int port, uint32_t seed) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20, 0);
  auto res = client.Post("/v1/traces", protobuf_body(make_spans(seed)), "application/x-protobuf");
  Reply r;
  if (!res) return r;
  r.status = res->status;
  r.retry_after = res->get_header_value("Retry-After");
  return r;
}

// Posts until acknowledged, as an OTLP exporter retries; false after `tries`.
bool post_until_ok(int port, uint32_t seed, int tries = 400) {
  for (int i = 0; i < tries; ++i) {
    if (post(port, seed).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

void expect_exactly(const std::string& where, const std::set<uint32_t>& seeds) {
  auto store = Store::open(where);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(*(*store)->span_count(), static_cast<int64_t>(seeds.size()) * kSpansPerRequest);
  auto total = (*store)->report_total({});
  ASSERT_TRUE(total);
  EXPECT_EQ(total->cost_pico_usd, static_cast<int64_t>(seeds.size()) * kCostPerRequest);
  for (uint32_t seed : seeds) {
    auto trace = (*store)->load_trace(make_spans(seed)[0].trace_id.hex());
    ASSERT_TRUE(trace);
    EXPECT_EQ(trace->size(), static_cast<size_t>(kSpansPerRequest)) << "request " << seed;
  }
}

TEST(CollectPostgres, TwoCollectorsWriteOneDatabase) {
  std::string db = PgServer::shared().new_database();
  // Started together: the schema is created once, by whichever comes first.
  CollectProcess a(db), b(db);
  ASSERT_GT(a.port(), 0);
  ASSERT_GT(b.port(), 0);
  // Requests 30..59 go to both (a client retrying through a load balancer).
  std::atomic<int> failed{0};
  std::thread ta([&] {
    for (uint32_t s = 0; s < 60; ++s) failed += !post_until_ok(a.port(), s);
  });
  std::thread tb([&] {
    for (uint32_t s = 30; s < 90; ++s) failed += !post_until_ok(b.port(), s);
  });
  ta.join();
  tb.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
  std::set<uint32_t> all;
  for (uint32_t s = 0; s < 90; ++s) all.insert(s);
  expect_exactly(db, all);
}

TEST(CollectPostgres, ARestartDuringIngestIsAnsweredWith503AndNothingAcknowledgedIsLost) {
  PgServer& pg = PgServer::shared();
  std::string db = pg.new_database();
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  std::atomic<uint32_t> acknowledged{0};
  std::atomic<bool> saw_503{false}, gave_up{false};
  std::thread client([&] {
    for (uint32_t s = 0; s < 60; ++s) {
      bool ok = false;
      for (int i = 0; i < 800 && !ok; ++i) {
        Reply r = post(collect.port(), s);
        ok = r.status == 200;
        if (r.status == 503 && !r.retry_after.empty()) saw_503 = true;
        if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
      if (!ok) {
        gave_up = true;
        return;
      }
      ++acknowledged;
    }
  });
  auto wait_for = [](auto done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  };
  EXPECT_TRUE(wait_for([&] { return acknowledged >= 15 || gave_up; }));
  pg.stop();
  EXPECT_TRUE(wait_for([&] { return saw_503.load() || gave_up; }));
  pg.start();
  client.join();
  EXPECT_FALSE(gave_up);
  EXPECT_TRUE(saw_503);
  EXPECT_EQ(acknowledged.load(), 60u);
  EXPECT_EQ(collect.stop(), 0);
  std::set<uint32_t> all;
  for (uint32_t s = 0; s < 60; ++s) all.insert(s);
  expect_exactly(db, all);
}

class CollectKilled : public ::testing::TestWithParam<std::string> {};

TEST_P(CollectKilled, Kill9LosesNothingAcknowledged) {
  TempDir dir;
  std::string where = testing::fresh_location(GetParam(), dir);
  CollectProcess collect(where);
  ASSERT_GT(collect.port(), 0);
  std::set<uint32_t> acked;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::thread client([&] {
    for (uint32_t s = 0; s < 100000 && !stop; ++s) {
      Reply r = post(collect.port(), s);
      if (r.status < 0) return;  // the collector is gone
      if (r.status == 200) {
        std::lock_guard<std::mutex> lock(mu);
        acked.insert(s);
      }
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acked.size() >= 25 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  collect.stop(SIGKILL);  // while requests are in flight
  stop = true;
  client.join();
  ASSERT_GE(acked.size(), 25u);
  auto store = Store::open(where);
  ASSERT_TRUE(store) << store.error().message;
  for (uint32_t seed : acked) {
    auto trace = (*store)->load_trace(make_spans(seed)[0].trace_id.hex());
    ASSERT_TRUE(trace);
    EXPECT_EQ(trace->size(), static_cast<size_t>(kSpansPerRequest)) << "acknowledged " << seed;
  }
  // Whatever was committed besides (a request killed before its answer) is
  // whole, and counted once.
  int64_t spans = *(*store)->span_count();
  EXPECT_EQ(spans % kSpansPerRequest, 0);
  EXPECT_EQ((*store)->report_total({})->cost_pico_usd, spans / kSpansPerRequest * kCostPerRequest);
}

INSTANTIATE_TEST_SUITE_P(, CollectKilled, ::testing::Values("sqlite", "postgresql"),
                         testing::backend_name);

}  // namespace
}  // namespace convtrace

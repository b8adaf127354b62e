// The metrics recorder on its own: every value lands in the bucket its bounds
// say, and the per-thread shortcuts (the previous call's attribute set, the
// previous recorder) never send a measurement to the wrong data point.
#include "metrics/recorder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "convtrace/attributes.h"

namespace convtrace {
namespace {

// Recorders live as long as the process, as the SDK's do: a thread keeps a
// pointer to each recorder it recorded into.
MetricsRecorder& new_recorder(MetricsSettings settings = {}) {
  static auto* kept = new std::vector<std::unique_ptr<MetricsRecorder>>();
  kept->push_back(std::make_unique<MetricsRecorder>(settings, std::make_shared<Resource>(), 1));
  return *kept->back();
}

CallMeasurement call(std::string_view model) {
  CallMeasurement m;
  m.operation = "chat";
  m.provider = "openai";
  m.request_model = model;
  m.response_model = model;
  m.duration_ns = 1000000;
  return m;
}

const MetricData* find_metric(const MetricsBatch& batch, std::string_view name) {
  for (const MetricData& m : batch.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}
// A batch must outlive the metric found in it.
const MetricData* find_metric(MetricsBatch&&, std::string_view) = delete;

std::string string_attribute(const std::vector<Attribute>& attrs, std::string_view key) {
  for (const Attribute& a : attrs) {
    if (a.key == key && std::holds_alternative<std::string>(a.value)) {
      return std::get<std::string>(a.value);
    }
  }
  return "";
}

bool overflowed(const HistogramPoint& p) {
  for (const Attribute& a : p.attributes) {
    if (a.key == attr::kMetricOverflow) return true;
  }
  return false;
}

// Count of operation-duration measurements per request model ("overflow" for the overflow set).
std::map<std::string, uint64_t> counts_by_model(MetricsRecorder& r) {
  std::map<std::string, uint64_t> out;
  const MetricsBatch batch = r.collect(2);
  const MetricData* d = find_metric(batch, metric::kOperationDuration);
  if (!d) return out;
  for (const HistogramPoint& p : d->histogram_points) {
    out[overflowed(p) ? "overflow" : string_attribute(p.attributes, attr::kRequestModel)] +=
        p.count;
  }
  return out;
}

// The bucket a value belongs in, by the definition: bucket i holds
// (bounds[i-1], bounds[i]], so it is the number of bounds below the value.
size_t expected_bucket(const std::vector<int64_t>& bounds, int64_t v) {
  size_t below = 0;
  for (int64_t b : bounds) below += b < v ? 1 : 0;
  return below;
}

// Values at, just below and just above every bound, and the extremes.
std::vector<int64_t> values_around(const std::vector<int64_t>& bounds) {
  std::vector<int64_t> v = {std::numeric_limits<int64_t>::min(), -1, 0, 1, 2, 3,
                            std::numeric_limits<int64_t>::max()};
  for (int64_t b : bounds) {
    for (int64_t d : {-1, 0, 1}) v.push_back(b + d);
  }
  return v;
}

// Where each value landed in the histogram `name`, one delta collection per value.
void expect_each_value_in_its_bucket(MetricsRecorder& r, std::string_view name,
                                     double unit_per_bound,
                                     const std::function<void(int64_t)>& record) {
  record(1);
  MetricsBatch batch = r.collect(2);
  r.commit();
  const MetricData* first = find_metric(batch, name);
  ASSERT_NE(first, nullptr);
  std::vector<int64_t> bounds;
  for (double b : first->explicit_bounds) bounds.push_back(std::llround(b * unit_per_bound));
  ASSERT_FALSE(bounds.empty());
  for (int64_t v : values_around(bounds)) {
    record(v);
    MetricsBatch b = r.collect(3);
    r.commit();
    const MetricData* m = find_metric(b, name);
    ASSERT_NE(m, nullptr) << v;
    ASSERT_EQ(m->histogram_points.size(), 1u) << v;
    const std::vector<uint64_t>& counts = m->histogram_points[0].bucket_counts;
    ASSERT_EQ(counts.size(), bounds.size() + 1);
    for (size_t i = 0; i < counts.size(); ++i) {
      EXPECT_EQ(counts[i], i == expected_bucket(bounds, v) ? 1u : 0u)
          << name << ": value " << v << ", bucket " << i;
    }
  }
}

MetricsSettings delta() {
  MetricsSettings s;
  s.temporality = Temporality::delta;
  return s;
}

TEST(MetricsRecorder, EveryValueLandsInTheBucketOfItsBounds) {
  MetricsRecorder& r = new_recorder(delta());
  expect_each_value_in_its_bucket(r, metric::kTokenUsage, 1, [&](int64_t v) {
    CallMeasurement m = call("gpt-4o");
    m.has_input = true;
    m.input_tokens = v;
    r.record_call(m);
  });
  expect_each_value_in_its_bucket(r, metric::kTimeToFirstChunk, 1e9, [&](int64_t v) {
    CallMeasurement m = call("gpt-4o");
    m.first_chunk_ns = v < 0 ? 0 : v;  // negative: not streamed
    r.record_call(m);
  });
  expect_each_value_in_its_bucket(r, metric::kWorkflowCost, 1e12, [&](int64_t v) {
    WorkflowMeasurement m;
    m.workflow_type = "rag";
    m.cost_pico = v;
    r.record_workflow(m);
  });
}

TEST(MetricsRecorder, TheSameBufferWithOtherTextIsAnotherAttributeSet) {
  MetricsRecorder& r = new_recorder();
  std::string model = "gpt-4o";  // one buffer, rewritten in place as a recycled record's is
  r.record_call(call(model));
  model[5] = '1';
  r.record_call(call(model));
  r.record_call(call(model));
  model[5] = 'o';
  r.record_call(call(model));
  auto counts = counts_by_model(r);
  EXPECT_EQ(counts["gpt-4o"], 2u);
  EXPECT_EQ(counts["gpt-41"], 2u);
  EXPECT_EQ(counts.size(), 2u);
}

// The previous call's set is recognised by comparing text in words of
// several sizes, by length; a difference in any one byte of a field of any
// length must still make another set.
TEST(MetricsRecorder, ADifferenceInAnyByteOfAFieldIsAnotherAttributeSet) {
  for (size_t length : {1, 2, 3, 5, 8, 11, 16, 17, 24, 40}) {
    for (size_t at = 0; at < length; ++at) {
      SCOPED_TRACE("length " + std::to_string(length) + ", byte " + std::to_string(at));
      MetricsRecorder& r = new_recorder();
      const std::string model(length, 'm');
      std::string other = model;
      other[at] = 'x';
      r.record_call(call(model));
      r.record_call(call(other));
      r.record_call(call(other));
      r.record_call(call(model));
      auto counts = counts_by_model(r);
      EXPECT_EQ(counts[model], 2u);
      EXPECT_EQ(counts[other], 2u);
    }
  }
}

TEST(MetricsRecorder, AlternatingAttributeSetsCountExactly) {
  MetricsRecorder& r = new_recorder();
  const std::vector<std::string> models = {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", ""};
  for (int i = 0; i < 1000; ++i) {
    CallMeasurement m = call(models[i % models.size()]);
    m.server_port = i % 8 == 0 ? 443 : 0;  // the port is part of the set too
    r.record_call(m);
  }
  const MetricsBatch batch = r.collect(2);
  const MetricData* d = find_metric(batch, metric::kOperationDuration);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->histogram_points.size(), 5u);  // gpt-4o with and without a port
  uint64_t total = 0;
  for (const HistogramPoint& p : d->histogram_points) total += p.count;
  EXPECT_EQ(total, 1000u);
  auto counts = counts_by_model(r);
  EXPECT_EQ(counts["gpt-4o"], 250u);
  EXPECT_EQ(counts["claude-sonnet-4-5"], 250u);
}

TEST(MetricsRecorder, OptInAttributesAreComparedOnlyWhenOn) {
  MetricsRecorder& off = new_recorder();
  MetricsSettings with_users;
  with_users.user_id_attribute = true;
  MetricsRecorder& on = new_recorder(with_users);
  for (const char* user : {"u1", "u2", "u1"}) {
    CallMeasurement m = call("gpt-4o");
    m.user_id = user;
    off.record_call(m);  // two recorders in turn on one thread: each keeps its own
    on.record_call(m);
  }
  const MetricsBatch off_batch = off.collect(2);
  const MetricData* d = find_metric(off_batch, metric::kOperationDuration);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->histogram_points.size(), 1u);
  EXPECT_EQ(d->histogram_points[0].count, 3u);
  const MetricsBatch on_batch = on.collect(2);
  d = find_metric(on_batch, metric::kOperationDuration);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->histogram_points.size(), 2u);
  for (const HistogramPoint& p : d->histogram_points) {
    EXPECT_EQ(p.count, string_attribute(p.attributes, attr::kUserId) == "u1" ? 2u : 1u);
  }
}

TEST(MetricsRecorder, AKnownSetAfterAnOverflowedOneIsNotOverflow) {
  MetricsSettings limited;
  limited.cardinality_limit = 2;
  MetricsRecorder& r = new_recorder(limited);
  CallMeasurement empty;  // no attribute at all, as the overflow set's key
  empty.duration_ns = 5;
  r.record_call(empty);
  r.record_call(call("a"));
  r.record_call(call("b"));  // beyond the limit
  r.record_call(empty);
  r.record_call(call("b"));
  r.record_call(call("a"));
  auto counts = counts_by_model(r);
  EXPECT_EQ(counts[""], 2u);
  EXPECT_EQ(counts["a"], 2u);
  EXPECT_EQ(counts["overflow"], 2u);
}

SpanContext span_numbered(uint8_t n) {
  SpanContext c;
  c.trace_id.bytes.fill(n);
  c.span_id.bytes.fill(n);
  return c;
}

// The span ids of the operation-duration exemplars in one collection.
std::vector<uint8_t> exemplar_spans(MetricsRecorder& r, uint64_t now) {
  std::vector<uint8_t> out;
  const MetricsBatch batch = r.collect(now);
  const MetricData* d = find_metric(batch, metric::kOperationDuration);
  if (!d) return out;
  for (const HistogramPoint& p : d->histogram_points) {
    for (const Exemplar& e : p.exemplars) out.push_back(e.span_id.bytes[0]);
  }
  return out;
}

// A thread remembers which exemplar slots it found taken, but only for the
// collection interval it found them in: each interval gets its own first
// measurement per bucket, from whichever thread records it.
TEST(MetricsRecorder, EachIntervalTakesItsOwnFirstExemplarPerBucket) {
  MetricsRecorder& r = new_recorder();
  auto record = [&](uint8_t n, int64_t duration) {
    const SpanContext span = span_numbered(n);
    CallMeasurement m = call("gpt-4o");
    m.duration_ns = duration;
    m.end_unix_nano = 100 + n;
    m.sampled = &span;
    r.record_call(m);
  };
  record(1, 1000);
  record(2, 1000);  // same bucket: the first one keeps it
  EXPECT_EQ(exemplar_spans(r, 2), std::vector<uint8_t>{1});
  record(3, 1000);  // a new interval: the same bucket takes it again
  record(4, 1000);
  EXPECT_EQ(exemplar_spans(r, 3), std::vector<uint8_t>{3});
  std::thread other([&] { record(5, 1000); });  // the first of this interval, on another thread
  other.join();
  record(6, 1000);         // taken by the other thread: this one must not overwrite it
  record(7, 30000000000);  // another bucket: its own exemplar
  std::vector<uint8_t> spans = exemplar_spans(r, 4);
  std::sort(spans.begin(), spans.end());
  EXPECT_EQ(spans, (std::vector<uint8_t>{5, 7}));
  record(8, 30000000000);  // this thread found that bucket taken last interval, not this one
  EXPECT_EQ(exemplar_spans(r, 5), std::vector<uint8_t>{8});
}

// One sampled call offers an exemplar to every instrument it measures at
// once; each must carry that instrument's own value, with the call's time and span.
TEST(MetricsRecorder, EachInstrumentsExemplarCarriesItsOwnMeasurement) {
  MetricsRecorder& r = new_recorder();
  const SpanContext call_span = span_numbered(9);
  CallMeasurement m = call("gpt-4o");
  m.duration_ns = 2000000000;
  m.first_chunk_ns = 500000000;
  m.has_input = true;
  m.input_tokens = 1000;
  m.has_output = true;
  m.output_tokens = 30;
  m.priced = true;
  m.cost_pico = 1234567;
  m.end_unix_nano = 777;
  m.sampled = &call_span;
  r.record_call(m);
  const SpanContext run_span = span_numbered(10);
  WorkflowMeasurement w;
  w.workflow_type = "rag";
  w.duration_ns = 3000000000;
  w.cost_pico = 5000000;
  w.end_unix_nano = 888;
  w.sampled = &run_span;
  r.record_workflow(w);

  const MetricsBatch batch = r.collect(2);
  // The exemplars of metric `name` (of the point with token type `token_type`, if given).
  auto exemplars = [&](std::string_view name, std::string_view token_type = {}) {
    std::vector<Exemplar> out;
    const MetricData* d = find_metric(batch, name);
    if (!d) return out;
    for (const HistogramPoint& p : d->histogram_points) {
      if (string_attribute(p.attributes, attr::kTokenType) != token_type) continue;
      out.insert(out.end(), p.exemplars.begin(), p.exemplars.end());
    }
    for (const SumPoint& p : d->sum_points) {
      out.insert(out.end(), p.exemplars.begin(), p.exemplars.end());
    }
    return out;
  };
  struct Expected {
    std::string_view name, token_type;
    double value;
    uint64_t time;
    uint8_t span;
  };
  const Expected expected[] = {
      {metric::kOperationDuration, {}, 2.0, 777, 9},
      {metric::kTimeToFirstChunk, {}, 0.5, 777, 9},
      {metric::kTokenUsage, "input", 1000, 777, 9},
      {metric::kTokenUsage, "output", 30, 777, 9},
      {metric::kCost, {}, 1234567e-12, 777, 9},
      {metric::kWorkflowDuration, {}, 3.0, 888, 10},
      {metric::kWorkflowCost, {}, 5000000e-12, 888, 10},
  };
  for (const Expected& e : expected) {
    SCOPED_TRACE(std::string(e.name) + " " + std::string(e.token_type));
    const std::vector<Exemplar> got = exemplars(e.name, e.token_type);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_DOUBLE_EQ(got[0].value, e.value);
    EXPECT_EQ(got[0].time_unix_nano, e.time);
    EXPECT_EQ(got[0].span_id.bytes[0], e.span);
  }
}

// Count, sum, min and max of a histogram point agree with what was recorded
// (the count is the buckets' total; recording keeps none of its own).
TEST(MetricsRecorder, HistogramCountSumMinAndMaxAreExact) {
  MetricsRecorder& r = new_recorder();
  const std::vector<int64_t> durations = {5000000, 70000000, 20000000000, 1};
  for (int64_t d : durations) {
    CallMeasurement m = call("gpt-4o");
    m.duration_ns = d;
    r.record_call(m);
  }
  const MetricsBatch batch = r.collect(2);
  const MetricData* d = find_metric(batch, metric::kOperationDuration);
  ASSERT_TRUE(d && d->histogram_points.size() == 1);
  const HistogramPoint& p = d->histogram_points[0];
  EXPECT_EQ(p.count, 4u);
  EXPECT_DOUBLE_EQ(p.sum, (5000000 + 70000000 + 20000000000.0 + 1) / 1e9);
  ASSERT_TRUE(p.min && p.max);
  EXPECT_DOUBLE_EQ(*p.min, 1e-9);
  EXPECT_DOUBLE_EQ(*p.max, 20.0);
}

// Threads keep making new attribute sets while collections run: a cell whose
// set is newer than a collection's list of sets waits for the next one, and
// nothing is lost or counted twice, also from threads that exit meanwhile.
TEST(MetricsRecorder, SetsMadeDuringACollectionCountExactly) {
  MetricsRecorder& r = new_recorder();
  constexpr int kThreads = 4, kModels = 200;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, &running, t] {
      for (int i = 0; i < kModels; ++i) r.record_call(call("m" + std::to_string(t * kModels + i)));
      running.fetch_sub(1);
    });
  }
  uint64_t now = 2;
  while (running.load() > 0) r.collect(now++);
  for (std::thread& t : threads) t.join();
  r.collect(now++);  // the exited threads' cells join the kept totals here
  auto counts = counts_by_model(r);
  EXPECT_EQ(counts.size(), static_cast<size_t>(kThreads * kModels));
  for (const auto& [model, count] : counts) EXPECT_EQ(count, 1u) << model;
}

}  // namespace
}  // namespace convtrace

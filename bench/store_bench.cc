// B7: inserting finished GenAI spans into the SQLite store.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "convtrace/store.h"
#include "genai_spans.h"

namespace convtrace::bench {
namespace {

// A store in a fresh file under a temporary directory, removed afterwards.
class TempStore {
 public:
  TempStore() {
    char pattern[] = "/tmp/convtrace-bench-XXXXXX";
    if (char* d = mkdtemp(pattern)) dir_ = d;
    path_ = dir_ + "/store.db";
    auto store = Store::open(path_);
    if (!store) {
      std::fprintf(stderr, "bench: %s\n", store.error().message.c_str());
      std::exit(2);
    }
    store_ = std::move(*store);
  }
  ~TempStore() {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
    rmdir(dir_.c_str());
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;
  Store& store() { return *store_; }

 private:
  std::string dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

// 512-span batches of GenAI spans (21 attributes each), each batch one
// transaction, into a file-backed store, roll-ups included. Every batch carries
// new trace ids, so every span is written (none is skipped as already stored),
// and later start times, as an application's spans do.
void BM_B7_StoreInsert(benchmark::State& state) {
  TempStore temp;
  Batch batch = make_batch(true);
  uint64_t generation = 0;
  for (auto _ : state) {
    ++generation;
    for (size_t i = 0; i < batch.spans.size(); ++i) {
      SpanData& s = batch.spans[i];
      uint8_t* id = s.trace_id.bytes.data();
      for (size_t b = 0; b < 8; ++b) id[b] = static_cast<uint8_t>(generation >> (8 * b));
      id[8] = static_cast<uint8_t>(i);
      id[9] = static_cast<uint8_t>(i >> 8);
      // Time moves on from batch to batch, as it does for an application.
      s.start_unix_nano = 1741569952000000000ULL + (generation * kBatch + i) * 1000;
      s.end_unix_nano = s.start_unix_nano + 850000000ULL;
    }
    if (Error e = temp.store().insert(batch.view())) {
      state.SkipWithError(e.message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  auto count = temp.store().span_count();
  state.counters["stored"] = count ? static_cast<double>(*count) : -1.0;
}
BENCHMARK(BM_B7_StoreInsert)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace convtrace::bench

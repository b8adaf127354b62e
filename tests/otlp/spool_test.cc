// The OTLP disk spool on real files: order, recovery by a later opener,
// lanes, bounds, and damaged or truncated segments.
#include "otlp/spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "convtrace/diagnostics.h"
#include "store/temp_dir.h"

namespace convtrace::otlp {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::unique_ptr<Spool> open_spool(const std::string& dir, uint64_t max_bytes = 1ull << 30,
                                  SpoolEncoding encoding = SpoolEncoding::protobuf) {
  auto spool = Spool::open(dir, max_bytes, encoding);
  EXPECT_TRUE(spool) << (spool ? "" : spool.error().message);
  return spool ? std::move(*spool) : nullptr;
}

std::string payload(int i, size_t size = 100) {
  std::string p = "request-" + std::to_string(i) + "-";
  p.resize(size, static_cast<char>('a' + i % 26));
  return p;
}

// Reads every pending record, marking each delivered; returns the payloads.
std::vector<std::string> drain(Spool& spool) {
  std::vector<std::string> out;
  SpoolRecord r;
  while (spool.next(&r)) {
    out.push_back(r.payload);
    spool.mark_delivered(r.where);
  }
  return out;
}

std::vector<fs::path> segments(const std::string& lane) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(lane)) {
    if (e.path().extension() == ".seg") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void overwrite(const fs::path& file, uint64_t offset, const std::string& bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TEST_reset_warnings();
    set_log_handler([](std::string_view) {});
  }
  void TearDown() override { set_log_handler(nullptr); }

  // Writes records payload(0) … payload(n - 1) of `spans` spans each through
  // a spool that is then closed; returns its one segment file (empty when
  // there is not exactly one).
  fs::path one_segment(int n, uint32_t spans = 1) {
    std::string lane;
    {
      auto spool = open_spool(dir_.path());
      if (!spool) return {};
      lane = spool->lane_directory();
      for (int i = 0; i < n; ++i) EXPECT_TRUE(spool->append(payload(i), spans));
    }
    auto files = segments(lane);
    EXPECT_EQ(files.size(), 1u);
    return files.size() == 1 ? files[0] : fs::path();
  }

  TempDir dir_;
};

TEST_F(SpoolTest, ReadsBackInOrderAndForgetsWhatWasDelivered) {
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  EXPECT_TRUE(spool->empty());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->append(payload(i), 10 + i));
  EXPECT_EQ(spool->pending_records(), 5u);
  EXPECT_EQ(spool->pending_spans(), 60u);
  SpoolRecord r;
  ASSERT_TRUE(spool->next(&r));
  EXPECT_EQ(r.payload, payload(0));
  EXPECT_EQ(r.spans, 10u);
  // Not yet marked: the same record again.
  SpoolRecord again;
  ASSERT_TRUE(spool->next(&again));
  EXPECT_EQ(again.payload, payload(0));
  spool->mark_delivered(r.where);
  std::vector<std::string> rest = drain(*spool);
  ASSERT_EQ(rest.size(), 4u);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(rest[static_cast<size_t>(i - 1)], payload(i));
  EXPECT_TRUE(spool->empty());
  EXPECT_EQ(spool->stats().delivered_records, 5u);
}

TEST_F(SpoolTest, ANewOpenerSendsWhatTheLastOneLeftAndSkipsWhatItDelivered) {
  std::string lane;
  {
    auto spool = open_spool(dir_.path());
    ASSERT_TRUE(spool);
    lane = spool->lane_directory();
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(spool->append(payload(i), 1));
    SpoolRecord r;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(spool->next(&r));
      spool->mark_delivered(r.where);
    }
  }  // as a process exit (or kill) leaves it
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->lane_directory(), lane) << "the freed lane is claimed again";
  EXPECT_EQ(spool->stats().recovered_records, 4u);
  EXPECT_EQ(spool->pending_spans(), 4u);
  // New records go behind the old ones, in a segment of their own.
  ASSERT_TRUE(spool->append(payload(6), 1));
  std::vector<std::string> got = drain(*spool);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 2; i <= 6; ++i) EXPECT_EQ(got[static_cast<size_t>(i - 2)], payload(i));
  // Every segment, all delivered, is gone.
  EXPECT_EQ(segments(lane).size(), 0u);
}

TEST_F(SpoolTest, ProcessesSharingADirectoryGetLanesOfTheirOwn) {
  auto a = open_spool(dir_.path());
  auto b = open_spool(dir_.path());
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->lane_directory(), b->lane_directory());
  ASSERT_TRUE(a->append(payload(1), 1));
  ASSERT_TRUE(b->append(payload(2), 1));
  EXPECT_EQ(drain(*a), std::vector<std::string>{payload(1)});
  EXPECT_EQ(drain(*b), std::vector<std::string>{payload(2)});
}

TEST_F(SpoolTest, AFullSpoolRefusesAndStaysBounded) {
  const uint64_t record = Spool::kHeaderBytes + 1000;
  auto spool = open_spool(dir_.path(), 10 * record);
  ASSERT_TRUE(spool);
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += spool->append(payload(i, 1000), 1) ? 1 : 0;
  EXPECT_EQ(accepted, 10);
  EXPECT_LE(spool->bytes(), 10 * record);
  // Delivering frees room once the segment is done with.
  drain(*spool);
  EXPECT_TRUE(spool->append(payload(99, 1000), 1));
}

TEST_F(SpoolTest, SegmentsRollAndAreDeletedWhenDelivered) {
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  const size_t size = 1 << 20;
  const int n = static_cast<int>(2 * Spool::kSegmentBytes / size) + 2;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(spool->append(payload(i, size), 1));
  EXPECT_GE(segments(spool->lane_directory()).size(), 3u);
  std::vector<std::string> got = drain(*spool);
  ASSERT_EQ(got.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], payload(i, size));
  EXPECT_EQ(segments(spool->lane_directory()).size(), 0u);
  EXPECT_EQ(spool->bytes(), 0u);
}

TEST_F(SpoolTest, ADamagedRecordIsSkippedWithAWarningAndTheRestDelivered) {
  const fs::path file = one_segment(5);
  ASSERT_FALSE(file.empty());
  const uint64_t record = Spool::kHeaderBytes + 100;
  overwrite(file, 1 * record + Spool::kHeaderBytes + 30, "XXXX");  // payload of record 1
  overwrite(file, 3 * record, "JUNK");                             // header of record 3
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  std::vector<std::string> got = drain(*spool);
  EXPECT_EQ(got, (std::vector<std::string>{payload(0), payload(2), payload(4)}));
  EXPECT_EQ(warning_count("otlp_spool_corrupt"), 2u);
  EXPECT_EQ(spool->stats().corrupt_records, 2u);
}

// Records carry the version of their checksum: 2 for CRC-32C (written where
// the processor computes it), 1 for CRC-32 (written elsewhere, and by earlier
// releases). Both are read, each record by its own version.
TEST_F(SpoolTest, EachRecordIsCheckedByItsOwnFormatVersion) {
  const fs::path file = one_segment(3, 2);
  ASSERT_FALSE(file.empty());
  const uint64_t record = Spool::kHeaderBytes + 100;
  char written = 0;
  {
    std::ifstream f(file, std::ios::binary);
    f.seekg(4);
    f.read(&written, 1);
  }
  ASSERT_TRUE(written == 1 || written == 2) << int(written);
  const char other = written == 1 ? 2 : 1;
  auto le32 = [](uint32_t v) {
    std::string b(4, '\0');
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
    return b;
  };
  const uint8_t protobuf = 1;
  // Record 0 rewritten as the other version writes it: version and checksum.
  overwrite(file, 4, std::string(1, other));
  overwrite(file, 16, le32(spool_checksum(other, protobuf, 2, 100, payload(0))));
  // Record 2 given the other version but not its checksum: it fails.
  overwrite(file, 2 * record + 4, std::string(1, other));
  EXPECT_NE(spool_checksum(1, protobuf, 2, 100, payload(2)),
            spool_checksum(2, protobuf, 2, 100, payload(2)));
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  EXPECT_EQ(drain(*spool), (std::vector<std::string>{payload(0), payload(1)}));
  EXPECT_EQ(spool->stats().corrupt_records, 1u);
}

TEST_F(SpoolTest, ATruncatedSegmentIsReadUpToTheTornRecord) {
  const fs::path file = one_segment(3);
  ASSERT_FALSE(file.empty());
  // A kill in the middle of writing the last record.
  fs::resize_file(file, fs::file_size(file) - 40);
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  EXPECT_EQ(spool->stats().recovered_records, 2u);
  ASSERT_TRUE(spool->append(payload(3), 1));
  std::vector<std::string> got = drain(*spool);
  EXPECT_EQ(got, (std::vector<std::string>{payload(0), payload(1), payload(3)}));
  EXPECT_EQ(warning_count("otlp_spool_truncated"), 1u);
}

TEST_F(SpoolTest, RecordsOfAnotherEncodingAreSkipped) {
  {
    auto json = open_spool(dir_.path(), 1ull << 30, SpoolEncoding::json);
    ASSERT_TRUE(json);
    ASSERT_TRUE(json->append("{}", 3));
  }
  auto spool = open_spool(dir_.path());
  ASSERT_TRUE(spool);
  EXPECT_TRUE(drain(*spool).empty());
  EXPECT_EQ(spool->stats().foreign_records, 1u);
  EXPECT_EQ(warning_count("otlp_spool_encoding"), 1u);
}

TEST_F(SpoolTest, AnUnusableDirectoryIsAnError) {
  std::string file = dir_.file("not-a-directory");
  std::ofstream(file) << "x";
  auto spool = Spool::open(file + "/spool", 1 << 20, SpoolEncoding::protobuf);
  ASSERT_FALSE(spool);
  EXPECT_EQ(spool.error().code, Error::io_error);
  EXPECT_FALSE(Spool::open("", 1 << 20, SpoolEncoding::protobuf));
}

}  // namespace
}  // namespace convtrace::otlp

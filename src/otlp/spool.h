// The OTLP exporter's disk spool: export requests that could not be
// delivered, kept in append-only segment files until the endpoint is back.
//
// Layout. The spool directory holds lanes, `lane-0`, `lane-1`, …; a process
// claims the lowest lane nobody holds (an exclusive flock on `lane-N/lock`,
// released by the kernel when the process dies, however it dies), so
// processes that share a directory never send each other's records, and a
// lane left by a process that crashed or was killed is sent by the next
// process that claims it. A lane holds segments `<16-digit number>.seg`,
// each a sequence of records:
//
//   offset  size  field
//   0       4     magic "CTSR"
//   4       1     format version: 2, or 1 where the processor lacks CRC-32C
//   5       1     state: 0xFF pending, 0x00 delivered
//   6       1     encoding: 1 protobuf, 2 OTLP/JSON
//   7       1     reserved (0)
//   8       4     span count
//   12      4     payload length
//   16      4     CRC-32C of bytes 6..15 and the payload (version 1: CRC-32)
//   20      …     payload: one ExportTraceServiceRequest body, uncompressed
//
// Integers are little-endian. A record is marked delivered by rewriting its
// state byte (outside the checksum), so the next process skips what was
// acknowledged; a segment whose records are all delivered is deleted.
// Records are read back oldest first: segments in number order, records in
// file order. A record whose header or checksum does not hold (a torn write
// at a kill, a disk error, an edit) is skipped with a counted warning
// (`otlp_spool_corrupt`, `otlp_spool_truncated`), and reading resumes at the
// next valid record, so the rest of the spool is still delivered.
//
// Durability: records are written with write(2) and never fsync'd, so they
// survive the process being killed (the kernel holds the pages) but the last
// seconds before a machine crash or power loss may be lost.
//
// Not thread-safe: the OTLP exporter's delivery (delivery.h) serializes calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"

namespace convtrace::otlp {

enum class SpoolEncoding : uint8_t { protobuf = 1, json = 2 };

// Where a record is: its segment's number and its offset in that segment.
struct SpoolLocation {
  uint64_t segment = 0;
  uint64_t offset = 0;
};

struct SpoolRecord {
  SpoolLocation where;
  uint32_t spans = 0;
  std::string payload;
};

// Counters of one spool since it was opened.
struct SpoolStats {
  uint64_t appended_records = 0;
  uint64_t appended_spans = 0;
  uint64_t delivered_records = 0;
  uint64_t corrupt_records = 0;     // skipped: bad header or checksum
  uint64_t truncated_segments = 0;  // skipped: a record ran past the end of its segment
  uint64_t foreign_records = 0;     // skipped: written with another encoding
  uint64_t recovered_records = 0;   // pending records found when the lane was opened
  uint64_t recovered_spans = 0;
};

class Spool {
 public:
  // Segment files are rolled at this size (a record larger than it gets a
  // segment of its own).
  static constexpr uint64_t kSegmentBytes = 8ull << 20;
  static constexpr size_t kHeaderBytes = 20;

  // Opens (creating as needed) `directory` and claims a lane in it. The
  // spool holds at most `max_bytes` of segment files. Records it reads back
  // must have `encoding`. Errors: io_error when the directory cannot be
  // created or read, or every lane is held.
  static Expected<std::unique_ptr<Spool>> open(const std::string& directory, uint64_t max_bytes,
                                               SpoolEncoding encoding);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends one request. False (nothing written) when it would take the
  // spool past max_bytes, or on a write error (counted as a warning).
  bool append(std::string_view payload, uint32_t spans, SpoolLocation* where = nullptr);

  // Reads the oldest pending record into `out`; false when there is none.
  // Calling it again without mark_delivered returns the same record.
  bool next(SpoolRecord* out);

  // Marks the record at `where` delivered (or given up). Segments whose
  // records are all delivered are deleted once reading has moved past them.
  void mark_delivered(const SpoolLocation& where);

  bool empty() const { return pending_records_ == 0; }
  uint64_t pending_records() const { return pending_records_; }
  uint64_t pending_spans() const { return pending_spans_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& lane_directory() const { return lane_dir_; }
  const SpoolStats& stats() const { return stats_; }

  // fork(): the child must not write into the parent's lane. Closes this
  // spool's files without releasing the parent's lock and claims a lane of
  // the child's own; false when none could be claimed.
  bool reopen_after_fork() noexcept;

 private:
  struct Segment {
    uint64_t number = 0;
    uint64_t size = 0;  // bytes in the file (what this process wrote, for the tail)
    int fd = -1;
  };

  Spool(std::string directory, uint64_t max_bytes, SpoolEncoding encoding);
  Error claim_lane();
  Error load_segments();
  void close_all() noexcept;
  // Counts the pending records of a segment left by an earlier process.
  void count_pending(const Segment& segment);
  // A record header's fields (see the layout above).
  struct Header {
    uint8_t version = 0;
    uint8_t encoding = 0;
    uint32_t spans = 0;
    uint32_t length = 0;
    uint32_t crc = 0;
  };
  // Reads the header at `offset` of `segment`; see next() for the outcomes.
  enum class Scan { record, delivered, corrupt, truncated, end };
  Scan read_header(const Segment& segment, uint64_t offset, Header* header) const;
  // The offset of the next magic at or after `from` in `segment`, or its size.
  uint64_t resync(const Segment& segment, uint64_t from) const;
  Error start_segment();
  void drop_finished_head();

  const std::string directory_;
  const uint64_t max_bytes_;
  const SpoolEncoding encoding_;
  std::string lane_dir_;
  int lock_fd_ = -1;
  std::vector<Segment> segments_;  // number order; the last is the one appended to
  bool tail_is_ours_ = false;      // the last segment was started by this process
  uint64_t cursor_offset_ = 0;     // reading position in segments_.front()
  uint64_t next_number_ = 1;       // of the next segment this process starts
  uint64_t bytes_ = 0;
  uint64_t pending_records_ = 0;
  uint64_t pending_spans_ = 0;
  SpoolStats stats_;
};

// The checksum of a record's checked bytes for its format version: CRC-32C
// for version 2, CRC-32 (the zlib / gzip polynomial) for version 1.
uint32_t spool_checksum(uint8_t version, uint8_t encoding, uint32_t spans, uint32_t length,
                        std::string_view payload);

}  // namespace convtrace::otlp

#include "otlp/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/crc32c.h"
#include "common/diagnostics.h"

namespace convtrace::otlp {
namespace {

constexpr uint8_t kMagic[4] = {'C', 'T', 'S', 'R'};
// Version 2 checks records with CRC-32C, version 1 with zlib's CRC-32. Both
// are read; a process writes version 2 where the processor computes CRC-32C
// (SSE 4.2: 2.4 times zlib's speed), else version 1 (zlib is faster than a
// CRC-32C table).
constexpr uint8_t kVersionCrc32c = 2;
constexpr uint8_t kVersionCrc32 = 1;
uint8_t write_version() { return crc32c_hardware() ? kVersionCrc32c : kVersionCrc32; }
constexpr uint8_t kPending = 0xFF;
constexpr uint8_t kDelivered = 0x00;
constexpr size_t kStateOffset = 5;
// Lanes tried before the directory counts as full of live processes.
constexpr int kMaxLanes = 64;
// A payload longer than this is not a record this code wrote.
constexpr uint32_t kMaxPayload = 256u << 20;

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

std::string errno_text() { return std::strerror(errno); }

bool make_directory(const std::string& path) {
  return ::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST;
}

std::string segment_name(uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llu.seg", static_cast<unsigned long long>(number));
  return name;
}

// The number of a segment file name, or false for any other file.
bool parse_segment_name(const char* name, uint64_t* number) {
  size_t n = std::strlen(name);
  if (n != 20 || std::strcmp(name + 16, ".seg") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *number = v;
  return true;
}

bool pread_all(int fd, void* buf, size_t n, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool pwrite_all(int fd, const void* buf, size_t n, uint64_t offset) {
  auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t put = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    p += put;
    n -= static_cast<size_t>(put);
    offset += static_cast<uint64_t>(put);
  }
  return true;
}

}  // namespace

uint32_t spool_checksum(uint8_t version, uint8_t encoding, uint32_t spans, uint32_t length,
                        std::string_view payload) {
  uint8_t fields[10] = {encoding, 0};
  put_u32(fields + 2, spans);
  put_u32(fields + 6, length);
  if (version != kVersionCrc32) {
    return crc32c(crc32c(0, fields, sizeof fields), payload.data(), payload.size());
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, fields, sizeof fields);
  // zlib takes lengths as uInt: feed long payloads in pieces.
  const auto* p = reinterpret_cast<const Bytef*>(payload.data());
  size_t left = payload.size();
  while (left > 0) {
    uInt piece = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, p, piece);
    p += piece;
    left -= piece;
  }
  return static_cast<uint32_t>(crc);
}

Spool::Spool(std::string directory, uint64_t max_bytes, SpoolEncoding encoding)
    : directory_(std::move(directory)), max_bytes_(max_bytes), encoding_(encoding) {}

Spool::~Spool() {
  close_all();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lane
}

void Spool::close_all() noexcept {
  for (Segment& s : segments_) {
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
  }
  segments_.clear();
}

Expected<std::unique_ptr<Spool>> Spool::open(const std::string& directory, uint64_t max_bytes,
                                             SpoolEncoding encoding) {
  if (directory.empty()) return Error{Error::invalid_argument, "spool directory is empty"};
  std::unique_ptr<Spool> spool(new Spool(directory, max_bytes, encoding));
  if (Error e = spool->claim_lane()) return e;
  if (Error e = spool->load_segments()) return e;
  return spool;
}

Error Spool::claim_lane() {
  if (!make_directory(directory_)) {
    return Error{Error::io_error,
                 "cannot create spool directory " + directory_ + ": " + errno_text()};
  }
  for (int lane = 0; lane < kMaxLanes; ++lane) {
    std::string dir = directory_ + "/lane-" + std::to_string(lane);
    if (!make_directory(dir)) {
      return Error{Error::io_error, "cannot create spool lane " + dir + ": " + errno_text()};
    }
    int fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Error{Error::io_error, "cannot open " + dir + "/lock: " + errno_text()};
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      lock_fd_ = fd;
      lane_dir_ = dir;
      return {};
    }
    ::close(fd);  // held by a live process: try the next lane
  }
  return Error{Error::io_error,
               "every lane of spool directory " + directory_ + " is held by a running process"};
}

Error Spool::load_segments() {
  DIR* dir = ::opendir(lane_dir_.c_str());
  if (!dir) return Error{Error::io_error, "cannot read " + lane_dir_ + ": " + errno_text()};
  std::vector<uint64_t> numbers;
  while (dirent* e = ::readdir(dir)) {
    uint64_t number = 0;
    if (parse_segment_name(e->d_name, &number)) numbers.push_back(number);
  }
  ::closedir(dir);
  std::sort(numbers.begin(), numbers.end());
  if (!numbers.empty()) next_number_ = numbers.back() + 1;
  for (uint64_t number : numbers) {
    std::string path = lane_dir_ + "/" + segment_name(number);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      continue;
    }
    Segment s;
    s.number = number;
    s.size = static_cast<uint64_t>(st.st_size);
    s.fd = fd;
    bytes_ += s.size;
    segments_.push_back(s);
    count_pending(segments_.back());
  }
  stats_.recovered_records = pending_records_;
  stats_.recovered_spans = pending_spans_;
  tail_is_ours_ = false;  // never append after what an earlier process may have torn
  drop_finished_head();
  return {};
}

void Spool::count_pending(const Segment& segment) {
  uint64_t offset = 0;
  for (;;) {
    Header h;
    Scan scan = read_header(segment, offset, &h);
    if (scan == Scan::end || scan == Scan::truncated) return;
    if (scan == Scan::corrupt) {
      offset = resync(segment, offset + 1);
      continue;
    }
    if (scan == Scan::record) {
      ++pending_records_;
      pending_spans_ += h.spans;
    }
    offset += kHeaderBytes + h.length;
  }
}

Spool::Scan Spool::read_header(const Segment& segment, uint64_t offset, Header* header) const {
  if (offset >= segment.size) return Scan::end;
  if (segment.size - offset < kHeaderBytes) return Scan::truncated;
  uint8_t h[kHeaderBytes];
  if (!pread_all(segment.fd, h, sizeof h, offset)) return Scan::truncated;
  if (std::memcmp(h, kMagic, 4) != 0 || (h[4] != kVersionCrc32c && h[4] != kVersionCrc32) ||
      (h[kStateOffset] != kPending && h[kStateOffset] != kDelivered)) {
    return Scan::corrupt;
  }
  header->version = h[4];
  header->encoding = h[6];
  header->spans = get_u32(h + 8);
  header->length = get_u32(h + 12);
  header->crc = get_u32(h + 16);
  if (header->length > kMaxPayload) return Scan::corrupt;
  if (segment.size - offset - kHeaderBytes < header->length) return Scan::truncated;
  return h[kStateOffset] == kDelivered ? Scan::delivered : Scan::record;
}

uint64_t Spool::resync(const Segment& segment, uint64_t from) const {
  char buf[64 * 1024];
  while (from + 4 <= segment.size) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof buf, segment.size - from));
    if (!pread_all(segment.fd, buf, n, from)) return segment.size;
    for (size_t i = 0; i + 4 <= n; ++i) {
      if (std::memcmp(buf + i, kMagic, 4) == 0) return from + i;
    }
    if (n < 4) break;
    from += n - 3;  // a magic may straddle two reads
  }
  return segment.size;
}

Error Spool::start_segment() {
  uint64_t number = std::max(next_number_, segments_.empty() ? 1 : segments_.back().number + 1);
  next_number_ = number + 1;
  std::string path = lane_dir_ + "/" + segment_name(number);
  // Not O_APPEND: Linux would then append the state bytes pwrite() marks.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{Error::io_error, "cannot create " + path + ": " + errno_text()};
  Segment s;
  s.number = number;
  s.fd = fd;
  if (segments_.empty()) cursor_offset_ = 0;
  segments_.push_back(s);
  tail_is_ours_ = true;
  return {};
}

bool Spool::append(std::string_view payload, uint32_t spans, SpoolLocation* where) {
  const uint64_t record = kHeaderBytes + payload.size();
  if (payload.size() > kMaxPayload || bytes_ + record > max_bytes_) return false;
  if (!tail_is_ours_ || segments_.back().size + record > kSegmentBytes) {
    if (!tail_is_ours_ || segments_.back().size > 0) {
      if (Error e = start_segment()) {
        report_warning("otlp_spool_io", "OTLP spool: " + e.message);
        return false;
      }
    }
  }
  Segment& tail = segments_.back();
  uint8_t h[kHeaderBytes];
  std::memcpy(h, kMagic, 4);
  h[4] = write_version();
  h[kStateOffset] = kPending;
  h[6] = static_cast<uint8_t>(encoding_);
  h[7] = 0;
  const uint32_t length = static_cast<uint32_t>(payload.size());
  put_u32(h + 8, spans);
  put_u32(h + 12, length);
  put_u32(h + 16, spool_checksum(h[4], h[6], spans, length, payload));
  // One write per record where it fits: a record torn by a kill is then
  // rarer, and a torn one is skipped on reading anyway.
  bool ok;
  if (payload.size() <= 64 * 1024) {
    char buf[kHeaderBytes + 64 * 1024];
    std::memcpy(buf, h, kHeaderBytes);
    if (!payload.empty()) std::memcpy(buf + kHeaderBytes, payload.data(), payload.size());
    ok = pwrite_all(tail.fd, buf, kHeaderBytes + payload.size(), tail.size);
  } else {
    ok = pwrite_all(tail.fd, h, kHeaderBytes, tail.size) &&
         pwrite_all(tail.fd, payload.data(), payload.size(), tail.size + kHeaderBytes);
  }
  if (!ok) {
    report_warning("otlp_spool_io", "OTLP spool: cannot write to " + lane_dir_ + ": " +
                                        errno_text() + "; spans dropped");
    // What was written of the record is skipped on reading; start afresh.
    struct stat st {};
    if (::fstat(tail.fd, &st) == 0) {
      bytes_ += static_cast<uint64_t>(st.st_size) - tail.size;
      tail.size = static_cast<uint64_t>(st.st_size);
    }
    tail_is_ours_ = false;
    return false;
  }
  if (where) *where = SpoolLocation{tail.number, tail.size};
  tail.size += record;
  bytes_ += record;
  ++pending_records_;
  pending_spans_ += spans;
  ++stats_.appended_records;
  stats_.appended_spans += spans;
  return true;
}

bool Spool::next(SpoolRecord* out) {
  while (!segments_.empty()) {
    Segment& head = segments_.front();
    Header h;
    Scan scan = read_header(head, cursor_offset_, &h);
    const uint32_t spans = h.spans, length = h.length;
    switch (scan) {
      case Scan::end:
      case Scan::truncated:
        if (scan == Scan::truncated) {
          ++stats_.truncated_segments;
          report_warning("otlp_spool_truncated",
                         "OTLP spool: segment " + lane_dir_ + "/" + segment_name(head.number) +
                             " ends in a partly written record (the process that wrote it was "
                             "killed?); skipping the rest of it");
          cursor_offset_ = head.size;
        }
        // Read to its end: the segment being appended to waits for more,
        // any other is deleted and reading goes on in the next.
        if (segments_.size() == 1 && tail_is_ours_) {
          pending_records_ = pending_spans_ = 0;  // everything before the cursor is done
          return false;
        }
        drop_finished_head();
        continue;
      case Scan::corrupt:
        ++stats_.corrupt_records;
        report_warning("otlp_spool_corrupt", "OTLP spool: a damaged record in " + lane_dir_ + "/" +
                                                 segment_name(head.number) + " was skipped");
        cursor_offset_ = resync(head, cursor_offset_ + 1);
        continue;
      case Scan::delivered:
        cursor_offset_ += kHeaderBytes + length;
        continue;
      case Scan::record:
        break;
    }
    out->payload.resize(length);
    bool read = length == 0 ||
                pread_all(head.fd, out->payload.data(), length, cursor_offset_ + kHeaderBytes);
    if (!read || spool_checksum(h.version, h.encoding, spans, length, out->payload) != h.crc) {
      ++stats_.corrupt_records;
      report_warning("otlp_spool_corrupt", "OTLP spool: a record in " + lane_dir_ + "/" +
                                               segment_name(head.number) +
                                               " failed its checksum and was skipped");
      // The length may be what is damaged: look for the next record from here.
      pending_records_ -= pending_records_ > 0 ? 1 : 0;
      pending_spans_ -= std::min<uint64_t>(pending_spans_, spans);
      cursor_offset_ = resync(head, cursor_offset_ + 1);
      continue;
    }
    if (h.encoding != static_cast<uint8_t>(encoding_)) {
      ++stats_.foreign_records;
      report_warning("otlp_spool_encoding",
                     "OTLP spool: a record in " + lane_dir_ +
                         " was written for another OTLP encoding (protobuf vs JSON) and was "
                         "skipped; " +
                         std::to_string(spans) + " spans dropped");
      mark_delivered(SpoolLocation{head.number, cursor_offset_});
      continue;
    }
    out->where = SpoolLocation{head.number, cursor_offset_};
    out->spans = spans;
    return true;
  }
  pending_records_ = pending_spans_ = 0;
  return false;
}

void Spool::mark_delivered(const SpoolLocation& where) {
  for (Segment& s : segments_) {
    if (s.number != where.segment) continue;
    uint8_t h[kHeaderBytes];
    if (!pread_all(s.fd, h, sizeof h, where.offset) || h[kStateOffset] != kPending) return;
    const uint8_t delivered = kDelivered;
    // Only the state byte changes: the checksum does not cover it.
    if (::pwrite(s.fd, &delivered, 1, static_cast<off_t>(where.offset + kStateOffset)) != 1) {
      report_warning("otlp_spool_io", "OTLP spool: cannot mark a record delivered in " + lane_dir_ +
                                          ": " + errno_text() +
                                          " (it may be sent again after a restart)");
    }
    const uint32_t spans = get_u32(h + 8);
    pending_records_ -= pending_records_ > 0 ? 1 : 0;
    pending_spans_ -= std::min<uint64_t>(pending_spans_, spans);
    ++stats_.delivered_records;
    if (&s == &segments_.front() && where.offset == cursor_offset_) {
      cursor_offset_ += kHeaderBytes + get_u32(h + 12);
      drop_finished_head();
    }
    return;
  }
}

void Spool::drop_finished_head() {
  // A segment is finished when reading has passed its end. The one being
  // appended to goes too (once it holds anything): the next append starts
  // a new one, and an outage that is over leaves no files behind.
  while (!segments_.empty()) {
    Segment& head = segments_.front();
    const bool is_tail = segments_.size() == 1;
    if (cursor_offset_ < head.size || (is_tail && tail_is_ours_ && head.size == 0)) return;
    std::string path = lane_dir_ + "/" + segment_name(head.number);
    ::close(head.fd);
    ::unlink(path.c_str());
    bytes_ -= std::min(bytes_, head.size);
    segments_.erase(segments_.begin());
    cursor_offset_ = 0;
    if (segments_.empty()) tail_is_ours_ = false;
  }
}

bool Spool::reopen_after_fork() noexcept {
  try {
    close_all();
    // The parent's lock is on the open file description both processes
    // share: closing the child's descriptor leaves the parent's lane held.
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
    bytes_ = pending_records_ = pending_spans_ = 0;
    cursor_offset_ = 0;
    tail_is_ours_ = false;
    stats_ = SpoolStats{};
    return !claim_lane() && !load_segments();
  } catch (...) {
    return false;
  }
}

}  // namespace convtrace::otlp

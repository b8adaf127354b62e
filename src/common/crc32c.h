// CRC-32C (Castagnoli), the checksum of the disk spool's records: the SSE 4.2
// instruction where the processor has it, a table otherwise, with the same
// results. On 160 KiB records here: 7.6 GB/s with the instruction, 1.7 GB/s
// with the table, against 3.2 GB/s for zlib's CRC-32.
#pragma once

#include <cstddef>
#include <cstdint>

namespace convtrace {

// The CRC-32C of `n` bytes at `data`, continuing `crc` (0 to start): the
// CRC of a + b equals crc32c(crc32c(0, a), b).
uint32_t crc32c(uint32_t crc, const void* data, size_t n);

// The same, always from the table: for tests that compare the two paths.
uint32_t crc32c_portable(uint32_t crc, const void* data, size_t n);

// Whether crc32c() uses the processor's instruction.
bool crc32c_hardware();

}  // namespace convtrace

// CRC-32C: published check values, the table and the instruction agreeing on
// every length and alignment, and continuation.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace convtrace {
namespace {

TEST(Crc32c, PublishedCheckValues) {
  // The CRC catalogue's check value, and RFC 3720's (iSCSI) test vectors.
  const std::string digits = "123456789";
  std::vector<unsigned char> zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<unsigned char>(i);
    down[i] = static_cast<unsigned char>(31 - i);
  }
  for (auto f : {crc32c, crc32c_portable}) {
    EXPECT_EQ(f(0, digits.data(), digits.size()), 0xE3069283u);
    EXPECT_EQ(f(0, zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(f(0, ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(f(0, up.data(), up.size()), 0x46DD794Eu);
    EXPECT_EQ(f(0, down.data(), down.size()), 0x113FDB5Cu);
    EXPECT_EQ(f(0, nullptr, 0), 0u);
  }
}

TEST(Crc32c, TheInstructionAndTheTableAgreeAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::vector<unsigned char> buf(600);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n + offset <= buf.size(); n += (n < 40 ? 1 : 37)) {
      ASSERT_EQ(crc32c(0, buf.data() + offset, n), crc32c_portable(0, buf.data() + offset, n))
          << "offset " << offset << ", length " << n;
    }
  }
}

TEST(Crc32c, ContinuingGivesTheCrcOfTheWhole) {
  const std::string text = "a record header, then its payload of any length";
  const uint32_t whole = crc32c(0, text.data(), text.size());
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(crc32c(crc32c(0, text.data(), cut), text.data() + cut, text.size() - cut), whole);
    EXPECT_EQ(
        crc32c_portable(crc32c_portable(0, text.data(), cut), text.data() + cut, text.size() - cut),
        whole);
  }
}

}  // namespace
}  // namespace convtrace

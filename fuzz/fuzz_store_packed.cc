// The store's packed attributes, events and links (schema version 2): any
// bytes read back from a file either decode or give an error, never a crash,
// an out-of-bounds read or a huge allocation; and whatever decodes packs
// into a form that decodes to the same packed bytes again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/packed.h"

namespace {

template <typename T, typename Unpack, typename Pack>
void check(std::string_view data, Unpack unpack, Pack pack) {
  std::vector<T> decoded;
  if (unpack(data, &decoded)) return;  // an error: fine
  std::string packed;
  pack(decoded, packed);
  std::vector<T> again;
  if (unpack(packed, &again)) std::abort();  // our own output must decode
  std::string repacked;
  pack(again, repacked);
  if (repacked != packed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace convtrace;
  switch (data[0] % 3) {
    case 0:
      check<Attribute>(bytes, store::unpack_attributes, store::pack_attributes);
      break;
    case 1:
      check<SpanEvent>(bytes, store::unpack_events, store::pack_events);
      break;
    default:
      check<SpanLink>(bytes, store::unpack_links, store::pack_links);
      break;
  }
  return 0;
}

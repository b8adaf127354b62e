// The packed form of a span's attributes, events and links: one BLOB column
// each in the `spans` row (schema version 2), instead of a row per attribute.
// Private to the store.
//
// Binary rather than JSON because it must give back exactly what was stored:
// strings are arbitrary bytes (JSON would need valid UTF-8), doubles keep
// every bit (NaN, infinities, -0.0), and an empty array keeps its element
// type. It is also smaller than JSON (no quoting, escaping or number text),
// and writing it is a few copies.
//
// Layout (varint: unsigned LEB128; zigzag: a signed integer mapped to an
// unsigned one as in protobuf's sint64; str: varint byte length, then bytes):
//
//   attributes := 0x02 count:varint attribute*
//   attribute  := key type:u8 value                type: store::ValueType
//   key        := code:varint (1..: packed_key(code)) | 0x00 key:str
//     string 1: str            bool 2: u8 (0 or 1)
//     integer 3: zigzag        real 4: 8 bytes, IEEE 754 bits, little endian
//     arrays 5–8: count:varint, then each element as its scalar above
//   events     := 0x02 count:varint event*
//   event      := name:str time_unix_nano:varint dropped_attributes:varint
//                 count:varint attribute*
//   links      := 0x02 count:varint link*
//   link       := trace_id:16 bytes span_id:8 bytes trace_state:str flags:varint
//                 dropped_attributes:varint count:varint attribute*
//
// The leading byte is the format version. Format 1, written before the key
// dictionary, has `key:str` for every key; it is still read. Readers check
// every length and count against the bytes left, so a damaged value is an
// error, never an out-of-bounds read or a huge allocation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/span_data.h"
#include "store/sqlite.h"

namespace convtrace::store {

// The key dictionary of format 2: codes 1..packed_key_count(); empty for any
// other code. Append-only, since stored values refer to it.
size_t packed_key_count();
std::string_view packed_key(size_t code);

// Appends the packed form to `out` (which is cleared first).
void pack_attributes(const std::vector<Attribute>& attrs, std::string& out);
void pack_events(const std::vector<SpanEvent>& events, std::string& out);
void pack_links(const std::vector<SpanLink>& links, std::string& out);

// Read a packed value back; io_error naming what is wrong when it is damaged.
// An empty `data` (a NULL column) is an empty list.
Error unpack_attributes(std::string_view data, std::vector<Attribute>* out);
Error unpack_events(std::string_view data, std::vector<SpanEvent>* out);
Error unpack_links(std::string_view data, std::vector<SpanLink>* out);

// An attribute value as a `type` column and a `value` column (the
// resource_attributes table, and the per-attribute tables of version 1):
// scalars as SQLite values, arrays as JSON text.
//
// Binds the type code to `type_col` and the value to `value_col`. Array text
// is kept in `scratch`, which must live until the statement has run.
void bind_typed_value(Stmt& stmt, int type_col, int value_col, const AttributeValue& value,
                      std::string& scratch);
AttributeValue read_typed_value(const Stmt& stmt, int type_col, int value_col);
// What SQLite gives for the `value` column read as text.
std::string typed_value_text(const AttributeValue& value);

// JSON text of a double (null when not finite) and of an array value; the
// forms of the `value` column and of a resource's fingerprint.
void append_json_double(std::string& out, double v);
std::string array_json(const AttributeValue& value);

// The bytes of a BLOB column; empty for NULL. Valid until the next step/reset.
std::string_view blob_view(const Stmt& stmt, int col);

}  // namespace convtrace::store

/**
 * Wire format of the value codec. Internal to lib/codec: nothing here is re-exported.
 *
 * A value is one tag byte followed by a tag-specific body. Multi-byte numbers are
 * little-endian and unaligned. Lengths and counts are u32 unless the tag says u8.
 *
 *   UNDEFINED NULL FALSE TRUE      (no body)
 *   INT8      i8                   integers in [-128, 127] (never -0)
 *   INT32     i32                  other int32 values
 *   FLOAT64   f64                  every other number, bit-exact (-0, NaN, ±Infinity)
 *   ASCII8    u8 n, n bytes        string, all code units < 0x80
 *   UTF8_8    u8 n, n bytes        well-formed string, UTF-8
 *   ASCII32 / UTF8_32              same with a u32 byte count
 *   UTF16     u32 n, 2n bytes      string with lone surrogates (kept exactly, as structured clone does)
 *   BIGINT64  i64                  bigint in the int64 range
 *   BIGINT    u8 sign, string      other bigints: |v| as a lower-case hex string value
 *   ARRAY     u32 n, n values      dense array (arrays with holes take the FALLBACK path)
 *   OBJECT    u32 n, n × (string key, value)
 *   MAP       u32 n, n × (key value, value)
 *   SET       u32 n, n values
 *   DATE      f64 time value
 *   REGEXP    string source, string flags
 *   ARRAYBUF  u32 n, n bytes
 *   VIEW      u8 ViewKind, u32 n, n bytes   typed arrays, DataView, Buffer (only the view's bytes)
 *   ERROR     see error-codec.ts
 *   BACKREF   u32 id               the id-th object of this value in first-visit order
 *   FALLBACK  u32 n, n bytes       v8.serialize (DefaultSerializer) bytes of the whole value
 *
 * "string" in a body means a string value (one of the string tags), so keys and error
 * fields keep lone surrogates too. Every object (tags ARRAY..ERROR) gets the next id when
 * it is first visited, before its children, on both sides; BACKREF preserves shared
 * references and cycles within one top-level value. Ids restart at 0 for every
 * top-level writeValue / readValue.
 */
export const enum Tag {
  Undefined = 0x01,
  Null = 0x02,
  False = 0x03,
  True = 0x04,
  Int8 = 0x05,
  Int32 = 0x06,
  Float64 = 0x07,
  Ascii8 = 0x08,
  Utf8_8 = 0x09,
  Ascii32 = 0x0a,
  Utf8_32 = 0x0b,
  Utf16 = 0x0c,
  BigInt64 = 0x0d,
  BigInt = 0x0e,
  Array = 0x10,
  Object = 0x11,
  Map = 0x12,
  Set = 0x13,
  Date = 0x14,
  RegExp = 0x15,
  ArrayBuffer = 0x16,
  View = 0x17,
  Error = 0x18,
  BackRef = 0x19,
  Fallback = 0x1a,
}

/** Kinds of ArrayBufferView under Tag.View. Order is part of the wire format. */
export const enum ViewKind {
  Int8 = 0,
  Uint8,
  Uint8Clamped,
  Int16,
  Uint16,
  Int32,
  Uint32,
  Float32,
  Float64,
  BigInt64,
  BigUint64,
  DataView,
  Buffer,
}

/**
 * Field kinds inside an ERROR body (after its fixed header); a 0 byte ends the list.
 * Each field is optional so that one that cannot be encoded can be dropped alone.
 */
export const enum ErrorField {
  End = 0,
  Code = 1, //     value; a `code` that is not an own enumerable property (decoded non-enumerable)
  Cause = 2, //    value; `cause` (decoded non-enumerable, as the Error constructor makes it)
  Errors = 3, //   value; AggregateError's `errors` (decoded non-enumerable)
  Prop = 4, //     string key, value; an own enumerable property
}

/** Flags byte of an ERROR body. */
export const enum ErrorFlag {
  HasMessage = 1,
  HasStack = 2,
}

/**
 * Nesting depth (containers, error fields) handled by the fast path, so that deep data
 * cannot overflow the JS stack. A deeper value goes to the v8 serializer as a whole;
 * inside an Error, only the field that is too deep does (see error-codec.ts).
 */
export const kMaxDepth = 256;

/** Strings up to this many UTF-16 units are encoded by a JS loop instead of a native call. */
export const kShortString = 12;
/** Strings longer than this get an exact UTF-8 byte count before being written. */
export const kExactLengthFrom = 4096;

/*
 * json.h — the JSON codec of creatorapi.core (simdjson fast path with a
 * yajl 2 decoder for errors, hand-written encoder with double-conversion). Rules for users are in docs/json.md; the layer contract is in
 * docs/internals.md.
 *
 * Ownership: neither function keeps a pointer to its input after returning.
 * Every C allocation they make (yajl handle, scratch and output buffers) is
 * owned by a userdata "box" with __gc on the Lua stack while it is in use and
 * freed explicitly before returning, so a Lua memory error that longjmps out
 * of the middle of a parse or encode leaks nothing: the box is collected.
 */
#ifndef CRA_JSON_H
#define CRA_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "compat.h"

/* Registry name of the metatable set on every decoded array. */
#define CRA_JSON_ARRAY_MT "creatorapi.array"
/* Default nesting limit for decode and encode. */
#define CRA_JSON_MAX_DEPTH 1000
/* Hard nesting cap for decode and encode, whatever max_depth says: both
 * recurse in C once per level, and this many levels fit comfortably in a
 * 1 MiB C stack (also under ASan). A larger max_depth is clamped to it. */
#define CRA_JSON_DEPTH_CAP 4096

/* stack: [-0, +1]
 * Pushes the decoded value and returns 1, or pushes an error message and
 * returns 0. Memory errors propagate as Lua errors; no yajl memory leaks.
 * Requires cra_json_open to have run in this Lua state (metatables). */
CRA_HIDDEN int cra_json_decode(lua_State *L, const char *text, size_t len,
                               int max_depth);

/* stack: [-0, +1]
 * Encodes the value at idx; pushes the string and returns 1, or pushes an
 * error message and returns 0. Memory errors propagate as Lua errors. */
CRA_HIDDEN int cra_json_encode(lua_State *L, int idx, int max_depth);

/* stack: [-0, +0]
 * Adds json_decode, json_encode, null, array_mt to the table on top.
 * Safe to call again (re-required module). */
CRA_HIDDEN void cra_json_open(lua_State *L);

/* Shared between the json_*.c / json_*.cpp files. */

/* stack: [-0, +1] on 1, [-0, +0] on 0. The simdjson fast path
 * (json_simd.cpp): decodes valid JSON within max_depth (<= the cap) and
 * returns 1, or returns 0 with nothing pushed for anything else — the
 * caller then runs cra_json_decode_yajl. Memory errors propagate. */
CRA_HIDDEN int cra_json_decode_simd(lua_State *L, const char *text, size_t len,
                                    int max_depth);

/* core._json_key_cache() -> hits, misses of the last simdjson decode's
 * object-key cache; core._json_key_cache(key) -> the key's cache set
 * (json_simd.cpp; for the specs). */
CRA_HIDDEN int cra_json_key_cache_stats(lua_State *L);

/* 1 when s[0..len) is valid UTF-8 by the rules of cra_json_utf8_check
 * (simdjson's SIMD validator, json_simd.cpp), else 0. */
CRA_HIDDEN int cra_json_utf8_valid(const char *s, size_t len);

/* stack: [-0, +1] Same contract as cra_json_decode, on yajl (json_yajl.c):
 * words every error with its byte offset. */
CRA_HIDDEN int cra_json_decode_yajl(lua_State *L, const char *text, size_t len,
                                    int max_depth);

/* stack: [-0, +0] Registers the yajl decoder's internal metatable. */
CRA_HIDDEN void cra_json_yajl_open(lua_State *L);

/* Creates the process-wide "C" locale object (json_text.c). */
CRA_HIDDEN void cra_json_text_open(void);

/* stack: [-0, +0] Registers the encoder's internal metatable and sets
 * json_encode on the table on top (called by cra_json_open). */
CRA_HIDDEN void cra_json_encode_open(lua_State *L);

/* Returns len when s[0..len) is valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), else the offset of the first bad byte. */
CRA_HIDDEN size_t cra_json_utf8_check(const unsigned char *s, size_t len);

/* Locale-independent strtod on a NUL-terminated string (always '.'). */
CRA_HIDDEN double cra_json_strtod(const char *s, char **end);


/* Shortest round-trip form of a finite double (json_dtoa.cpp, on
 * double-conversion's ToShortest; "C" locale whatever LC_NUMERIC says):
 * "0.1", "5e-324", "1.5e+15". buf needs >= 32 bytes; returns the length
 * (NUL-terminated), or -1 for NaN/inf. */
CRA_HIDDEN int cra_json_dtoa(double x, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* CRA_JSON_H */

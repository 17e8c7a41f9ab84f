/*
 * json_simd.cpp — the fast path of json_decode: simdjson's DOM parser
 * (Debian libsimdjson-dev), then one walk over its tape that builds the Lua
 * values directly.
 *
 * Owns: cra_json_decode_simd, cra_json_utf8_valid, cra_json_key_cache_stats
 * (json.h, C linkage).
 *
 * Why DOM and not On-Demand: On-Demand is header-only and compiled for the
 * build's target ISA (baseline x86-64: simdjson's scalar "fallback"
 * kernel), while dom::parser runs in libsimdjson, which picks AVX-512,
 * AVX2 or SSE4.2 at run time. DOM also types every number on the tape
 * (int64 / uint64 / double) exactly as we need, and checks the whole text
 * (strict UTF-8, lone surrogates in \u escapes, control bytes, trailing
 * content) before we build anything.
 *
 * The fast path only accepts; it never words an error. Whenever simdjson
 * rejects the text (or cannot hold it: integers beyond uint64, a depth over
 * max_depth, no memory) we return 0 with the stack as found, and
 * json_decode.c runs the yajl decoder, which gives the exact message with its
 * byte offset, or the value where yajl can represent more (big integers become
 * floats). Valid documents never reach yajl.
 *
 * Memory and unwinding: the parser (its tape and string buffers) and the
 * padded copy of the input live in a userdata box with __gc; the box is kept
 * in the registry between calls (warm buffers, warm key cache) and taken out
 * of it for the duration of a call, so a decode re-entered from a finalizer
 * gets a box of its own. A Lua error (out of memory) longjmps out of the walk:
 * the only C++ objects on the stack then are simdjson's tape references,
 * which own nothing, and the box is collected. This file is compiled with
 * -fno-exceptions and -fno-rtti (Makefile); where the compiler still has
 * exceptions (luarocks builds) the parse call alone is wrapped in try/catch,
 * never the walk, which calls Lua.
 */
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include <simdjson.h>

#include "json.h"

namespace {

namespace dom = simdjson::dom;

const char BOX_MT[] = "creatorapi.json_simd";
char box_key; /* its address keys the registry slot of the idle box */

/* Keep at most this much parser/input capacity between calls. */
const size_t RETAIN_BYTES = size_t(1) << 20;

/* Object-key cache: 2-way set associative, keys up to KC_MAXLEN bytes (Lua's
 * short-string limit). A hit hands back the Lua string already interned for
 * the same bytes instead of hashing them again. A key takes a free way at
 * once. Into a full set it enters only on its second miss (while it is one
 * of the set's last KC_MISSES misses, so keys seen once evict nothing), and
 * only over a way not used since the set was last swept: each way has a
 * "used" bit, set when it is inserted or hit, and a miss that inserts
 * nothing clears both (second chance). A stale entry goes on the second
 * round, and three keys that recur in one set cost one miss a round instead
 * of evicting each other in turn.
 * Each entry's string is anchored in the box's uservalue table at [slot + 1]. */
const int KC_BITS = 8;
const int KC_SETS = 1 << KC_BITS;
const int KC_SIZE = 2 * KC_SETS;
const size_t KC_MAXLEN = 40;
const int KC_MISSES = 4;

struct KcEntry {
  const char *s;
  size_t len;
};

/* One open container of the walk. */
struct Frame {
  bool is_array;
  int n; /* values stored so far (arrays) */
  dom::array::iterator ai, aend;
  dom::object::iterator oi, oend;
};

struct Box {
  dom::parser *parser;
  char *buf; /* padded copy of the input */
  size_t cap;
  Frame *frames; /* the walk's open containers (malloc'd) */
  int frames_cap;
  KcEntry kc[KC_SIZE];
  unsigned char kc_used[KC_SETS]; /* bit w: way w inserted or hit since the last sweep */
  uint32_t kc_miss[KC_SETS][KC_MISSES]; /* tags of the set's last missed keys, newest first */
  unsigned long kc_hits, kc_misses; /* of the last decode (core._json_key_cache) */
};

void box_release(Box *b) {
  delete b->parser;
  b->parser = nullptr;
  std::free(b->buf);
  b->buf = nullptr;
  b->cap = 0;
  std::free(static_cast<void *>(b->frames));
  b->frames = nullptr;
  b->frames_cap = 0;
}

int box_gc(lua_State *L) {
  Box *b = static_cast<Box *>(lua_touserdata(L, 1));
  if (b != nullptr) box_release(b);
  return 0;
}

/* stack: [-0, +1] A fresh box with its anchor table as uservalue. */
Box *box_new(lua_State *L) {
  Box *b;
#if LUA_VERSION_NUM >= 504
  b = static_cast<Box *>(lua_newuserdatauv(L, sizeof *b, 1));
#else
  b = static_cast<Box *>(lua_newuserdata(L, sizeof *b));
#endif
  std::memset(static_cast<void *>(b), 0, sizeof *b);
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_createtable(L, KC_SIZE, 0);
#if LUA_VERSION_NUM >= 504
  lua_setiuservalue(L, -2, 1);
#elif LUA_VERSION_NUM >= 502
  lua_setuservalue(L, -2);
#else
  lua_setfenv(L, -2);
#endif
  return b;
}

/* stack: [-0, +1] The idle box from the registry (slot emptied), or a new one. */
Box *box_take(lua_State *L) {
  lua_pushlightuserdata(L, &box_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (lua_type(L, -1) == LUA_TUSERDATA) {
    lua_pushlightuserdata(L, &box_key);
    lua_pushnil(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return static_cast<Box *>(lua_touserdata(L, -1));
  }
  lua_pop(L, 1);
  return box_new(L);
}

/* stack: [-0, +0] Trims the box and parks it in the registry unless a
 * re-entered decode parked its own meanwhile. */
void box_park(lua_State *L, int idx, Box *b) {
  if (b->cap > RETAIN_BYTES || (b->parser != nullptr && b->parser->capacity() > RETAIN_BYTES)) {
    box_release(b);
  }
  lua_pushlightuserdata(L, &box_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  bool empty = lua_isnil(L, -1);
  lua_pop(L, 1);
  if (!empty) return;
  lua_pushlightuserdata(L, &box_key);
  lua_pushvalue(L, idx);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

/* The parse itself: no Lua call in here. */
simdjson::error_code parse(Box *b, const char *text, size_t len, dom::element *root) {
  if (b->parser == nullptr) {
    b->parser = new (std::nothrow) dom::parser();
    if (b->parser == nullptr) return simdjson::MEMALLOC;
    /* Room for every depth the caller may allow; deeper input fails here
     * and yajl words the error. */
    simdjson::error_code e = b->parser->allocate(len, CRA_JSON_DEPTH_CAP + 1);
    if (e) return e;
  }
  size_t need = len + simdjson::SIMDJSON_PADDING;
  if (need < len) return simdjson::CAPACITY;
  if (need > b->cap) {
    char *p = static_cast<char *>(std::realloc(b->buf, need));
    if (p == nullptr) return simdjson::MEMALLOC;
    b->buf = p;
    b->cap = need;
  }
  std::memcpy(b->buf, text, len);
  std::memset(b->buf + len, 0, simdjson::SIMDJSON_PADDING);
#if defined(__cpp_exceptions)
  try {
#endif
    return b->parser->parse(b->buf, len, false).get(*root);
#if defined(__cpp_exceptions)
  } catch (...) {
    return simdjson::UNEXPECTED_ERROR;
  }
#endif
}

inline uint64_t load64(const unsigned char *p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline uint32_t load32(const unsigned char *p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

/* Cheap multiplicative hash of a short key (the top KC_BITS bits pick the
 * set, the next 32 bits are its tag). */
inline uint64_t kc_hash(const unsigned char *s, size_t len) {
  const uint64_t K = UINT64_C(0x9E3779B97F4A7C15);
  uint64_t h = uint64_t(len) * K;
  if (len >= 8) {
    size_t i;
    for (i = 0; i + 8 < len; i += 8) h = (h ^ load64(s + i)) * K;
    h = (h ^ load64(s + len - 8)) * K;
  } else if (len >= 4) {
    h = (h ^ ((uint64_t(load32(s)) << 32) | load32(s + len - 4))) * K;
  } else if (len > 0) {
    h = (h ^ (uint64_t(s[0]) << 16 | uint64_t(s[len >> 1]) << 8 | s[len - 1])) * K;
  }
  return h;
}

struct Walk {
  lua_State *L;
  Box *b;
  int depth, max_depth;
  int mt_idx; /* stack index of the array metatable */
  int kc_idx; /* stack index of the key anchor table */
};

/* The way a key that just missed should take in its set, or -1 to leave
 * the set as it is: a free way at once; in a full set, on the key's second
 * miss, a way not used since the set's last sweep. Any other miss sweeps. */
int kc_victim(Box *b, unsigned set, uint32_t tag) {
  const KcEntry *e = &b->kc[2 * set];
  if (e[0].s == nullptr) return 0;
  if (e[1].s == nullptr) return 1;
  uint32_t *miss = b->kc_miss[set];
  bool again = false;
  for (int i = 0; i < KC_MISSES; i++) again = again || miss[i] == tag;
  if (!again) {
    std::memmove(miss + 1, miss, (KC_MISSES - 1) * sizeof *miss);
    miss[0] = tag;
  }
  unsigned used = b->kc_used[set];
  if (again && used != 3) return (used & 1) ? 1 : 0;
  b->kc_used[set] = 0; /* sweep: what is not used before the next miss may go */
  return -1;
}

/* stack: [-0, +1] An object key, from the cache when it was seen before. */
void push_key(Walk &w, std::string_view k) {
  lua_State *L = w.L;
  size_t len = k.size();
  if (len > KC_MAXLEN) {
    w.b->kc_misses++;
    lua_pushlstring(L, k.data(), len);
    return;
  }
  uint64_t h = kc_hash(reinterpret_cast<const unsigned char *>(k.data()), len);
  unsigned set = unsigned(h >> (64 - KC_BITS));
  uint32_t tag = uint32_t(h >> 16);
  unsigned slot = 2 * set;
  KcEntry *e = &w.b->kc[slot];
  if (e[0].s != nullptr && e[0].len == len && std::memcmp(e[0].s, k.data(), len) == 0) {
    w.b->kc_hits++;
    w.b->kc_used[set] |= 1;
    lua_rawgeti(L, w.kc_idx, int(slot) + 1);
    return;
  }
  if (e[1].s != nullptr && e[1].len == len && std::memcmp(e[1].s, k.data(), len) == 0) {
    w.b->kc_hits++;
    w.b->kc_used[set] |= 2;
    lua_rawgeti(L, w.kc_idx, int(slot) + 2);
    return;
  }
  w.b->kc_misses++;
  lua_pushlstring(L, k.data(), len);
  int way = kc_victim(w.b, set, tag);
  if (way < 0) return;
  w.b->kc_used[set] |= static_cast<unsigned char>(1 << way);
  lua_pushvalue(L, -1);
  lua_rawseti(L, w.kc_idx, int(slot) + way + 1); /* anchor before caching the pointer */
  e[way].s = lua_tolstring(L, -1, &e[way].len);
}

inline void push_int(lua_State *L, int64_t v) {
#if CRA_HAS_INTEGERS && defined(LUA_MAXINTEGER)
  /* A Lua built with narrower integers (LUA_INT_INT) gets a float. */
  if (v > int64_t(LUA_MAXINTEGER) || v < int64_t(LUA_MININTEGER)) {
    lua_pushnumber(L, lua_Number(v));
    return;
  }
#endif
  cra_pushint64(L, static_cast<long long>(v));
}

inline int clamp_int(size_t n) { return n > size_t(INT_MAX) ? INT_MAX : int(n); }

/* stack: [-0, +1] A scalar; false for a container. */
bool push_scalar(lua_State *L, dom::element e) {
  switch (e.type()) {
    case dom::element_type::INT64:
      push_int(L, e.get_int64().value_unsafe());
      return true;
    case dom::element_type::UINT64: /* beyond int64: the nearest double */
      lua_pushnumber(L, lua_Number(e.get_uint64().value_unsafe()));
      return true;
    case dom::element_type::DOUBLE:
      lua_pushnumber(L, e.get_double().value_unsafe());
      return true;
    case dom::element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      lua_pushlstring(L, s.data(), s.size());
      return true;
    }
    case dom::element_type::BOOL:
      lua_pushboolean(L, e.get_bool().value_unsafe());
      return true;
    case dom::element_type::NULL_VALUE:
      lua_pushlightuserdata(L, nullptr);
      return true;
    default:
      return false;
  }
}

/* Opens a container: frame, Lua table (pre-sized from the tape's count).
 * False declines (depth, Lua stack, memory). */
bool open_container(Walk &w, dom::element e) {
  lua_State *L = w.L;
  Box *b = w.b;
  if (w.depth >= w.max_depth || !lua_checkstack(L, 6)) return false;
  if (w.depth == b->frames_cap) {
    int cap = b->frames_cap ? 2 * b->frames_cap : 32;
    void *p = std::realloc(static_cast<void *>(b->frames), sizeof(Frame) * size_t(cap));
    if (p == nullptr) return false;
    b->frames = static_cast<Frame *>(p);
    b->frames_cap = cap;
  }
  Frame &f = b->frames[w.depth++];
  if (e.type() == dom::element_type::ARRAY) {
    dom::array a = e.get_array().value_unsafe();
    f.is_array = true;
    f.n = 0;
    f.ai = a.begin();
    f.aend = a.end();
    lua_createtable(L, clamp_int(a.size()), 0);
    lua_pushvalue(L, w.mt_idx);
    lua_setmetatable(L, -2);
  } else {
    dom::object o = e.get_object().value_unsafe();
    f.is_array = false;
    f.oi = o.begin();
    f.oend = o.end();
    lua_createtable(L, 0, clamp_int(o.size()));
  }
  return true;
}

/* stack: [-1|-2, +0] Stores the value on top into the innermost container
 * and moves its iterator on. */
inline void store(lua_State *L, Frame &f) {
  if (f.is_array) {
    lua_rawseti(L, -2, ++f.n);
    ++f.ai;
  } else {
    lua_rawset(L, -3); /* duplicate keys: the last one wins */
    ++f.oi;
  }
}

/* stack: [-0, +1] on true; false declines (stack above the base is junk).
 * Iterative (the open containers are frames in the box, not C stack
 * frames), so depth costs no C stack at all. */
bool walk(Walk &w, dom::element cur) {
  lua_State *L = w.L;
  for (;;) {
    if (push_scalar(L, cur)) {
      if (w.depth == 0) return true;
      store(L, w.b->frames[w.depth - 1]);
    } else if (!open_container(w, cur)) {
      return false;
    }
    /* Close every finished container, then step into the next element. */
    for (;;) {
      Frame &f = w.b->frames[w.depth - 1];
      if (f.is_array ? f.ai != f.aend : f.oi != f.oend) break;
      if (--w.depth == 0) return true;
      store(L, w.b->frames[w.depth - 1]);
    }
    Frame &f = w.b->frames[w.depth - 1];
    if (f.is_array) {
      cur = *f.ai;
    } else {
      push_key(w, f.oi.key());
      cur = f.oi.value();
    }
  }
}

}  // namespace

/* core._json_key_cache() -> hits, misses: object keys of the last decode
 * that came from the key cache and that did not (specs only).
 * core._json_key_cache(key) -> the cache set the key maps to (0-based), or
 * nil for a key too long to be cached: lets a spec pick colliding keys. */
extern "C" CRA_HIDDEN int cra_json_key_cache_stats(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) {
    size_t len;
    const char *k = lua_tolstring(L, 1, &len);
    if (len > KC_MAXLEN) {
      lua_pushnil(L);
    } else {
      uint64_t h = kc_hash(reinterpret_cast<const unsigned char *>(k), len);
      lua_pushinteger(L, lua_Integer(h >> (64 - KC_BITS)));
    }
    return 1;
  }
  lua_pushlightuserdata(L, &box_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  Box *b = lua_type(L, -1) == LUA_TUSERDATA ? static_cast<Box *>(lua_touserdata(L, -1)) : nullptr;
  lua_pop(L, 1);
  lua_pushinteger(L, b ? lua_Integer(b->kc_hits) : 0);
  lua_pushinteger(L, b ? lua_Integer(b->kc_misses) : 0);
  return 2;
}

extern "C" CRA_HIDDEN int cra_json_utf8_valid(const char *s, size_t len) {
  return simdjson::validate_utf8(s, len) ? 1 : 0;
}

extern "C" CRA_HIDDEN int cra_json_decode_simd(lua_State *L, const char *text, size_t len,
                                               int max_depth) {
  luaL_checkstack(L, 8, "json_decode");
  int base = lua_gettop(L) + 1;
  Box *b = box_take(L); /* base */
#if LUA_VERSION_NUM >= 504
  lua_getiuservalue(L, base, 1); /* base + 1: key anchors */
#elif LUA_VERSION_NUM >= 502
  lua_getuservalue(L, base);
#else
  lua_getfenv(L, base);
#endif
  luaL_getmetatable(L, CRA_JSON_ARRAY_MT); /* base + 2 */
  dom::element root;
  if (parse(b, text, len, &root)) {
    box_park(L, base, b);
    lua_settop(L, base - 1);
    return 0;
  }
  b->kc_hits = b->kc_misses = 0;
  Walk w{L, b, 0, max_depth, base + 2, base + 1};
  bool ok = walk(w, root);
  box_park(L, base, b);
  if (!ok) {
    lua_settop(L, base - 1);
    return 0;
  }
  lua_replace(L, base);
  lua_settop(L, base);
  return 1;
}

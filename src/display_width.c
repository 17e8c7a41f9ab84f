/*
 * display_width.c — terminal columns of UTF-8 text, for table printers.
 *
 *   core.display_width(s)          → columns
 *   core.truncate_width(s, width)  → prefix, its columns
 *   core.display_width_locale      → the locale wcwidth runs under, or false
 *
 * Widths come from the C library: mbrtowc + wcwidth under a private UTF-8
 * locale ("C.UTF-8", else "C.utf8" / "en_US.UTF-8"), made once with
 * newlocale and switched on for the calling thread only (uselocale) for the
 * length of the call. The process locale (setlocale) is never touched, so a
 * host that set its own (Neovim, a script calling os.setlocale) keeps it.
 *
 * Rules (docs/api.md "Text width"):
 *   - a byte that does not start a valid UTF-8 sequence (stray continuation,
 *     overlong form, surrogate, past U+10FFFF, cut short at the end) is one
 *     column: a terminal shows it as one replacement character;
 *   - control characters (U+0000..U+001F incl. NUL, U+007F..U+009F) are zero
 *     columns (they print nothing visible; printers replace them first);
 *   - every other character is what wcwidth says: combining marks and ZWJ 0,
 *     East Asian wide / fullwidth and most emoji 2; a code point wcwidth does
 *     not know (unassigned, -1) is 1;
 *   - without any UTF-8 locale (display_width_locale == false) every valid
 *     code point that is not a control is one column.
 * Each code point is measured alone: an emoji ZWJ sequence or a skin-tone
 * modifier counts its parts (a terminal may draw them as one glyph).
 */
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wchar.h>

#include "compat.h"
#include "display_width.h"

static locale_t cra_utf8_locale = (locale_t)0;
static const char *cra_utf8_locale_name = NULL;
static pthread_once_t cra_utf8_once = PTHREAD_ONCE_INIT;

static void cra_utf8_locale_init(void) {
  static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8", NULL };
  int i;
  for (i = 0; names[i] != NULL; i++) {
    locale_t l = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
    if (l != (locale_t)0) {
      cra_utf8_locale = l;
      cra_utf8_locale_name = names[i];
      return;
    }
  }
}

/* The locale lives as long as the library: freed when the .so is unloaded
 * (lua_close dlcloses C modules) or the process exits. */
#if defined(__GNUC__)
__attribute__((destructor)) static void cra_utf8_locale_free(void) {
  if (cra_utf8_locale != (locale_t)0) {
    freelocale(cra_utf8_locale);
    cra_utf8_locale = (locale_t)0;
  }
}
#endif

/* Length of the UTF-8 sequence at p (1 for an invalid byte) and its columns.
 * With a locale, must run between uselocale(cra_utf8_locale) and its undo. */
static size_t cra_next_char(const char *p, size_t left, int have_locale, int *cols) {
  unsigned char c = (unsigned char)p[0];
  if (c < 0x20 || c == 0x7f) { *cols = 0; return 1; }     /* C0 control, NUL, DEL */
  if (c < 0x80) { *cols = 1; return 1; }
  if (have_locale) {
    mbstate_t st;
    wchar_t wc;
    size_t n;
    int w;
    memset(&st, 0, sizeof st);
    n = mbrtowc(&wc, p, left, &st);
    /* glibc's mbrtowc also takes 4-6 byte forms past U+10FFFF (31-bit UCS):
     * those are invalid UTF-8 here, as in the fallback decoder. */
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || (unsigned long)wc > 0x10ffffUL) { *cols = 1; return 1; }
    if (wc >= 0x80 && wc < 0xa0) { *cols = 0; return n; }  /* C1 control */
    w = wcwidth(wc);
    *cols = w < 0 ? 1 : w;
    return n;
  }
  {
    /* No UTF-8 locale: a strict decoder, one column per code point. */
    size_t n, i;
    unsigned long cp;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else { *cols = 1; return 1; }
    if (n > left) { *cols = 1; return 1; }
    for (i = 1; i < n; i++) {
      unsigned char d = (unsigned char)p[i];
      if ((d & 0xc0) != 0x80) { *cols = 1; return 1; }
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      *cols = 1;
      return 1;
    }
    *cols = cp < 0xa0 ? 0 : 1;
    return n;
  }
}

/* Walks s: the bytes of the longest prefix of at most `limit` columns
 * (limit < 0: all of s) and its columns in *cols_out. Zero-width characters
 * right after the last kept one stay with it (a combining accent is not cut
 * from its letter); a wide character that would cross the limit is left out
 * whole. */
static size_t cra_measure(const char *s, size_t len, lua_Integer limit, lua_Integer *cols_out) {
  int have_locale;
  locale_t old = (locale_t)0;
  size_t i = 0;
  lua_Integer used = 0;
  pthread_once(&cra_utf8_once, cra_utf8_locale_init);
  have_locale = cra_utf8_locale != (locale_t)0;
  if (have_locale) old = uselocale(cra_utf8_locale);
  while (i < len) {
    int w;
    size_t n = cra_next_char(s + i, len - i, have_locale, &w);
    if (limit >= 0 && used + w > limit) break;
    used += w;
    i += n;
  }
  if (have_locale) uselocale(old);
  *cols_out = used;
  return i;
}

static int cra_l_display_width(lua_State *L) {
  size_t len;
  const char *s;
  lua_Integer cols;
  luaL_checktype(L, 1, LUA_TSTRING);
  s = lua_tolstring(L, 1, &len);
  cra_measure(s, len, -1, &cols);
  lua_pushinteger(L, cols);
  return 1;
}

static int cra_l_truncate_width(lua_State *L) {
  size_t len, keep;
  const char *s;
  lua_Integer limit, cols;
  luaL_checktype(L, 1, LUA_TSTRING);
  s = lua_tolstring(L, 1, &len);
  limit = luaL_checkinteger(L, 2);
  luaL_argcheck(L, limit >= 0, 2, "width must be >= 0");
  keep = cra_measure(s, len, limit, &cols);
  if (keep == len) lua_pushvalue(L, 1);
  else lua_pushlstring(L, s, keep);
  lua_pushinteger(L, cols);
  return 2;
}

void cra_display_width_open(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"display_width", cra_l_display_width},
    {"truncate_width", cra_l_truncate_width},
    {NULL, NULL}
  };
  cra_setfuncs(L, fns, 0);
  pthread_once(&cra_utf8_once, cra_utf8_locale_init);
  if (cra_utf8_locale_name != NULL) lua_pushstring(L, cra_utf8_locale_name);
  else lua_pushboolean(L, 0);
  lua_setfield(L, -2, "display_width_locale");
}

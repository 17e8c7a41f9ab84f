/*
 * json_text.c — helpers shared by the JSON decoder and encoder: the strict
 * UTF-8 checker and the locale-independent strtod.
 *
 * Owns: cra_json_utf8_check, cra_json_strtod (json.h).
 */
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ------------------------------------------------------------------------ */
/* Locale-independent number helpers (shared with json_encode.c)           */
/* ------------------------------------------------------------------------ */

#if defined(__GLIBC__)
#define CRA_HAVE_LOCALE_T 1
#else
#define CRA_HAVE_LOCALE_T 0
#endif

#if CRA_HAVE_LOCALE_T
/* The "C" locale object, created once per process and never freed (like a
 * static). Creation races between threads are resolved with a CAS. */
static locale_t c_locale(void) {
  static locale_t loc = (locale_t)0;
  locale_t l = __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
  locale_t expected = (locale_t)0;
  if (l != (locale_t)0) return l;
  l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (l == (locale_t)0) return (locale_t)0;
  if (!__atomic_compare_exchange_n(&loc, &expected, l, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    freelocale(l);
    l = expected;
  }
  return l;
}
#endif

/* Current locale's decimal point when it is a single byte other than '.',
 * else 0 (used only by the fallback paths). */
static char locale_point(void) {
  const char *p = localeconv()->decimal_point;
  return (p != NULL && p[0] != '\0' && p[0] != '.' && p[1] == '\0') ? p[0] : 0;
}

CRA_HIDDEN double cra_json_strtod(const char *s, char **end) {
  char tmp[512];
  const char *dot;
  char pt;
  size_t n;
  double v;
#if CRA_HAVE_LOCALE_T
  locale_t l = c_locale();
  if (l != (locale_t)0) return strtod_l(s, end, l);
#endif
  /* Fallback: swap '.' for the locale's decimal point and use strtod. */
  pt = locale_point();
  dot = strchr(s, '.');
  n = strlen(s);
  if (pt == 0 || dot == NULL || n >= sizeof tmp) return strtod(s, end);
  memcpy(tmp, s, n + 1);
  tmp[dot - s] = pt;
  v = strtod(tmp, end);
  if (end != NULL) *end = (char *)s + (*end - tmp);
  return v;
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                    */
/* ------------------------------------------------------------------------ */

CRA_HIDDEN size_t cra_json_utf8_check(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    if (c < 0x80) {
      /* ASCII fast path: 8 bytes at a time. */
      if (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if ((w & UINT64_C(0x8080808080808080)) == 0) {
          i += 8;
          continue;
        }
      }
      i++;
      continue;
    }
    if (c < 0xC2) return i; /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) {
      if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80) return i;
      i += 2;
    } else if (c < 0xF0) {
      unsigned c1;
      if (i + 2 >= len) return i;
      c1 = s[i + 1];
      if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return i;
      if (c == 0xE0 && c1 < 0xA0) return i; /* overlong */
      if (c == 0xED && c1 > 0x9F) return i; /* UTF-16 surrogate */
      i += 3;
    } else if (c < 0xF5) {
      unsigned c1;
      if (i + 3 >= len) return i;
      c1 = s[i + 1];
      if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
          (s[i + 3] & 0xC0) != 0x80)
        return i;
      if (c == 0xF0 && c1 < 0x90) return i; /* overlong */
      if (c == 0xF4 && c1 > 0x8F) return i; /* > U+10FFFF */
      i += 4;
    } else {
      return i;
    }
  }
  return len;
}


CRA_HIDDEN void cra_json_text_open(void) {
#if CRA_HAVE_LOCALE_T
  (void)c_locale(); /* create it now, not in the middle of a request */
#endif
}

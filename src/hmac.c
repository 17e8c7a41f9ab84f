/*
 * hmac.c — core.hmac_sha256, core.sha256, core.constant_time_equal.
 *
 * Uses the one-shot libcrypto calls (HMAC(), EVP_Digest()) and, for
 * sha256_file, an EVP_MD_CTX; none is deprecated in OpenSSL 3. Nothing is
 * allocated that a Lua error could leak: every Lua API call happens before
 * or after the libcrypto calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hmac.h"

/* stack: [-0, +1]; pushes the lower-case hex of n bytes */
static void cra_push_hex(lua_State *L, const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char out[2 * EVP_MAX_MD_SIZE];
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  lua_pushlstring(L, out, 2 * n);
}

/* core.hmac_sha256(key, msg) → 64 lower-case hex chars */
static int cra_l_hmac_sha256(lua_State *L) {
  size_t klen, mlen;
  const char *key = luaL_checklstring(L, 1, &klen);
  const char *msg = luaL_checklstring(L, 2, &mlen);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  /* HMAC() rejects a NULL key even with length 0; "" is a valid pointer. */
  if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, md,
           &mdlen) == NULL)
    return luaL_error(L, "hmac_sha256: libcrypto failure");
  cra_push_hex(L, md, mdlen);
  return 1;
}

/* core.sha256(s) → 64 lower-case hex chars */
static int cra_l_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL))
    return luaL_error(L, "sha256: libcrypto failure");
  cra_push_hex(L, md, mdlen);
  return 1;
}

int cra_sha256_fd(int fd, unsigned char *md, unsigned int *mdlen) {
  int err = 0, ok = 0;
  off_t pos = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
    unsigned char buf[32768];
    ssize_t n;
    ok = 1;
    for (;;) {
      n = pread(fd, buf, sizeof buf, pos);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { err = errno ? errno : EIO; ok = 0; break; }
      if (n == 0) break;
      if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) { ok = 0; break; }
      pos += n;
    }
    if (ok && !EVP_DigestFinal_ex(ctx, md, mdlen)) ok = 0;
  }
  EVP_MD_CTX_free(ctx);
  if (ok) return 0;
  return err ? err : -1;
}

void cra_push_sha256_hex(lua_State *L, const unsigned char *md, unsigned int mdlen) {
  cra_push_hex(L, md, mdlen);
}

/* core.sha256_file(path) → 64 lower-case hex chars | nil, message.
 * Streams the file in 32 KiB reads. The digest context and the file are
 * released before any Lua API call that could raise. */
static int cra_l_sha256_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int err, fd;
  errno = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "sha256_file: cannot open %s: %s", path, strerror(err));
    return 2;
  }
  err = cra_sha256_fd(fd, md, &mdlen);
  close(fd);
  if (err) {
    lua_pushnil(L);
    if (err > 0) lua_pushfstring(L, "sha256_file: cannot read %s: %s", path, strerror(err));
    else lua_pushstring(L, "sha256_file: libcrypto failure");
    return 2;
  }
  cra_push_hex(L, md, mdlen);
  return 1;
}

/* core.constant_time_equal(a, b) → boolean. The time depends only on the
 * lengths, never on where the strings differ. */
static int cra_l_constant_time_equal(lua_State *L) {
  size_t alen, blen;
  const char *a = luaL_checklstring(L, 1, &alen);
  const char *b = luaL_checklstring(L, 2, &blen);
  if (alen != blen) {
    /* Still touch the bytes so the mismatch path costs about the same. */
    (void)CRYPTO_memcmp(a, a, alen);
    lua_pushboolean(L, 0);
  } else {
    lua_pushboolean(L, alen == 0 || CRYPTO_memcmp(a, b, alen) == 0);
  }
  return 1;
}

void cra_hmac_open(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"hmac_sha256", cra_l_hmac_sha256},
    {"sha256", cra_l_sha256},
    {"sha256_file", cra_l_sha256_file},
    {"constant_time_equal", cra_l_constant_time_equal},
    {NULL, NULL}
  };
  cra_setfuncs(L, fns, 0);
}

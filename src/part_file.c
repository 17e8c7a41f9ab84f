/*
 * part_file.c — core.part_file(target): the temporary file a download
 * streams into before it is renamed onto its target.
 *
 *   local pf = assert(core.part_file("/data/export.xlsx"))
 *   pf:name()          -- "/data/export.xlsx.<16 hex>.part", created by this call
 *   …downloads write through pf (p.part; the engine dup()s the descriptor)…
 *   pf:size(), pf:sha256()   -- of the bytes in the file, read back through the fd
 *   pf:commit("/data/export.xlsx")   -- atomic rename; true | nil, message
 *   pf:discard()       -- unlink + close (also __gc / __close when not committed)
 *
 * The name is unique (random) and created with O_CREAT|O_EXCL|O_NOFOLLOW in
 * the target's directory before any request, so nothing planted at a
 * predictable name (a symlink, another download's file) is ever opened or
 * written, and two downloads to one target never share a file. The
 * descriptor is kept until commit/discard. commit and discard only touch the
 * name while it still names the file of this descriptor (same dev/inode).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hmac.h"
#include "part_file.h"

#define CRA_PART_MAX_TRIES 16

static cra_part_t *cra_check_part(lua_State *L) {
  return (cra_part_t *)luaL_checkudata(L, 1, CRA_PART_MT);
}

cra_part_t *cra_test_part(lua_State *L, int idx) {
  cra_part_t *pf = (cra_part_t *)cra_testudata(L, idx, CRA_PART_MT);
  return pf != NULL && pf->fd >= 0 ? pf : NULL;
}

/* True while `name` still names the file open at fd. */
static int cra_part_same(const cra_part_t *pf) {
  struct stat a, b;
  if (pf->fd < 0 || pf->name == NULL) return 0;
  if (fstat(pf->fd, &a) != 0 || lstat(pf->name, &b) != 0) return 0;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void cra_part_release(cra_part_t *pf, int unlink_it) {
  if (unlink_it && cra_part_same(pf)) unlink(pf->name);
  if (pf->fd >= 0) close(pf->fd);
  pf->fd = -1;
  free(pf->name);
  pf->name = NULL;
}

static int cra_part_fail(lua_State *L, const char *what, const char *name, int err) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s %s: %s", what, name, strerror(err));
  return 2;
}

/* core.part_file(target) → pf | nil, message */
static int cra_l_part_file(lua_State *L) {
  size_t tlen;
  const char *target = luaL_checklstring(L, 1, &tlen);
  cra_part_t *pf;
  int i, err = 0;
  if (tlen == 0 || memchr(target, '\0', tlen) != NULL)
    return luaL_argerror(L, 1, "a non-empty path without NUL expected");
  pf = (cra_part_t *)lua_newuserdata(L, sizeof *pf);
  pf->fd = -1;
  pf->name = NULL;
  cra_setmetatable(L, CRA_PART_MT);
  pf->name = (char *)malloc(tlen + 1 + 16 + 6);
  if (pf->name == NULL) return luaL_error(L, "part_file: out of memory");
  for (i = 0; i < CRA_PART_MAX_TRIES; i++) {
    unsigned char r[8];
    static const char hex[] = "0123456789abcdef";
    char suffix[1 + 16 + 6];
    int k;
    if (RAND_bytes(r, sizeof r) != 1) {
      /* No entropy source: pid + clock still make a fresh name per try. */
      unsigned long long v = (unsigned long long)getpid() * 1000003ULL ^ (unsigned long long)time(NULL) ^
                             ((unsigned long long)(i + 1) << 40) ^ (unsigned long long)(size_t)pf;
      for (k = 0; k < 8; k++) r[k] = (unsigned char)(v >> (8 * k));
    }
    suffix[0] = '.';
    for (k = 0; k < 8; k++) {
      suffix[1 + 2 * k] = hex[r[k] >> 4];
      suffix[2 + 2 * k] = hex[r[k] & 15];
    }
    memcpy(suffix + 17, ".part", 6);
    memcpy(pf->name, target, tlen);
    memcpy(pf->name + tlen, suffix, sizeof suffix);
    pf->fd = open(pf->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (pf->fd >= 0) return 1;
    err = errno;
    if (err != EEXIST) break;
  }
  lua_pushnil(L);
  lua_pushfstring(L, "cannot create a temporary file next to %s: %s", target, strerror(err));
  free(pf->name);
  pf->name = NULL;
  return 2;
}

static int cra_part_name(lua_State *L) {
  cra_part_t *pf = cra_check_part(L);
  if (pf->name == NULL) return 0;
  lua_pushstring(L, pf->name);
  return 1;
}

/* pf:size() → bytes in the file | nil, message */
static int cra_part_size(lua_State *L) {
  cra_part_t *pf = cra_check_part(L);
  struct stat st;
  if (pf->fd < 0) return luaL_error(L, "part_file: already closed");
  if (fstat(pf->fd, &st) != 0) return cra_part_fail(L, "cannot stat", pf->name, errno);
  cra_pushint64(L, (long long)st.st_size);
  return 1;
}

/* pf:sha256() → hex of the bytes in the file (read back through the fd) */
static int cra_part_sha256(lua_State *L) {
  cra_part_t *pf = cra_check_part(L);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int err;
  if (pf->fd < 0) return luaL_error(L, "part_file: already closed");
  err = cra_sha256_fd(pf->fd, md, &mdlen);
  if (err > 0) return cra_part_fail(L, "cannot read", pf->name, err);
  if (err) {
    lua_pushnil(L);
    lua_pushliteral(L, "sha256: libcrypto failure");
    return 2;
  }
  cra_push_sha256_hex(L, md, mdlen);
  return 1;
}

/* pf:commit(target) → true | nil, message. Renames the file onto target
 * (atomic: target is the old file or the whole new one, never a mix). */
static int cra_part_commit(lua_State *L) {
  cra_part_t *pf = cra_check_part(L);
  const char *target = luaL_checkstring(L, 2);
  if (pf->fd < 0) return luaL_error(L, "part_file: already closed");
  if (!cra_part_same(pf)) {
    lua_pushnil(L);
    lua_pushfstring(L, "the temporary file %s was removed or replaced during the download", pf->name);
    cra_part_release(pf, 0);
    return 2;
  }
  if (rename(pf->name, target) != 0) {
    int err = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "cannot rename %s to %s: %s", pf->name, target, strerror(err));
    cra_part_release(pf, 1);
    return 2;
  }
  cra_part_release(pf, 0);
  lua_pushboolean(L, 1);
  return 1;
}

static int cra_part_discard(lua_State *L) {
  cra_part_release(cra_check_part(L), 1);
  return 0;
}

void cra_part_file_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"name", cra_part_name},
    {"size", cra_part_size},
    {"sha256", cra_part_sha256},
    {"commit", cra_part_commit},
    {"discard", cra_part_discard},
    {NULL, NULL}
  };
  luaL_newmetatable(L, CRA_PART_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_part_discard);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, cra_part_discard);
  lua_setfield(L, -2, "__close");
  lua_pushliteral(L, CRA_PART_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_l_part_file);
  lua_setfield(L, -2, "part_file");
}

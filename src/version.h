/*
 * version.h — the one place the SDK version is written.
 * core._VERSION and the default User-Agent (`creatorapi-lua/<ver> libcurl/<ver>`)
 * both come from here; the Lua layer reads core._VERSION.
 */
#ifndef CRA_VERSION_H
#define CRA_VERSION_H

#define CRA_VERSION "0.1.0"

#endif /* CRA_VERSION_H */

/*
 * query.h — the query-string encoder used by GET requests and exposed as
 * core.encode_query(t).
 *
 * Rules (docs/internals.md): keys sorted (byte order), RFC 3986 unreserved
 * characters kept and everything else percent-encoded, creatorapi.null
 * (light userdata NULL) dropped, booleans true/false, integers exact,
 * integral floats without ".0", other floats shortest round-trip with "."
 * whatever the locale, sequences joined with ",". Anything else is a
 * validation error that names the key.
 */
#ifndef CRA_QUERY_H
#define CRA_QUERY_H

#include "compat.h"

/* Encodes the table at idx. Returns 1 and pushes the string (possibly ""),
 * or returns 0 and pushes two values: the offending key (string) and a
 * message. Raises only on memory errors. stack: [-0, +1|+2] */
CRA_HIDDEN int cra_query_encode(lua_State *L, int idx);

/* Adds encode_query to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_query_open(lua_State *L);

#endif /* CRA_QUERY_H */

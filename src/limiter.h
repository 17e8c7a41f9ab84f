/*
 * limiter.h — core.limiter(n, per): see limiter.c.
 */
#ifndef CRA_LIMITER_H
#define CRA_LIMITER_H

#include "compat.h"

CRA_HIDDEN void cra_limiter_open(lua_State *L);

#endif /* CRA_LIMITER_H */

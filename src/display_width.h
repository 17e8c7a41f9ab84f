/*
 * display_width.h — terminal columns of UTF-8 text (wcwidth under a private
 * UTF-8 locale; see display_width.c for the rules).
 */
#ifndef CRA_DISPLAY_WIDTH_H
#define CRA_DISPLAY_WIDTH_H

#include "compat.h"

/* Adds display_width, truncate_width and display_width_locale to the table
 * on top. stack: [-0, +0] */
CRA_HIDDEN void cra_display_width_open(lua_State *L);

#endif /* CRA_DISPLAY_WIDTH_H */

/* creatorapi-mock: host.xlsx(header, rows, sheet_name) → workbook bytes |
 * nil, message — the XLSX export written by Debian's libxlsxwriter (one
 * sheet, bold white-on-blue frozen header, column widths from the content).
 * header: list of column names; rows: list of lists (nil = empty cell;
 * numbers, booleans and strings keep their type). Runs under mock_lua_lock.
 * The cells are read from Lua with raw accesses (no metamethods); only a
 * memory error could raise, after which the temporary file is left in TMPDIR. */
#include "mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <xlsxwriter.h>

#define XLSX_MAX_COLS 1000

static size_t utf8_chars(const char *s, size_t n)
{
    size_t i, c = 0;
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* Writes the value on top of the stack at (row, col); returns its width. */
static size_t write_cell(lua_State *L, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, lxw_format *fmt)
{
    size_t n = 0;
    const char *s;
    char num[64];
    switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
        worksheet_write_number(ws, row, col, (double)lua_tonumber(L, -1), fmt);
        snprintf(num, sizeof num, "%.15g", (double)lua_tonumber(L, -1));
        return strlen(num);
    case LUA_TBOOLEAN:
        worksheet_write_boolean(ws, row, col, lua_toboolean(L, -1), fmt);
        return 5;
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &n);
        worksheet_write_string(ws, row, col, s, fmt);
        return utf8_chars(s, n);
    default:
        return 0; /* nil, json.null, tables: an empty cell */
    }
}

int mock_l_xlsx(lua_State *L)
{
    char path[4096];
    const char *tmp = getenv("TMPDIR");
    const char *sheet = luaL_optstring(L, 3, "Sheet1");
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *bold;
    double widths[XLSX_MAX_COLS];
    int ncols, nrows, r, c, fd;
    FILE *f;
    long size;
    luaL_Buffer b;

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    ncols = (int)lua_rawlen(L, 1);
    nrows = (int)lua_rawlen(L, 2);
    if (ncols > XLSX_MAX_COLS)
        return luaL_error(L, "xlsx: at most %d columns", XLSX_MAX_COLS);
    snprintf(path, sizeof path, "%s/creatorapi-mock-xlsx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(path);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushstring(L, "xlsx: cannot create a temporary file");
        return 2;
    }
    close(fd);
    wb = workbook_new(path);
    ws = wb ? workbook_add_worksheet(wb, sheet) : NULL;
    if (!ws) {
        if (wb)
            workbook_close(wb);
        unlink(path);
        lua_pushnil(L);
        lua_pushstring(L, "xlsx: libxlsxwriter could not start a workbook");
        return 2;
    }
    bold = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_font_color(bold, LXW_COLOR_WHITE);
    format_set_bg_color(bold, 0x4F81BD);
    for (c = 0; c < ncols; c++) {
        size_t w;
        lua_rawgeti(L, 1, c + 1);
        w = write_cell(L, ws, 0, (lxw_col_t)c, bold);
        lua_pop(L, 1);
        widths[c] = w > 8 ? (double)w : 8.0;
    }
    for (r = 0; r < nrows; r++) {
        lua_rawgeti(L, 2, r + 1);
        if (lua_istable(L, -1)) {
            for (c = 0; c < ncols; c++) {
                size_t w;
                lua_rawgeti(L, -1, c + 1);
                w = write_cell(L, ws, (lxw_row_t)(r + 1), (lxw_col_t)c, NULL);
                lua_pop(L, 1);
                if ((double)w > widths[c])
                    widths[c] = w > 60 ? 60.0 : (double)w;
            }
        }
        lua_pop(L, 1);
    }
    for (c = 0; c < ncols; c++)
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, widths[c] + 2, NULL);
    worksheet_freeze_panes(ws, 1, 0);
    if (workbook_close(wb) != LXW_NO_ERROR) {
        unlink(path);
        lua_pushnil(L);
        lua_pushstring(L, "xlsx: libxlsxwriter could not write the workbook");
        return 2;
    }
    f = fopen(path, "rb");
    unlink(path);
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        if (f)
            fclose(f);
        lua_pushnil(L);
        lua_pushstring(L, "xlsx: cannot read the workbook back");
        return 2;
    }
    luaL_buffinit(L, &b);
    {
        char chunk[16384];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            luaL_addlstring(&b, chunk, n);
    }
    fclose(f);
    luaL_pushresult(&b);
    return 1;
}

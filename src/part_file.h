/*
 * part_file.h — core.part_file: a download's uniquely named temporary file,
 * created O_EXCL|O_NOFOLLOW before the request and renamed onto its target.
 */
#ifndef CRA_PART_FILE_H
#define CRA_PART_FILE_H

#include "compat.h"

#define CRA_PART_MT "creatorapi.PartFile"

typedef struct cra_part {
  int fd;      /* -1 once committed or discarded */
  char *name;  /* the temporary file's path */
} cra_part_t;

/* The open part file at idx, or NULL (not one, or closed). */
CRA_HIDDEN cra_part_t *cra_test_part(lua_State *L, int idx);
/* Adds part_file to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_part_file_open(lua_State *L);

#endif /* CRA_PART_FILE_H */

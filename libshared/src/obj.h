/* obj.h: private: looking at a named object's header without attaching, and removing it by kind. */
#ifndef SP_OBJ_H
#define SP_OBJ_H

#include <stdint.h>

#include "seg.h"

/* Reads the common header of the object NAME (pread: a short or foreign
 * file cannot fault).  Returns 0 and fills *h and *file_size; -ENOENT;
 * -EPROTO if the segment is not one of this library's (or is unfinished). */
int sp_obj_peek(const char *name, struct sp_seg_hdr *h, uint64_t *file_size);

/* Removes NAME if it is an object of `kind` (ops gives its extra objects).
 * Returns 0, -ENOENT, or -EPROTO (another kind: left alone). */
int sp_obj_unlink_kind(const char *name, enum sp_kind kind, const struct sp_seg_ops *ops);

/* Checks that an object body of `need` bytes at the header's body_off fits
 * the mapping of s and is 8-byte aligned.  Returns the body or NULL. */
void *sp_obj_body(const struct sp_seg *s, size_t need);

#endif

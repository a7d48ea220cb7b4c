/* obj.h: private: looking at a named object's header without attaching, and removing it by kind. */
#ifndef SP_OBJ_H
#define SP_OBJ_H

#include <stdint.h>

#include "seg.h"

/* Reads the common header of the object NAME into the private copy *h
 * (sp_seg_hdr_read).  Returns an sp_hdr_state, or -errno (-ENOENT). */
int sp_obj_peek(const char *name, struct sp_seg_hdr *h);

/* Removes NAME if it is an object of `kind`.  Returns 0, -ENOENT, or
 * -EPROTO (another kind: left alone). */
int sp_obj_unlink_kind(const char *name, enum sp_kind kind);

#endif

/* record.c: encoding and hostile-input decoding of the pipeline's file-batch records. */
#include "batch.h"

#include <errno.h>
#include <string.h>

/*
 * Header layout (little-endian, SP_BATCH_HDR_SIZE = 96 bytes); the path and
 * then the payload follow.  docs/pipeline.md repeats this with the rules.
 */
enum {
	OFF_MAGIC = 0,        /* u32 SP_BATCH_MAGIC */
	OFF_VERSION = 4,      /* u8  SP_BATCH_VERSION */
	OFF_TYPE = 5,         /* u8  enum sp_batch_type */
	OFF_FLAGS = 6,        /* u16 SP_BATCH_F_* */
	OFF_RUN = 8,          /* u64 producer run id */
	OFF_SEQ = 16,         /* u64 file number in the run, >= 1 */
	OFF_SIZE = 24,        /* u64 file size */
	OFF_OFFSET = 32,      /* u64 offset of a part */
	OFF_MTIME_SEC = 40,   /* i64 */
	OFF_MTIME_NSEC = 48,  /* u32 < 1e9 */
	OFF_MODE = 52,        /* u32 st_mode */
	OFF_PART = 56,        /* u32 part index */
	OFF_NPARTS = 60,      /* u32 parts sent (END) */
	OFF_RAW_LEN = 64,     /* u32 payload length decompressed */
	OFF_DATA_LEN = 68,    /* u32 payload length in the record */
	OFF_PART_HASH = 72,   /* u64 XXH64 of the raw payload */
	OFF_FILE_HASH = 80,   /* u64 XXH64 of the whole file */
	OFF_PATH_LEN = 88,    /* u16 */
	OFF_RESERVED = 90,    /* u16 zero */
	OFF_CHECK = 92,       /* u32 low half of XXH64(header[0..92) ++ path) */
};
_Static_assert(OFF_CHECK + 4 == SP_BATCH_HDR_SIZE, "header layout");

/* File type bits of st_mode, spelled out so this file needs no system header. */
#define M_FMT 0170000u
#define M_REG 0100000u
#define M_DIR 0040000u
#define M_LNK 0120000u

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t header_check(const unsigned char *hdr, const char *path, size_t path_len)
{
	struct sp_batch_hash h;

	sp_batch_hash_init(&h, SP_BATCH_MAGIC);
	sp_batch_hash_update(&h, hdr, OFF_CHECK);
	sp_batch_hash_update(&h, path, path_len);
	return (uint32_t)sp_batch_hash_digest(&h);
}

long long sp_batch_size(size_t path_len, size_t data_len)
{
	if (path_len > SP_BATCH_PATH_MAX || data_len > UINT32_MAX)
		return -EMSGSIZE;
	return (long long)(SP_BATCH_HDR_SIZE + path_len + data_len);
}

long long sp_batch_encode(const struct sp_batch_rec *rec, void *buf, size_t size)
{
	unsigned char *p = buf;
	long long total = sp_batch_size(rec->path_len, rec->data_len);

	if (total < 0)
		return total;
	if ((unsigned long long)total > size)
		return -EMSGSIZE;
	if (rec->type < SP_BATCH_FILE || rec->type > SP_BATCH_SYMLINK ||
	    (rec->flags & ~SP_BATCH_F_ALL))
		return -EINVAL;
	memset(p, 0, SP_BATCH_HDR_SIZE);
	put32(p + OFF_MAGIC, SP_BATCH_MAGIC);
	p[OFF_VERSION] = SP_BATCH_VERSION;
	p[OFF_TYPE] = (unsigned char)rec->type;
	put16(p + OFF_FLAGS, (uint16_t)rec->flags);
	put64(p + OFF_RUN, rec->run);
	put64(p + OFF_SEQ, rec->seq);
	put64(p + OFF_SIZE, rec->size);
	put64(p + OFF_OFFSET, rec->offset);
	put64(p + OFF_MTIME_SEC, (uint64_t)rec->mtime_sec);
	put32(p + OFF_MTIME_NSEC, rec->mtime_nsec);
	put32(p + OFF_MODE, rec->mode);
	put32(p + OFF_PART, rec->part);
	put32(p + OFF_NPARTS, rec->nparts);
	put32(p + OFF_RAW_LEN, rec->raw_len);
	put32(p + OFF_DATA_LEN, rec->data_len);
	put64(p + OFF_PART_HASH, rec->part_hash);
	put64(p + OFF_FILE_HASH, rec->file_hash);
	put16(p + OFF_PATH_LEN, (uint16_t)rec->path_len);
	if (rec->path_len)
		memcpy(p + SP_BATCH_HDR_SIZE, rec->path, rec->path_len);
	put32(p + OFF_CHECK, header_check(p, rec->path, rec->path_len));
	if (rec->data && rec->data_len)
		memmove(p + SP_BATCH_HDR_SIZE + rec->path_len, rec->data, rec->data_len);
	return total;
}

/* The rules each type's fields must satisfy, beyond the common ones. */
static int check_fields(const struct sp_batch_rec *r)
{
	const uint32_t fmt = r->mode & M_FMT;
	const int lz4 = (r->flags & SP_BATCH_F_LZ4) != 0;

	if (r->seq == 0 || r->mtime_nsec >= 1000000000u)
		return -EBADMSG;
	/* A compressed payload is only sent when it shrank, and is never empty. */
	if (lz4 ? (r->data_len == 0 || r->data_len >= r->raw_len) : r->data_len != r->raw_len)
		return -EBADMSG;
	switch (r->type) {
	case SP_BATCH_FILE:
		if ((r->flags & ~SP_BATCH_F_LZ4) || fmt != M_REG || r->size != r->raw_len ||
		    r->offset || r->part || r->nparts || r->part_hash != r->file_hash)
			return -EBADMSG;
		return 0;
	case SP_BATCH_PART:
		if ((r->flags & ~(SP_BATCH_F_LZ4 | SP_BATCH_F_STREAM)) || fmt != M_REG ||
		    r->raw_len == 0 || r->nparts || r->file_hash)
			return -EBADMSG;
		/* Every part before this one held at least one byte. */
		if (r->offset > SP_BATCH_SIZE_MAX || r->part > r->offset ||
		    r->offset + r->raw_len > SP_BATCH_SIZE_MAX)
			return -EBADMSG;
		if (r->flags & SP_BATCH_F_STREAM) {
			if (r->size)
				return -EBADMSG;
		} else if (r->size > SP_BATCH_SIZE_MAX || r->offset + r->raw_len > r->size) {
			return -EBADMSG;
		}
		return 0;
	case SP_BATCH_END:
		if ((r->flags & ~(SP_BATCH_F_STREAM | SP_BATCH_F_ABORTED)) || fmt != M_REG ||
		    r->raw_len || r->offset || r->part || r->part_hash ||
		    r->size > SP_BATCH_SIZE_MAX || r->nparts > r->size)
			return -EBADMSG;
		return 0;
	case SP_BATCH_DIR:
		if (r->flags || fmt != M_DIR || r->raw_len || r->size || r->offset ||
		    r->part || r->nparts || r->part_hash || r->file_hash)
			return -EBADMSG;
		return 0;
	case SP_BATCH_SYMLINK:
		if (r->flags || fmt != M_LNK || r->raw_len == 0 ||
		    r->raw_len > SP_BATCH_LINK_MAX || r->size != r->raw_len || r->offset ||
		    r->part || r->nparts || r->part_hash || r->file_hash)
			return -EBADMSG;
		if (memchr(r->data, 0, r->data_len))
			return -EINVAL;
		return 0;
	default:
		return -EBADMSG;
	}
}

int sp_batch_decode(const void *buf, size_t len, struct sp_batch_rec *rec)
{
	const unsigned char *p = buf;
	struct sp_batch_rec r;

	if (!buf || len < SP_BATCH_HDR_SIZE || get32(p + OFF_MAGIC) != SP_BATCH_MAGIC)
		return -EBADMSG;
	if (p[OFF_VERSION] != SP_BATCH_VERSION)
		return p[OFF_VERSION] > SP_BATCH_VERSION ? -EPROTO : -EBADMSG;
	memset(&r, 0, sizeof(r));
	r.type = p[OFF_TYPE];
	r.flags = get16(p + OFF_FLAGS);
	r.run = get64(p + OFF_RUN);
	r.seq = get64(p + OFF_SEQ);
	r.size = get64(p + OFF_SIZE);
	r.offset = get64(p + OFF_OFFSET);
	r.mtime_sec = (int64_t)get64(p + OFF_MTIME_SEC);
	r.mtime_nsec = get32(p + OFF_MTIME_NSEC);
	r.mode = get32(p + OFF_MODE);
	r.part = get32(p + OFF_PART);
	r.nparts = get32(p + OFF_NPARTS);
	r.raw_len = get32(p + OFF_RAW_LEN);
	r.data_len = get32(p + OFF_DATA_LEN);
	r.part_hash = get64(p + OFF_PART_HASH);
	r.file_hash = get64(p + OFF_FILE_HASH);
	r.path_len = get16(p + OFF_PATH_LEN);
	if (get16(p + OFF_RESERVED) || (r.flags & ~SP_BATCH_F_ALL))
		return -EBADMSG;
	/* Lengths first, in 64 bits so no sum can wrap: the record must be
	 * exactly header + path + payload. */
	if (r.path_len > SP_BATCH_PATH_MAX ||
	    (uint64_t)SP_BATCH_HDR_SIZE + r.path_len + r.data_len != (uint64_t)len)
		return -EBADMSG;
	r.path = (const char *)p + SP_BATCH_HDR_SIZE;
	r.data = p + SP_BATCH_HDR_SIZE + r.path_len;
	if (get32(p + OFF_CHECK) != header_check(p, r.path, r.path_len))
		return -EBADMSG;
	int rc = check_fields(&r);

	if (rc == 0 && sp_batch_path_check(r.path, r.path_len) < 0)
		rc = -EINVAL;
	/* On -EINVAL the record is well formed but refused: the caller gets
	 * it anyway, to name the path in its message. */
	if (rc == 0 || rc == -EINVAL)
		*rec = r;
	return rc;
}

const char *sp_batch_type_name(unsigned type)
{
	switch (type) {
	case SP_BATCH_FILE: return "file";
	case SP_BATCH_PART: return "part";
	case SP_BATCH_END: return "end";
	case SP_BATCH_DIR: return "dir";
	case SP_BATCH_SYMLINK: return "symlink";
	default: return "?";
	}
}

/* batch.h: the pipeline's record format, its path rules and its checksum (XXH64); built for the programs, tests and fuzzers, never installed. */
#ifndef BATCH_BATCH_H
#define BATCH_BATCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * This is the producer's and consumer's protocol, not part of libshared:
 * the library moves records and knows nothing of what they hold.  It is a
 * static library of its own (build/libbatch.a), linked by producer,
 * consumer, tests/tool_batch and the fuzz targets.  The names keep the
 * project's sp_ prefix; none is exported by libshared.so.
 *
 * A batch is a sequence of self-describing records put into a ring by the
 * producer and taken out by any consumer worker.  Every record is
 *
 *   header (SP_BATCH_HDR_SIZE bytes, little-endian) | path | payload
 *
 * and can be handled by whichever worker takes it, whatever it took before.
 * docs/pipeline.md gives the layout field by field and the protocol.
 *
 * Every function here is pure: no I/O, no allocation, no global state, safe
 * from any thread.  sp_batch_decode() treats its input as hostile: it checks
 * every length, offset, flag and path before it returns, and never reads
 * outside [buf, buf + len).  Functions return 0 or a non-negative size on
 * success and a negative errno value on failure.
 */

#define SP_BATCH_MAGIC 0x31425053u    /* "SPB1" read as a little-endian u32 */
#define SP_BATCH_VERSION 1
#define SP_BATCH_HDR_SIZE 96u
#define SP_BATCH_PATH_MAX 4095u       /* bytes of a relative path, no NUL */
#define SP_BATCH_LINK_MAX 4095u       /* bytes of a symbolic link's target */
#define SP_BATCH_SIZE_MAX (1ull << 50) /* largest file size or offset accepted */

/* Record types. */
enum sp_batch_type {
	SP_BATCH_FILE = 1,     /* a whole regular file: payload is its content */
	SP_BATCH_PART = 2,     /* one part of a larger file or of a stream */
	SP_BATCH_END = 3,      /* trailer of a parted file: count, size, checksum */
	SP_BATCH_DIR = 4,      /* a directory (no payload) */
	SP_BATCH_SYMLINK = 5,  /* a symbolic link: payload is its target */
};

/* Record flags. */
#define SP_BATCH_F_LZ4 0x1u      /* FILE, PART: payload is one LZ4 block */
#define SP_BATCH_F_STREAM 0x2u   /* PART, END: from a stream of unknown size */
#define SP_BATCH_F_ABORTED 0x4u  /* END: the producer withdrew the file */
#define SP_BATCH_F_ALL 0x7u

/*
 * One record, decoded or about to be encoded.  path and data point into the
 * record buffer after sp_batch_decode(); for sp_batch_encode() they point to
 * the caller's bytes (data may be NULL: the caller fills the payload in place
 * at sp_batch_payload(buf)).
 */
struct sp_batch_rec {
	unsigned type;          /* enum sp_batch_type */
	unsigned flags;         /* SP_BATCH_F_* */
	uint64_t run;           /* producer run id (random, one per producer run) */
	uint64_t seq;           /* file number within the run, from 1 */
	uint64_t size;          /* FILE, END: file size; PART: file size, or 0 with F_STREAM */
	uint64_t offset;        /* PART: where the part goes in the file */
	int64_t mtime_sec;      /* modification time */
	uint32_t mtime_nsec;
	uint32_t mode;          /* st_mode: type and permission bits */
	uint32_t part;          /* PART: index from 0 */
	uint32_t nparts;        /* END: number of PART records sent for the file */
	uint32_t raw_len;       /* payload length once decompressed */
	uint32_t data_len;      /* payload length in the record */
	uint64_t part_hash;     /* FILE, PART: XXH64 (seed 0) of the raw payload */
	uint64_t file_hash;     /* FILE: = part_hash; END: the parts' tree hash
				 * (see sp_batch_tree_add) */
	const char *path;       /* relative path, path_len bytes, not NUL-terminated */
	size_t path_len;
	const void *data;       /* payload, data_len bytes */
};

/* Returns the encoded size of a record with these path and payload lengths,
 * or -EMSGSIZE if a length is out of range. */
long long sp_batch_size(size_t path_len, size_t data_len);

/*
 * Encodes rec into buf (size bytes): header, path, and the payload when
 * rec->data is not NULL (otherwise the caller writes rec->data_len bytes at
 * sp_batch_payload(buf) before or after this call).  The header checksum
 * covers header and path, not the payload.  Lengths are checked; the path's
 * form is not (that is the decoder's job, and tests need hostile records).
 * Returns the record's total size, -EMSGSIZE if it does not fit in size, or
 * -EINVAL for an unknown type or flag.
 */
long long sp_batch_encode(const struct sp_batch_rec *rec, void *buf, size_t size);

/* Where the payload starts in an encoded record with a path of path_len. */
static inline void *sp_batch_payload(void *buf, size_t path_len)
{
	return (char *)buf + SP_BATCH_HDR_SIZE + path_len;
}

/*
 * Decodes and validates the record buf[0..len).  On success fills *rec (path
 * and data point into buf) and returns 0.  Fails with -EBADMSG (not a record
 * of this format: magic, version, lengths, header checksum, flags, fields that
 * contradict the type), -EPROTO (a newer version), or -EINVAL (a path that
 * sp_batch_path_check() refuses, or a symlink target with a NUL; *rec is
 * filled then too, so that the caller can name what it refuses).
 * The payload is not hashed here: call sp_batch_hash64() on the raw payload.
 * Copy the record out of shared memory first if a peer could change it while
 * you use it: the checks hold for the bytes as they were read.
 */
int sp_batch_decode(const void *buf, size_t len, struct sp_batch_rec *rec);

/*
 * Path rules (path.c).  A path in a record is relative and is recreated
 * below the consumer's output directory, so it must not lead out of it nor
 * onto the helper files the consumer keeps there, whose names all start
 * with SP_BATCH_RESERVED:
 *
 *   .shmpipe.<run>-<seq>.tmp, .tmp.z, .prog, .lnk   a file being written
 *                                                   or put together
 *   .shmpipe.j<random>.wrk                          a worker's journal
 */
#define SP_BATCH_RESERVED ".shmpipe."
#define SP_BATCH_RESERVED_LEN (sizeof(SP_BATCH_RESERVED) - 1)

/*
 * Checks a relative path: 1 to SP_BATCH_PATH_MAX bytes, no NUL, not absolute,
 * no empty, "." or ".." component, no trailing '/', and a first component
 * not starting with SP_BATCH_RESERVED.  Returns 0 or -EINVAL.
 */
int sp_batch_path_check(const char *path, size_t len);

/* Why sp_batch_path_check() refuses path, in words for a message ("'..'
 * component"), or NULL if it accepts it. */
const char *sp_batch_path_problem(const char *path, size_t len);

/* 1 if the name (one component) is reserved for the consumer's helpers. */
int sp_batch_reserved(const char *name);

/* The name of a helper file of the file (run, seq): SP_BATCH_RESERVED
 * "<run>-<seq>" ext, in buf (size bytes; 64 is always enough). */
void sp_batch_tmp_name(char *buf, size_t size, uint64_t run, uint64_t seq, const char *ext);

/* Returns a static name for a record type ("file", "part", ...), "?" if unknown. */
const char *sp_batch_type_name(unsigned type);

/*
 * XXH64, the 64-bit xxHash of Yann Collet (the same function as `xxhsum -H1`
 * and XXH64() of the xxHash library), written from its specification.
 * Streaming use: init, update any number of times, digest (which does not
 * change the state).  One-shot: sp_batch_hash64().
 */
struct sp_batch_hash {
	uint64_t total;
	uint64_t v[4];
	unsigned char buf[32];
	unsigned buffered;
};
void sp_batch_hash_init(struct sp_batch_hash *h, uint64_t seed);
void sp_batch_hash_update(struct sp_batch_hash *h, const void *data, size_t len);
uint64_t sp_batch_hash_digest(const struct sp_batch_hash *h);
uint64_t sp_batch_hash64(const void *data, size_t len, uint64_t seed);

/*
 * The checksum of a file sent in parts (the END record's file_hash) is a
 * one-level tree hash: XXH64, seed 0, of the parts' XXH64 checksums, each
 * as 8 little-endian bytes, in part order.  Every part is checked against
 * its own checksum when it arrives, so this one proves that the parts put
 * together are exactly the ones sent, in order, with no part read back.
 * Start with sp_batch_hash_init(h, 0), add each part's checksum in order,
 * then sp_batch_hash_digest().
 */
void sp_batch_tree_add(struct sp_batch_hash *h, uint64_t part_hash);

#endif

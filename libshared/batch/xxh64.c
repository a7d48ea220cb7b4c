/* xxh64.c: XXH64, the 64-bit xxHash, written from its specification (xxhash.h, v0.8). */
#include "batch.h"

#include <string.h>

/* liblz4 keeps its xxHash symbols private, so the pipeline carries its own
 * copy.  Test vectors: XXH64("", 0) = 0xEF46DB3751D8E999,
 * XXH64("abc", 0) = 0x44BC2CF5AD770999 (checked in tests/tool_batch.c). */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/* Little-endian loads through memcpy: no alignment assumption, and the
 * compiler turns them into single moves on little-endian machines. */
static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t round1(uint64_t acc, uint64_t input)
{
	acc += input * P2;
	acc = rotl(acc, 31);
	return acc * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t val)
{
	acc ^= round1(0, val);
	return acc * P1 + P4;
}

void sp_batch_hash_init(struct sp_batch_hash *h, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	h->v[0] = seed + P1 + P2;
	h->v[1] = seed + P2;
	h->v[2] = seed;
	h->v[3] = seed - P1;
}

/* Consumes whole 32-byte stripes; returns how many bytes it used. */
static size_t stripes(uint64_t v[4], const unsigned char *p, size_t len)
{
	uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
	size_t n = 0;

	for (; n + 32 <= len; n += 32) {
		a = round1(a, rd64(p + n));
		b = round1(b, rd64(p + n + 8));
		c = round1(c, rd64(p + n + 16));
		d = round1(d, rd64(p + n + 24));
	}
	v[0] = a;
	v[1] = b;
	v[2] = c;
	v[3] = d;
	return n;
}

void sp_batch_hash_update(struct sp_batch_hash *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len == 0)
		return;
	h->total += len;
	if (h->buffered) {
		size_t take = 32 - h->buffered;

		if (take > len)
			take = len;
		memcpy(h->buf + h->buffered, p, take);
		h->buffered += (unsigned)take;
		p += take;
		len -= take;
		if (h->buffered < 32)
			return;
		stripes(h->v, h->buf, 32);
		h->buffered = 0;
	}
	size_t used = stripes(h->v, p, len);

	p += used;
	len -= used;
	if (len) {
		memcpy(h->buf, p, len);
		h->buffered = (unsigned)len;
	}
}

uint64_t sp_batch_hash_digest(const struct sp_batch_hash *h)
{
	const unsigned char *p = h->buf, *end = h->buf + h->buffered;
	uint64_t acc;

	if (h->total >= 32) {
		acc = rotl(h->v[0], 1) + rotl(h->v[1], 7) + rotl(h->v[2], 12) + rotl(h->v[3], 18);
		acc = merge(acc, h->v[0]);
		acc = merge(acc, h->v[1]);
		acc = merge(acc, h->v[2]);
		acc = merge(acc, h->v[3]);
	} else {
		acc = h->v[2] + P5;     /* v[2] holds the seed untouched */
	}
	acc += h->total;
	for (; p + 8 <= end; p += 8) {
		acc ^= round1(0, rd64(p));
		acc = rotl(acc, 27) * P1 + P4;
	}
	if (p + 4 <= end) {
		acc ^= (uint64_t)rd32(p) * P1;
		acc = rotl(acc, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++) {
		acc ^= (*p) * P5;
		acc = rotl(acc, 11) * P1;
	}
	acc ^= acc >> 33;
	acc *= P2;
	acc ^= acc >> 29;
	acc *= P3;
	acc ^= acc >> 32;
	return acc;
}

uint64_t sp_batch_hash64(const void *data, size_t len, uint64_t seed)
{
	struct sp_batch_hash h;

	sp_batch_hash_init(&h, seed);
	sp_batch_hash_update(&h, data, len);
	return sp_batch_hash_digest(&h);
}

void sp_batch_tree_add(struct sp_batch_hash *h, uint64_t part_hash)
{
	unsigned char le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(part_hash >> (8 * i));
	sp_batch_hash_update(h, le, sizeof(le));
}

/* record.h: how a benchmark record proves its identity (a stamp at each end) and, on the zero-copy paths, carries a payload filled and summed in full. */
#ifndef BENCH_RECORD_H
#define BENCH_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A record's identity is one 64-bit word: the producer's index in the top
 * byte, its sequence number (from 1) below.  The word is stored in the
 * record's first 8 bytes and, when it has 16 or more, its complement in the
 * last 8, so that a lost, repeated, reordered or torn record fails the check
 * and zeroed memory never passes.  Records are at least 8 bytes.
 *
 * The copying paths stamp and check only those 16 bytes: the transport
 * itself moves every byte between.  The zero-copy paths have nothing to
 * move the payload for them, so the producer fills all of it in place (one
 * byte value per record, by memset) and the consumer reads all of it (a
 * sum of 64-bit words, compared with what that byte value gives): their GB/s
 * is then bytes written by one process and read by another, comparable with
 * a copy's.
 */
#define REC_PRODUCER_SHIFT 56
#define REC_SEQ_MASK ((UINT64_C(1) << REC_PRODUCER_SHIFT) - 1)

static inline uint64_t rec_word(unsigned producer, uint64_t seq)
{
	return (uint64_t)producer << REC_PRODUCER_SHIFT | seq;
}

static inline void rec_stamp(unsigned char *p, size_t size, uint64_t word)
{
	memcpy(p, &word, 8);
	if (size >= 16) {
		uint64_t inv = ~word;

		memcpy(p + size - 8, &inv, 8);
	}
}

/* The fill byte of a record: never zero, different from the previous
 * record's of the same producer. */
static inline unsigned char rec_byte(uint64_t word)
{
	return (unsigned char)(0x80 | ((word ^ word >> REC_PRODUCER_SHIFT) & 0x7f));
}

/* Fills the whole record in place: the body, then the stamps. */
static inline void rec_fill(unsigned char *p, size_t size, uint64_t word)
{
	if (size > 16)
		memset(p + 8, rec_byte(word), size - 16);
	rec_stamp(p, size, word);
}

/* Reads len bytes: the sum of its 64-bit words (unaligned loads), then of
 * the bytes left over.  Four sums, so that the loads are not chained. */
static inline uint64_t rec_sum(const unsigned char *p, size_t len)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, w0, w1, w2, w3;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		memcpy(&w0, p + i, 8);
		memcpy(&w1, p + i + 8, 8);
		memcpy(&w2, p + i + 16, 8);
		memcpy(&w3, p + i + 24, 8);
		s0 += w0;
		s1 += w1;
		s2 += w2;
		s3 += w3;
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w0, p + i, 8);
		s0 += w0;
	}
	for (; i < len; i++)
		s1 += p[i];
	return s0 + s1 + s2 + s3;
}

/* The stamps are right.  Returns 1 or 0. */
static inline int rec_ends_ok(const unsigned char *p, size_t size, uint64_t word)
{
	uint64_t head, tail = ~word;

	memcpy(&head, p, 8);
	if (size >= 16)
		memcpy(&tail, p + size - 8, 8);
	return head == word && tail == ~word;
}

/* Reads the whole body of a record filled by rec_fill(word).  Returns 1 if
 * it sums to what it should, 0 if not. */
static inline int rec_body_ok(const unsigned char *p, size_t size, uint64_t word)
{
	uint64_t b, len, want;

	if (size <= 16)
		return 1;
	b = rec_byte(word);
	len = size - 16;
	want = (len / 8) * (b * UINT64_C(0x0101010101010101)) + (len % 8) * b;
	return rec_sum(p + 8, (size_t)len) == want;
}

/* The sum and the sum of squares of 1..n (mod 2^64), against which the
 * parent checks the consumers' tallies: each factor is divided before the
 * product so that nothing is lost to the wrap-around. */
static inline uint64_t rec_sum1(uint64_t n)
{
	uint64_t a = n, b = n + 1;

	if (a % 2 == 0)
		a /= 2;
	else
		b /= 2;
	return a * b;
}

static inline uint64_t rec_sum2(uint64_t n)
{
	uint64_t f[3] = { n, n + 1, 2 * n + 1 };

	for (int i = 0; i < 3; i++) {
		if (f[i] % 2 == 0) {
			f[i] /= 2;
			break;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (f[i] % 3 == 0) {
			f[i] /= 3;
			break;
		}
	}
	return f[0] * f[1] * f[2];
}

#endif

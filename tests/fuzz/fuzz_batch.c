/* fuzz_batch.c: libFuzzer target: the file-batch record decoder, on bytes as hostile as a peer's. */
/*
 * sp_batch_decode() must never read outside its input, and whatever it
 * accepts must be safe to act on: a path sp_batch_path_check() accepts,
 * lengths inside the buffer, fields consistent with the type.  An accepted
 * record re-encodes to a record that decodes to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_batch_rec rec;
	unsigned char *copy, *again;
	long long n;

	/* A private copy, so that AddressSanitizer sees the exact bounds. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (sp_batch_decode(copy, size, &rec) == 0) {
		const unsigned char *p = (const unsigned char *)rec.path;
		const unsigned char *d = rec.data;

		if (p < copy || p + rec.path_len > copy + size ||
		    (rec.data_len && (d < copy || d + rec.data_len > copy + size)))
			abort();
		if (sp_batch_path_check(rec.path, rec.path_len) != 0)
			abort();
		n = sp_batch_size(rec.path_len, rec.data_len);
		again = n > 0 ? malloc((size_t)n) : NULL;
		if (again) {
			struct sp_batch_rec back;

			if (sp_batch_encode(&rec, again, (size_t)n) != n ||
			    sp_batch_decode(again, (size_t)n, &back) != 0 ||
			    back.type != rec.type || back.flags != rec.flags ||
			    back.size != rec.size || back.offset != rec.offset ||
			    back.path_len != rec.path_len || back.data_len != rec.data_len ||
			    memcmp(back.path, rec.path, rec.path_len) != 0 ||
			    (rec.data_len && memcmp(back.data, rec.data, rec.data_len) != 0))
				abort();
			free(again);
		}
	}
	free(copy);
	return 0;
}

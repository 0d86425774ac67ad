/*
 * fuzz_percent_decode.c
 *	  libFuzzer target: percent_decode() with '+' as a space and without.
 *
 *	  Invariants: the output is never longer than the input, is
 *	  terminated, holds no NUL byte, and decoding something without '%'
 *	  (and without '+' as space) gives it back unchanged.
 */
#include "fuzz_common.h"
#include "http/request.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly size bytes, not terminated: percent_decode takes a length. */
	char	   *in = malloc(size ? size : 1);
	char	   *out = malloc(size + 1);

	if (in == NULL || out == NULL)
		abort();
	memcpy(in, data, size);
	for (int plus = 0; plus <= 1; plus++)
	{
		long		n = percent_decode(in, size, plus, out);

		if (n < 0)
		{
			FUZZ_ASSERT(n == -1, "failure is -1");
			continue;
		}
		FUZZ_ASSERT((size_t) n <= size, "never longer than the input");
		FUZZ_ASSERT(out[n] == '\0', "terminated");
		FUZZ_ASSERT(memchr(out, '\0', (size_t) n) == NULL, "no NUL byte inside");
		if (memchr(in, '%', size) == NULL && (!plus || memchr(in, '+', size) == NULL))
			FUZZ_ASSERT((size_t) n == size && memcmp(in, out, size) == 0, "identity without escapes");
	}
	free(in);
	free(out);
	return 0;
}

/* Fuzz the Range parser against several file sizes: a partial answer must
 * always lie inside the file, whatever the header says. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t sizes[] = {0, 1, 1000, 1u << 20, (uint64_t)INT64_MAX};
    char *h = malloc(size + 1);
    if (h == NULL)
        return 0;
    memcpy(h, data, size);
    h[size] = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t start = 0, len = 0;
        range_result r = range_parse(h, sizes[i], &start, &len);
        if (r == RANGE_PARTIAL && (len == 0 || start >= sizes[i] || len > sizes[i] - start))
            abort();
        r = range_decide(h, "\"0123456789abcdef\"", "\"0123456789abcdef\"", sizes[i], &start, &len);
        if (r == RANGE_PARTIAL && (len == 0 || start >= sizes[i] || len > sizes[i] - start))
            abort();
    }
    free(h);
    return 0;
}

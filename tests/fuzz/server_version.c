/* Fuzz CORE.X.Z parsing: bounded parts, canonical text round trip, and the
 * script rule's consistency with version_cmp. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    of_version v;
    if (version_parse((const char *)data, size, &v) != VERSION_OK)
        return 0;
    if (v.core > VERSION_CORE_MAX || v.x > VERSION_PART_MAX || v.z > VERSION_PART_MAX)
        abort();
    char buf[VERSION_TEXT_MAX];
    version_format(&v, buf, sizeof buf);
    of_version w;
    if (version_parse(buf, strlen(buf), &w) != VERSION_OK || version_cmp(&v, &w) != 0)
        abort();
    if (version_script_upgrade(v.x, v.z, v.x, v.z))
        abort(); /* never an upgrade to itself */
    return 0;
}

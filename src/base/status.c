/* status.c - text for koto's own status codes; everything else goes to APR. */
#include "kt_base.h"

#include <apr_strings.h>

const char *kt_strerror(apr_status_t st, char *buf, size_t len)
{
    static const char *const texts[] = {
        [KT_EPARSE - KT_ESTART] = "malformed input",
        [KT_ETOOBIG - KT_ESTART] = "input exceeds its limit",
        [KT_ECONF - KT_ESTART] = "invalid configuration value",
        [KT_ESTATE - KT_ESTART] = "operation not valid in this state",
        [KT_ENOTFOUND - KT_ESTART] = "not found",
        [KT_EINPUT - KT_ESTART] = "invalid input",
        [KT_EUNAVAIL - KT_ESTART] = "not available now",
        [KT_EBUDGET - KT_ESTART] = "instruction budget exhausted",
        [KT_EMEMCAP - KT_ESTART] = "memory cap hit",
        [KT_ESCRIPT - KT_ESTART] = "script error",
    };
    if (st > KT_ESTART && st - KT_ESTART < (apr_status_t)KT_ARRAY_SIZE(texts) &&
        texts[st - KT_ESTART]) {
        apr_cpystrn(buf, texts[st - KT_ESTART], len);
        return buf;
    }
    return apr_strerror(st, buf, len);
}

/*
 * gzip_none.c - a build without zlib (Windows): answers are never gzipped,
 * whatever the client accepts.
 */
#include "api_internal.h"

int kt__gzip_able(void) { return 0; }

char *kt__gzip_page(const char *text, size_t len, size_t *out_len)
{
    (void)text;
    (void)len;
    (void)out_len;
    return NULL;
}

void kt__gzip_parts(const char *lines, size_t lines_len, const char *page, size_t page_len,
                    kt_http_part_t parts[3], apr_pool_t *pool)
{
    (void)lines;
    (void)lines_len;
    (void)page;
    (void)page_len;
    (void)parts;
    (void)pool;
}

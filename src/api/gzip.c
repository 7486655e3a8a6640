/*
 * gzip.c - /metrics in gzip (RFC 1952) for the scrapers that ask for it, as
 * Prometheus does at every scrape: a page of 50 KB leaves as about a tenth
 * of that, as node_exporter's does.
 *
 * The page is deflated once per reading and kept (kt__gzip_page). What
 * changes per answer (the HTTP counters, node_time_seconds) goes in front
 * of it as stored, uncompressed deflate blocks, so no compressor runs per
 * answer: a deflate stream may mix stored and compressed blocks, and the
 * page's stream, made on its own, refers back to nothing before it. The
 * trailer's CRC-32 is the two parts' combined (crc32_combine).
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define STORED_MAX 65535u /* a stored block's length is 16 bits */
#define KEPT_HEAD 8       /* the page's CRC-32 and length, before its stream */

/* Fastest: a page is made at each reading scraped. kotod's 50 KB page
 * comes to 9.7 KB in 0.3 ms at 1, 8.5 KB in 0.8 ms at 6. */
#define LEVEL 1

int kt__gzip_able(void) { return 1; }

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

char *kt__gzip_page(const char *text, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* Raw deflate (negative window bits): the gzip header and trailer are
     * written per answer, around the lines that go in front. */
    if (deflateInit2(&z, LEVEL, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong bound = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(KEPT_HEAD + bound + 1); /* +1: the cache's NUL */
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)len;
    z.next_out = out + KEPT_HEAD;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    put_le32(out, (uint32_t)crc32(0L, (const Bytef *)text, (uInt)len));
    put_le32(out + 4, (uint32_t)len);
    *out_len = KEPT_HEAD + n;
    return (char *)out;
}

void kt__gzip_parts(const char *lines, size_t lines_len, const char *page, size_t page_len,
                    kt_http_part_t parts[3], apr_pool_t *pool)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
    size_t blocks = (lines_len + STORED_MAX - 1) / STORED_MAX;
    unsigned char *lead = apr_palloc(pool, sizeof header + 5 * blocks + lines_len), *p = lead;
    memcpy(p, header, sizeof header);
    p += sizeof header;
    for (size_t at = 0; at < lines_len;) {
        size_t n = lines_len - at < STORED_MAX ? lines_len - at : STORED_MAX;
        *p++ = 0; /* not the last block, stored; the rest of the byte is padding */
        p[0] = (unsigned char)n, p[1] = (unsigned char)(n >> 8);
        p[2] = (unsigned char)~n, p[3] = (unsigned char)(~n >> 8);
        p += 4;
        memcpy(p, lines + at, n);
        p += n;
        at += n;
    }
    const unsigned char *kept = (const unsigned char *)page;
    uint32_t page_crc = get_le32(kept), page_size = get_le32(kept + 4);
    unsigned char *trailer = apr_palloc(pool, 8);
    uLong crc = crc32(0L, (const Bytef *)lines, (uInt)lines_len);
    put_le32(trailer, (uint32_t)crc32_combine(crc, page_crc, (z_off_t)page_size));
    put_le32(trailer + 4, (uint32_t)(lines_len + page_size));
    parts[0] = (kt_http_part_t){.data = (const char *)lead, .len = (apr_size_t)(p - lead)};
    parts[1] = (kt_http_part_t){.data = page + KEPT_HEAD, .len = page_len - KEPT_HEAD};
    parts[2] = (kt_http_part_t){.data = (const char *)trailer, .len = 8};
}

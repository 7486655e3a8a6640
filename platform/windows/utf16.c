/*
 * utf16.c - kt_sys.h's conversions: koto's strings are UTF-8 (APR hands main() UTF-8 arguments
 * on Windows too); Win32's wide calls want UTF-16. Strict both ways: text
 * that is not valid is refused, never silently altered, since it is mostly
 * paths and a changed path names another file.
 */
#include "win.h"
#include "kt_sys.h"

#include <limits.h>

#include <apr_pools.h>

wchar_t *kt_utf16(const char *utf8, apr_pool_t *pool)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = apr_palloc(pool, (apr_size_t)n * sizeof *w);
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n) == n ? w : NULL;
}

char *kt_utf8(const wchar_t *utf16, apr_pool_t *pool)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, utf16, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *s = apr_palloc(pool, (apr_size_t)n);
    return WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, utf16, -1, s, n, NULL, NULL) == n
               ? s
               : NULL;
}

/* Names the system hands us (processes, interfaces, volumes) are shown, not
 * used as paths: an unpaired surrogate is replaced rather than the name lost. */
const char *kt__win_utf8(const wchar_t *w, apr_pool_t *pool)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return "";
    char *out = apr_palloc(pool, (apr_size_t)n);
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, n, NULL, NULL) <= 0)
        return "";
    return out;
}

const char *kt__win_utf8n(const wchar_t *w, size_t n, apr_pool_t *pool)
{
    if (n == 0 || n > INT_MAX / 4)
        return "";
    int len = WideCharToMultiByte(CP_UTF8, 0, w, (int)n, NULL, 0, NULL, NULL);
    if (len <= 0)
        return "";
    char *out = apr_palloc(pool, (apr_size_t)len + 1);
    if (WideCharToMultiByte(CP_UTF8, 0, w, (int)n, out, len, NULL, NULL) != len)
        return "";
    out[len] = '\0';
    return out;
}

/*
 * paths.c - where kotod lives on Windows (Windows conventions: state under
 * %ProgramData%\koto, the shipped files beside kotod.exe).
 */
#include "kt_win32.h"

#include <stdio.h>
#include <stdlib.h>

#include <apr_strings.h>

wchar_t *kt_win_exe_path(apr_pool_t *pool)
{
    /* GetModuleFileNameW truncates silently; grow until it fits. */
    for (DWORD size = MAX_PATH;; size *= 2) {
        wchar_t *path = apr_palloc(pool, size * sizeof *path);
        DWORD n = GetModuleFileNameW(NULL, path, size);
        if (n == 0)
            return NULL;
        if (n < size)
            return path;
    }
}

const char *kt_win_error(DWORD err, apr_pool_t *pool)
{
    wchar_t buf[256];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             err, 0, buf, KT_ARRAY_SIZE(buf), NULL);
    while (n > 0 && (buf[n - 1] == L'\r' || buf[n - 1] == L'\n' || buf[n - 1] == L'.'))
        buf[--n] = 0;
    const char *text = n ? kt_utf8(buf, pool) : NULL;
    return apr_psprintf(pool, "%s (error %lu)", text ? text : "unknown error", (unsigned long)err);
}

/* The directory kotod.exe is in, UTF-8, without a trailing separator. */
static const char *exe_dir(apr_pool_t *pool)
{
    wchar_t *path = kt_win_exe_path(pool);
    char *dir = path ? kt_utf8(path, pool) : NULL;
    char *slash = dir ? strrchr(dir, '\\') : NULL;
    if (!slash)
        return ".";
    *slash = '\0';
    return dir;
}

const char *kt_default_lua_dir(apr_pool_t *pool)
{
    return apr_pstrcat(pool, exe_dir(pool), "\\lua", NULL);
}

const char *kt_default_web_dir(apr_pool_t *pool)
{
    return apr_pstrcat(pool, exe_dir(pool), "\\web", NULL);
}

const char *kt_default_tls_module(apr_pool_t *pool)
{
    (void)pool;
    return NULL; /* kotod.exe links its TLS */
}

const char *kt_default_config_file(apr_pool_t *pool)
{
    (void)pool;
    return NULL; /* lua\\koto.conf.lua beside kotod.exe */
}

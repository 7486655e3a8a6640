/*
 * quote.c - one value as one literal word of a shell dialect. This is the
 * only way a request's value reaches a generated script.
 *
 * Bash: inside single quotes nothing is special but the quote itself, which
 * is written as '\'' (close, escaped quote, reopen). Newlines stay literal.
 * PowerShell: inside single quotes nothing is special but the quote, which
 * is doubled; PowerShell also takes the typographic quotes U+2018..U+201B
 * as single quotes, so those are doubled too.
 * NUL cannot be carried by either, and invalid UTF-8 is refused rather
 * than guessed at.
 */
#include "rules_internal.h"

#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left || (n == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong forms (E0 80 A7 would decode to ' in a lax reader), UTF-16
     * surrogates and code points past U+10FFFF are not UTF-8 either. */
    if ((n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))) ||
        (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F) || s[0] > 0xF4)))
        return 0;
    return n;
}

/* U+2018 LEFT, U+2019 RIGHT, U+201A LOW-9, U+201B HIGH-REVERSED-9 SINGLE QUOTATION MARK */
static int ps_quote_char(const unsigned char *s, size_t n)
{
    return n == 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] >= 0x98 && s[2] <= 0x9B;
}

char *kt_rules_quote(kt_dialect_t dialect, const char *value, apr_size_t len)
{
    /* Worst case: every byte becomes four (bash's '\'' for '). */
    char *out = malloc(len * 4 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '\'';
    const unsigned char *s = (const unsigned char *)value;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(s + i, len - i);
        if (n == 0 || s[i] == '\0') {
            free(out);
            return NULL;
        }
        if (s[i] == '\'') {
            if (dialect == KT_DIALECT_BASH) {
                memcpy(out + o, "'\\''", 4);
                o += 4;
            } else {
                out[o++] = '\'';
                out[o++] = '\'';
            }
            i++;
            continue;
        }
        if (dialect == KT_DIALECT_POWERSHELL && ps_quote_char(s + i, n)) {
            memcpy(out + o, s + i, n);
            o += n;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

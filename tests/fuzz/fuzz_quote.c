/*
 * fuzz_quote.c - libFuzzer target: bytes as one request value through the
 * quoting that is the only way such a value reaches a generated script
 * (kt_rules_quote, src/rules/quote.c), in both dialects.
 *
 * Properties, for every input:
 *  - it is refused (NULL) exactly when it holds a NUL or is not UTF-8, in
 *    both dialects; jansson's UTF-8 check is the independent judge;
 *  - Bash: bash itself runs `printf '%s\0' <quoted>` and must print the
 *    value byte for byte, as one word (a second word would print a second
 *    NUL), and nothing else (see bash_judge.h);
 *  - PowerShell (there is no pwsh to ask): the quoted text read back by
 *    PowerShell's rule for single-quoted strings, where any of ' U+2018
 *    U+2019 U+201A U+201B ends the string unless another of them follows
 *    (the pair standing for one), must end at its last byte and give the
 *    value back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bash_judge.h"
#include "kt_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const uint8_t *value, size_t size, const char *quoted)
{
    fprintf(stderr, "fuzz_quote: %s\nvalue (%zu bytes): ", what, size);
    for (size_t i = 0; i < size; i++)
        fprintf(stderr, "%02x", value[i]);
    fprintf(stderr, "\nquoted: %s\n", quoted ? quoted : "(refused)");
    abort();
}

/* Bytes of the PowerShell single quote at p (', U+2018..U+201B), or 0. */
static size_t ps_quote_at(const char *p, size_t left)
{
    const unsigned char *s = (const unsigned char *)p;
    if (left >= 1 && s[0] == '\'')
        return 1;
    if (left >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] >= 0x98 && s[2] <= 0x9B)
        return 3;
    return 0;
}

/* What PowerShell reads from the single-quoted string q; NULL when the
 * string ends before q does or q is not one. */
static char *ps_unquote(const char *q, size_t *len)
{
    size_t n = strlen(q), o = 0;
    if (n < 2 || q[0] != '\'')
        return NULL;
    char *out = malloc(n);
    for (size_t i = 1; i < n;) {
        size_t k = ps_quote_at(q + i, n - i);
        if (!k) {
            out[o++] = q[i++];
            continue;
        }
        size_t k2 = ps_quote_at(q + i + k, n - i - k);
        if (!k2) { /* the closing quote: it must be the last byte */
            if (i + k != n)
                break;
            *len = o;
            return out;
        }
        memcpy(out + o, q + i + k, k2);
        o += k2;
        i += k + k2;
    }
    free(out);
    return NULL;
}

static void check_bash(const uint8_t *value, size_t size, const char *q)
{
    static const char cmd[] = "printf '%s\\0' ";
    size_t qlen = strlen(q), outlen;
    char *code = malloc(sizeof cmd + qlen);
    memcpy(code, cmd, sizeof cmd - 1);
    memcpy(code + sizeof cmd - 1, q, qlen + 1);
    char *out = bash_judge_run(code, sizeof cmd - 1 + qlen, &outlen);
    if (outlen != size + 1 || memcmp(out, value, size) != 0 || out[size] != '\0')
        broken("bash printed something else than the value, as one word", value, size, q);
    free(out);
    free(code);
}

static void check_powershell(const uint8_t *value, size_t size, const char *q)
{
    size_t len;
    char *back = ps_unquote(q, &len);
    if (!back || len != size || memcmp(back, value, size) != 0)
        broken("PowerShell would read something else than the value", value, size, q);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *utf8 = json_stringn((const char *)data, size); /* NULL: not UTF-8 */
    int refuse = !utf8 || memchr(data, '\0', size) != NULL;
    json_decref(utf8);

    char *bash = kt_rules_quote(KT_DIALECT_BASH, (const char *)data, size);
    char *ps = kt_rules_quote(KT_DIALECT_POWERSHELL, (const char *)data, size);
    if ((bash == NULL) != refuse)
        broken(refuse ? "Bash quoting took a value it must refuse"
                      : "Bash quoting refused a UTF-8 value without NUL",
               data, size, bash);
    if ((ps == NULL) != refuse)
        broken(refuse ? "PowerShell quoting took a value it must refuse"
                      : "PowerShell quoting refused a UTF-8 value without NUL",
               data, size, ps);
    if (bash)
        check_bash(data, size, bash);
    if (ps)
        check_powershell(data, size, ps);
    free(bash);
    free(ps);
    return 0;
}

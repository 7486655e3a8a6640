/*
 * test_trim.c - kt_sys_release_start_pages on this test's own memory: the
 * read-only pages of a file leave the RSS, a private page that was written
 * keeps what was written, and the code still runs afterwards.
 */
#include "kt_test_util.h"

#include "kt_sys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 16

/* The Rss in kB that /proc/self/smaps gives the mapping starting at addr. */
static unsigned long mapping_rss_kb(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int in = 0;
    unsigned long kb = (unsigned long)-1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3) { /* a mapping's first line */
            in = lo == (unsigned long)(uintptr_t)addr;
            continue;
        }
        if (in && !strncmp(line, "Rss:", 4)) {
            kb = strtoul(line + 4, NULL, 10);
            break;
        }
    }
    fclose(f);
    assert_true(kb != (unsigned long)-1);
    return kb;
}

/* A file of PAGES pages of 'f', mapped private and read-only, every page
 * touched; and a second mapping of it where one page was written before the
 * mapping was made read-only, as the dynamic linker does with relocations. */
static void test_release(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)page * PAGES;
    char path[] = "/tmp/kt-test-trim-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    char *bytes = malloc(len);
    assert_non_null(bytes);
    memset(bytes, 'f', len);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    free(bytes);

    char *ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    char *relro = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    assert_true(ro != MAP_FAILED && relro != MAP_FAILED);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i += (size_t)page)
        sum += (unsigned char)ro[i] + (unsigned char)relro[i];
    assert_int_equal(sum, 2u * 'f' * PAGES);
    relro[page] = 'w';
    assert_int_equal(mprotect(relro, len, PROT_READ), 0);
    assert_true(mapping_rss_kb(ro) >= (unsigned long)(len / 1024));

    apr_size_t released = kt_sys_release_start_pages();
    assert_true(released >= len);
    assert_int_equal(mapping_rss_kb(ro), 0);
    /* Still readable, from the page cache. */
    assert_int_equal(ro[page * 3], 'f');
    /* The written copy is not the file's bytes: that mapping is kept whole. */
    assert_int_equal(relro[page], 'w');
    assert_true(mapping_rss_kb(relro) >= (unsigned long)(len / 1024));

    /* Code that ran before and code not yet run both still run. */
    char out[32];
    snprintf(out, sizeof out, "%.3f", strtod("2.5e-1", NULL));
    assert_string_equal(out, "0.250");
    munmap(ro, len);
    munmap(relro, len);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

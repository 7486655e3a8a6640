/*
 * test_sealed.c - kt_sys_sealed_file and kt_sys_sealed_send on Linux: the
 * file holds the bytes and refuses any change, and a send puts the pieces
 * and then the file's range on a socket, in order, resuming where it
 * stopped when the socket is full.
 */
#include "kt_test_util.h"

#include "kt_sys.h"

#include <apr_general.h>
#include <apr_portable.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LEN (300 * 1024) /* more than a socket pair's buffer */

static char data[LEN];

static void test_sealed_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < LEN; i++)
        data[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    int fd = kt_sys_sealed_file(data, LEN);
    assert_true(fd > 0);
    assert_int_equal(lseek(fd, 0, SEEK_END), LEN);
    char back[64];
    assert_int_equal(pread(fd, back, sizeof back, 4000), sizeof back);
    assert_memory_equal(back, data + 4000, sizeof back);
    /* No write, no truncation, no growth, and no taking the seals off. */
    assert_int_equal(pwrite(fd, "x", 1, 0), -1);
    assert_int_equal(ftruncate(fd, 10), -1);
    assert_int_equal(ftruncate(fd, 2 * LEN), -1);
    assert_int_equal(fcntl(fd, F_ADD_SEALS, 0), -1);
    kt_sys_sealed_close(fd);
}

static void test_sealed_send(void **state)
{
    (void)state;
    apr_pool_t *pool;
    assert_int_equal(apr_pool_create(&pool, NULL), APR_SUCCESS);
    int fd = kt_sys_sealed_file(data, LEN);
    assert_true(fd > 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    apr_socket_t *sock = NULL;
    assert_int_equal(apr_os_sock_put(&sock, &sv[0], pool), APR_SUCCESS);

    /* The head, then the file from offset 100: what arrives is both, in
     * order. The head is small, so the first call sends all of it. */
    static const char h1[] = "HEAD", h2[] = "ER:\n";
    struct iovec head[2] = {{(void *)h1, 4}, {(void *)h2, 4}};
    const apr_size_t off = 100, want = 8 + LEN - off;
    char *got = malloc(want);
    assert_non_null(got);
    apr_size_t n = 0;
    assert_int_equal(kt_sys_sealed_send(sock, head, 2, fd, (apr_off_t)off, LEN - off, &n),
                     APR_SUCCESS);
    assert_true(n > 8 && n < want); /* the head and some of the file: the socket filled */
    apr_size_t sent = n, recvd = 0;
    int blocked = 0;
    while (recvd < want) {
        if (sent < want) {
            apr_size_t done = sent - 8;
            apr_status_t rv = kt_sys_sealed_send(sock, NULL, 0, fd, (apr_off_t)(off + done),
                                                 LEN - off - done, &n);
            if (rv == APR_EAGAIN) {
                assert_int_equal(n, 0);
                blocked = 1;
            } else {
                assert_int_equal(rv, APR_SUCCESS);
            }
            sent += n;
        }
        ssize_t r = read(sv[1], got + recvd, want - recvd);
        assert_true(r > 0);
        recvd += (apr_size_t)r;
    }
    assert_true(blocked); /* the socket was full once: it said so and resumed */
    assert_memory_equal(got, "HEADER:\n", 8);
    assert_memory_equal(got + 8, data + off, LEN - off);
    free(got);
    close(sv[1]);
    /* The peer gone: an error, not a signal. */
    apr_status_t rv = kt_sys_sealed_send(sock, head, 2, fd, 0, LEN, &n);
    assert_true(rv != APR_SUCCESS && rv != APR_EAGAIN);
    close(sv[0]);
    kt_sys_sealed_close(fd);
    apr_pool_destroy(pool);
}

int main(void)
{
    apr_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_file),
        cmocka_unit_test(test_sealed_send),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}

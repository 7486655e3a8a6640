/* bash_judge.c - see bash_judge.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addchdir_np */
#endif
#include "bash_judge.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 10000

static char *const bash_env[] = {"PATH=/nonexistent", "LC_ALL=C.UTF-8", NULL};
static char workdir[] = "/tmp/koto-fuzz-bash-XXXXXX";

static pid_t shell = -1;
static int to_shell = -1, from_shell = -1;
static unsigned long serial;

static void die(const char *what)
{
    fprintf(stderr, "bash_judge: %s (%s)\n", what, errno ? strerror(errno) : "");
    abort();
}

static void remove_workdir(void) { rmdir(workdir); }

/* Spawns bash with args, stdin from in_fd, stdout to out_fd (-1: inherited). */
static pid_t spawn_bash(char *const args[], int in_fd, int out_fd, int close1, int close2)
{
    static int ready;
    if (!ready++) {
        if (!mkdtemp(workdir))
            die("cannot make a working directory");
        atexit(remove_workdir);
        signal(SIGPIPE, SIG_IGN); /* a shell that went away shows as EPIPE */
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (close1 >= 0)
        posix_spawn_file_actions_addclose(&fa, close1);
    if (close2 >= 0)
        posix_spawn_file_actions_addclose(&fa, close2);
    posix_spawn_file_actions_addchdir_np(&fa, workdir);
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/bash", &fa, NULL, args, bash_env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        die("cannot start /bin/bash");
    }
    return pid;
}

static void start_shell(void)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        die("pipe");
    static char *const args[] = {"bash", "--norc", "--noprofile", "-r", NULL};
    shell = spawn_bash(args, in[0], out[1], in[1], out[0]);
    close(in[0]);
    close(out[1]);
    to_shell = in[1];
    from_shell = out[0];
}

static void write_all(int fd, const char *p, size_t n, const char *what)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die(what);
        p += w;
        n -= (size_t)w;
    }
}

char *bash_judge_run(const char *code, size_t code_len, size_t *len)
{
    if (shell < 0)
        start_shell();
    /* After the code, a marker the code cannot print by accident: its
     * output is what comes before. Fuzzed values hold no NUL. */
    char marker[64], command[96];
    int mlen = snprintf(marker, sizeof marker, "%c-koto-judge-%lu-%c", 0, ++serial, 0);
    snprintf(command, sizeof command, "\nprintf '\\0-koto-judge-%lu-\\0'\n", serial);
    write_all(to_shell, code, code_len, "bash exited before reading the code");
    write_all(to_shell, command, strlen(command), "bash exited before reading the code");

    size_t cap = code_len + 256, n = 0;
    char *out = malloc(cap);
    for (;;) {
        if (n >= (size_t)mlen && memcmp(out + n - mlen, marker, (size_t)mlen) == 0)
            break;
        struct pollfd pfd = {from_shell, POLLIN, 0};
        int ready = poll(&pfd, 1, TIMEOUT_MS);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            errno = 0;
            fprintf(stderr, "bash_judge: code:\n%.*s\n", (int)code_len, code);
            die("bash did not finish the code within 10 s: an unclosed quote?");
        }
        if (n == cap && !(out = realloc(out, cap *= 2)))
            die("out of memory");
        ssize_t r = read(from_shell, out + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            errno = 0;
            fprintf(stderr, "bash_judge: code:\n%.*s\n", (int)code_len, code);
            die("bash exited while running the code");
        }
        n += (size_t)r;
    }
    *len = n - (size_t)mlen;
    return out;
}

int bash_judge_parses(const char *script, size_t len)
{
    int in[2];
    if (pipe2(in, O_CLOEXEC))
        die("pipe");
    static char *const args[] = {"bash", "--norc", "--noprofile", "-n", NULL};
    pid_t pid = spawn_bash(args, in[0], -1, in[1], -1);
    close(in[0]);
    /* A script bash refused early leaves the rest unread: EPIPE, not an error. */
    for (size_t off = 0; off < len;) {
        ssize_t w = write(in[1], script + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(in[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

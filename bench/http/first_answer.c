/*
 * first_answer.c - start-to-first-answer of an HTTP server, for bench/http/run.sh.
 *
 *   first_answer PORT COUNT PATH -- COMMAND [ARG...]
 *
 * COUNT times: checks that nothing answers on 127.0.0.1:PORT, takes the time,
 * forks and execs COMMAND (its stdout and stderr go to /dev/null), then polls
 * 127.0.0.1:PORT with "GET PATH" until a connection is accepted and the answer
 * starts with an HTTP 200 status line; takes the time again, stops the server
 * with SIGTERM (SIGKILL after 5 s) and reaps it. Between refused connects it
 * sleeps 50 us, so the poller leaves the CPU to the server it is waiting for
 * (the machine may have only 2 cores). Prints one line per start: the time in
 * milliseconds. Exits 1 if a start fails (the server dies, does not answer
 * 200 within 10 s, or the port is taken). On SIGTERM, SIGINT or SIGHUP it
 * stops the server it started (SIGTERM, then SIGKILL after 2 s) and dies
 * of the same signal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

/* Interrupted (the script's trap, or ^C): take the server down with us,
 * politely first (an nginx master stops its workers on SIGTERM, not on
 * SIGKILL). Only async-signal-safe calls. */
static void on_signal(int sig)
{
    pid_t pid = child;
    if (pid > 0) {
        kill(pid, SIGTERM);
        int gone = 0;
        for (int i = 0; i < 200 && !gone; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            gone = waitpid(pid, NULL, WNOHANG) == pid;
            if (!gone)
                nanosleep(&ts, NULL);
        }
        if (!gone) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The status line of an answer that was not 200, for the message. */
static char not_ok[64];

/* 1: answered 200; 0: nothing listening (or the connection was dropped
 * before an answer); -1: answered, but not 200 (its status line in not_ok). */
static int probe(const struct sockaddr_in *sa, const char *req)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("first_answer: socket");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc = 0;
    struct sockaddr_in me;
    socklen_t melen = sizeof me;
    /* A port in the ephemeral range can be our own connection's: TCP's
     * simultaneous open joins a socket to itself when nothing listens and
     * the kernel picks that port as the source, and the "answer" is our
     * own request. That is nothing listening yet. */
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 &&
        !(getsockname(fd, (struct sockaddr *)&me, &melen) == 0 && me.sin_port == sa->sin_port)) {
        size_t len = strlen(req), off = 0;
        while (off < len) {
            ssize_t n = write(fd, req + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        char buf[64];
        size_t got = 0;
        while (off == len && got < 12) {
            ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        buf[got] = '\0';
        if (got >= 12)
            rc = (strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0) ? 1 : -1;
        if (rc < 0)
            snprintf(not_ok, sizeof not_ok, "%.*s", (int)strcspn(buf, "\r\n"), buf);
    }
    close(fd);
    return rc;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 5000; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            child = 0;
            return;
        }
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    child = 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: first_answer PORT COUNT PATH -- COMMAND [ARG...]\n");
        return 2;
    }
    int port = atoi(argv[1]), count = atoi(argv[2]);
    if (port <= 0 || port > 65535 || count <= 0) {
        fprintf(stderr, "first_answer: bad PORT or COUNT\n");
        return 2;
    }
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
             argv[3], port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);

    for (int i = 0; i < count; i++) {
        if (probe(&sa, req) != 0) {
            fprintf(stderr, "first_answer: something already answers on port %d\n", port);
            return 1;
        }
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid < 0) {
            perror("first_answer: fork");
            return 1;
        }
        if (pid == 0) {
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            signal(SIGPIPE, SIG_DFL);
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
            execvp(argv[5], argv + 5);
            _exit(127);
        }
        child = pid;
        int rc;
        while ((rc = probe(&sa, req)) == 0) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                child = 0;
                fprintf(stderr, "first_answer: %s exited (status %d) before answering\n", argv[5],
                        status);
                return 1;
            }
            if (now_ms() - t0 > 10000) {
                fprintf(stderr, "first_answer: no answer within 10 s\n");
                stop(pid);
                return 1;
            }
            struct timespec ts = {0, 50 * 1000};
            nanosleep(&ts, NULL);
        }
        double t1 = now_ms();
        stop(pid);
        if (rc < 0) {
            fprintf(stderr, "first_answer: the first answer was not 200: %s\n", not_ok);
            return 1;
        }
        printf("%.3f\n", t1 - t0);
        fflush(stdout);
    }
    return 0;
}

/*
 * bench_idle.c - holds N extra idle processes for bench/run.sh.
 *
 *   bench_idle N PIDFILE
 *
 * Forks N children that sleep in pause(). Their pids go to PIDFILE, one per
 * line, written whole (temporary file, then rename) once all are running, so
 * the caller can wait for PIDFILE to appear and knows every pid to kill.
 * On SIGTERM, SIGINT or SIGHUP it kills and reaps every child and exits; it
 * gets SIGTERM when its own parent dies too. Each child asks the kernel for
 * SIGKILL when this process dies, so not even a SIGKILL of it (or of the
 * script above it) leaves them behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t *kids;
static unsigned nkids;

static void kill_all(void)
{
    for (unsigned i = 0; i < nkids; i++)
        kill(kids[i], SIGKILL);
    for (unsigned i = 0; i < nkids; i++)
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    nkids = 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: bench_idle N PIDFILE\n");
        return 2;
    }
    unsigned n = (unsigned)atoi(argv[1]);
    const char *pidfile = argv[2];

    /* Block the stop signals before the first fork; children unblock them. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &old);

    /* A SIGKILLed caller cannot clean up: then take its death as SIGTERM. */
    pid_t caller = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != caller)
        return 1;

    kids = calloc(n, sizeof *kids);
    if (!kids)
        return 1;
    pid_t parent = getpid();
    for (unsigned i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "bench_idle: fork %u of %u: %s\n", i + 1, n, strerror(errno));
            kill_all();
            return 1;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0); /* the parent died before prctl */
            sigprocmask(SIG_SETMASK, &old, NULL);
            for (;;)
                pause();
        }
        kids[nkids++] = pid;
    }

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "bench_idle: %s: %s\n", tmp, strerror(errno));
        kill_all();
        return 1;
    }
    for (unsigned i = 0; i < nkids; i++)
        fprintf(f, "%ld\n", (long)kids[i]);
    if (fclose(f) != 0 || rename(tmp, pidfile) != 0) {
        fprintf(stderr, "bench_idle: %s: %s\n", pidfile, strerror(errno));
        kill_all();
        return 1;
    }

    int sig;
    sigwait(&stop, &sig);
    kill_all();
    return 0;
}

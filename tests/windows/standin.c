/*
 * standin.c - a stand-in for powershell.exe where there is none (Wine):
 * kt_sys_run starts it exactly as it starts PowerShell, and it checks that
 * the command line is PowerShell's (-NoProfile -NonInteractive
 * -ExecutionPolicy Bypass -File FILE ARGS...; exit 90 otherwise), then
 * runs FILE, a script of one-word commands, one a line:
 *   echo TEXT     prints TEXT
 *   args          prints each argument after FILE in brackets
 *   env NAME      prints NAME=its value (empty when unset)
 *   spawn FILE    starts a copy of itself that sleeps, writes its pid to FILE
 *   sleep MS      sleeps
 *   exit N        exits with N
 *   real CMD ...  runs CMD, or with -WhatIf among the arguments prints
 *                 "would CMD ..." instead (a dry run, as PowerShell's)
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static int sleeper(void)
{
    Sleep(300000);
    return 0;
}

static int spawn(const wchar_t *pidfile)
{
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 32];
    if (GetModuleFileNameW(NULL, self, MAX_PATH) == 0)
        return 1;
    swprintf(cmd, MAX_PATH + 32, L"\"%ls\" --sleep", self);
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return 1;
    FILE *f = _wfopen(pidfile, L"w");
    if (!f)
        return 1;
    fprintf(f, "%lu\n", (unsigned long)pi.dwProcessId);
    fclose(f);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return 0;
}

static int what_if(int argc, wchar_t **argv)
{
    for (int i = 7; i < argc; i++)
        if (_wcsicmp(argv[i], L"-WhatIf") == 0)
            return 1;
    return 0;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    static const wchar_t *const want[] = {L"-NoProfile", L"-NonInteractive", L"-ExecutionPolicy",
                                          L"Bypass", L"-File"};
    if (argc == 2 && wcscmp(argv[1], L"--sleep") == 0)
        return sleeper();
    if (argc < 7)
        return 90;
    for (int i = 0; i < 5; i++)
        if (wcscmp(argv[1 + i], want[i]) != 0)
            return 90;
    FILE *f = _wfopen(argv[6], L"r");
    if (!f)
        return 91;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *arg = strchr(line, ' ');
        if (arg)
            *arg++ = 0;
        else
            arg = "";
        if (strcmp(line, "real") == 0) {
            if (what_if(argc, argv)) {
                printf("would %s\n", arg);
                fflush(stdout);
                continue;
            }
            memmove(line, arg, strlen(arg) + 1);
            arg = strchr(line, ' ');
            if (arg)
                *arg++ = 0;
            else
                arg = "";
        }
        if (strcmp(line, "echo") == 0) {
            printf("%s\n", arg);
        } else if (strcmp(line, "args") == 0) {
            for (int i = 7; i < argc; i++)
                printf("[%ls]", argv[i]);
            printf("\n");
        } else if (strcmp(line, "env") == 0) {
            const char *v = getenv(arg);
            printf("%s=%s\n", arg, v ? v : "");
        } else if (strcmp(line, "spawn") == 0) {
            wchar_t w[MAX_PATH];
            MultiByteToWideChar(CP_UTF8, 0, arg, -1, w, MAX_PATH);
            if (spawn(w) != 0)
                return 92;
        } else if (strcmp(line, "sleep") == 0) {
            fflush(stdout);
            Sleep((DWORD)atoi(arg));
        } else if (strcmp(line, "exit") == 0) {
            fflush(stdout);
            return atoi(arg);
        }
        fflush(stdout);
    }
    fclose(f);
    return 0;
}

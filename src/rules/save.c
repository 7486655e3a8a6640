/*
 * save.c - save_script_to_file: a generated script written into the
 * scripts directory and nowhere else.
 *
 * The name must be a plain file name: no '/', '\', "..", NUL, control
 * characters, leading dot or dash, nor a Windows device name (CON, NUL,
 * COM1...); at most 128 bytes. These rules are the same on every OS, so a
 * name that saves on one saves on the other.
 *
 * Writing the file is the OS's part (kt_sys_save, platform/kt_sys.h): on
 * Linux it is created relative to a descriptor of the directory with
 * O_NOFOLLOW; on Windows it is opened without following reparse points and checks where the handle
 * really is. Both refuse links, FIFOs, devices and directories under the
 * name, and overwrite an existing regular file only when asked to.
 */
#include "rules_internal.h"
#include "kt_sys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_NAME 128

static int device_name(const char *name)
{
    static const char *const devices[] = {"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3",
                                          "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
                                          "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
                                          "LPT7", "LPT8", "LPT9"};
    size_t stem = strcspn(name, ".");
    for (size_t i = 0; i < KT_ARRAY_SIZE(devices); i++)
        if (strlen(devices[i]) == stem && strncasecmp(name, devices[i], stem) == 0)
            return 1;
    return 0;
}

const char *kt_rules_check_script_name(const char *name, apr_size_t len)
{
    if (len == 0 || len > MAX_NAME)
        return "the file name must be 1 to 128 bytes";
    if (memchr(name, '\0', len) || strlen(name) != len)
        return "the file name holds a NUL byte";
    if (name[0] == '.' || name[0] == '-')
        return "the file name must not start with '.' or '-'";
    if (strstr(name, ".."))
        return "the file name must not contain '..'";
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\' || *p == ':' || iscntrl((unsigned char)*p))
            return "the file name must be a plain name: no '/', '\\', ':' or control characters";
    if (device_name(name))
        return "the file name is a Windows device name";
    return NULL;
}

apr_status_t kt_rules_save_script(const char *dir, const char *name, const char *content,
                                  apr_size_t len, int overwrite, int executable, char *err,
                                  apr_size_t errlen)
{
    const char *why = kt_rules_check_script_name(name, strlen(name));
    if (why) {
        snprintf(err, errlen, "%s", why);
        return KT_EINPUT;
    }
    return kt_sys_save(dir, name, content, len,
                       (overwrite ? KT_SYS_OVERWRITE : 0) | (executable ? KT_SYS_EXECUTABLE : 0),
                       err, errlen);
}

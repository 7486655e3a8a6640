/*
 * msvc_compat.h - force-included (/FI) into every C file when the compiler
 * is MSVC (cmake/warnings.cmake). The native MSVC build compiles the same
 * sources as the GCC and MinGW builds, unchanged. The few GCC and POSIX
 * spellings they use are mapped here onto what MSVC's C runtime has.
 *
 * What a header cannot fix (VLAs, statement expressions, POSIX-only
 * headers) has to change in the sources. The sources on the Windows path
 * have none of those, checked with clang -Wgnu -Wvla -Wpedantic on the
 * MinGW build (docs/windows.md).
 *
 * MSVC has no <strings.h> either: warnings.cmake generates one in the
 * build tree (msvc-compat/strings.h) that only includes this header.
 */
#ifndef KT_MSVC_COMPAT_H
#define KT_MSVC_COMPAT_H

#if defined(_MSC_VER) && !defined(__clang__)

/* The C runtime's deprecations of ISO C and POSIX names in favour of its
 * own _s and _-prefixed variants (warning C4996: fopen, strdup, wcscpy,
 * _wfreopen...). The sources use the portable names on purpose. Both must be
 * defined before the runtime's first header, which is why they are here. */
#ifndef _CRT_SECURE_NO_WARNINGS
#define _CRT_SECURE_NO_WARNINGS 1
#endif
#ifndef _CRT_NONSTDC_NO_DEPRECATE
#define _CRT_NONSTDC_NO_DEPRECATE 1
#endif

#include <stddef.h>
#include <string.h>
#include <time.h>

/* GCC attributes (format(printf, ...) checks on kt_log and friends). MSVC
 * has no __attribute__. The checks stay in the GCC and MinGW builds. */
#ifndef __attribute__
#define __attribute__(x)
#endif

/* <strings.h>: the case-insensitive comparisons, ASCII as in the C locale. */
#ifndef strcasecmp
#define strcasecmp _stricmp
#endif
#ifndef strncasecmp
#define strncasecmp _strnicmp
#endif

/* The reentrant time conversions. MSVC has them as gmtime_s and
 * localtime_s, which take their arguments the other way round and return an
 * errno_t. These return the struct pointer, or NULL, as POSIX says. */
#ifndef gmtime_r
#define gmtime_r(timep, result) (gmtime_s((result), (timep)) == 0 ? (result) : NULL)
#endif
#ifndef localtime_r
#define localtime_r(timep, result) (localtime_s((result), (timep)) == 0 ? (result) : NULL)
#endif
/* timegm, the inverse of gmtime: _mkgmtime. */
#ifndef timegm
#define timegm _mkgmtime
#endif
/* strtok_r: strtok_s has the same arguments in the same order. */
#ifndef strtok_r
#define strtok_r strtok_s
#endif

/* ssize_t: POSIX's signed size. MSVC's headers have only SSIZE_T
 * (BaseTsd.h), which needs windows.h. The _SSIZE_T_DEFINED guard is the
 * one other Windows libraries check as well. */
#ifndef _SSIZE_T_DEFINED
#define _SSIZE_T_DEFINED
typedef ptrdiff_t ssize_t;
#endif

#endif /* _MSC_VER && !__clang__ */

#endif /* KT_MSVC_COMPAT_H */

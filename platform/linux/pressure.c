/*
 * pressure.c - pressure stall information (/proc/pressure/{cpu,memory,io}).
 *
 * Kernels before 4.20, and those booted with psi=0 (the files then exist
 * but refuse to be read), have none: the values stay unknown, and since that
 * is how such a machine is rather than a failure, nothing is logged.
 */
#include "linux.h"

void kt__read_pressure(kt_plat_t *p, kt_sample_t *s)
{
    static const char *const files[KT_PSI__COUNT] = {"pressure/cpu", "pressure/memory",
                                                     "pressure/io"};
    for (int i = 0; i < KT_PSI__COUNT; i++) {
        char *text;
        kt_psi_t psi;
        if (kt__read_file(p, KT__FILE_PSI + i, files[i], &text, NULL) == APR_SUCCESS &&
            kt__parse_psi(text, &psi) == APR_SUCCESS)
            s->pressure[i] = psi;
    }
}

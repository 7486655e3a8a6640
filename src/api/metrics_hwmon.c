/*
 * metrics_hwmon.c - node_exporter's hwmon families for temperatures, from
 * /sys/class/hwmon/<chip>/: node_hwmon_temp_celsius and the other
 * node_hwmon_temp_* (max, crit, crit_alarm, min...), node_hwmon_chip_names
 * and node_hwmon_sensor_label, the ones the "Node Exporter Full" dashboard
 * draws. The chip label, the sensor label and the values are node_exporter
 * 1.5's: the chip is named from its device's path (platform_coretemp_0),
 * else from its name file, else from the hwmonN directory.
 *
 * As with metrics_sysfs.c, the reading does not hold these: they are read
 * when a page with them is made, and a page made within 15 s of the last
 * read serves what it found (metrics.c). Only temperatures are served:
 * voltages, fans, power and the other sensor types are a file each and no
 * alert or the dashboards' temperature panels use them.
 */
#include "api_internal.h"

#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <apr_strings.h>
#include <apr_tables.h>

#ifdef _WIN32
void kt__metrics_hwmon(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool)
{
    (void)o, (void)sysfs, (void)mask, (void)pool; /* no sysfs */
}
#else
/* node_exporter's cleanMetricName: lower case, [^a-z0-9:_] as '_', no '_'
 * at either end. In pool. */
static char *clean(const char *name, apr_pool_t *pool)
{
    char *s = apr_pstrdup(pool, name), *d = s;
    for (char *c = s; *c; c++) {
        char ch = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
        *c = ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == ':') ? ch : '_';
    }
    while (*d == '_')
        d++;
    size_t n = strlen(d);
    while (n && d[n - 1] == '_')
        d[--n] = '\0';
    return d;
}

/* The file's first 128 bytes with newlines trimmed from both ends, as
 * node_exporter's sysReadFile and strings.Trim read it; NULL if unreadable. */
static char *value_of(int dirfd, const char *file, apr_pool_t *pool)
{
    int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char buf[129];
    ssize_t n = read(fd, buf, 128);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    char *s = buf;
    while (*s == '\n')
        s++;
    size_t len = strlen(s);
    while (len && s[len - 1] == '\n')
        s[--len] = '\0';
    return apr_pstrdup(pool, s);
}

/* The chip label: "<type>_<device>" from where device points
 * (platform_coretemp_0), else the name file, else hwmonN. */
static const char *chip_of(const char *dir, int dirfd, apr_pool_t *pool)
{
    char real[PATH_MAX];
    if (realpath(apr_pstrcat(pool, dir, "/device", NULL), real)) {
        char *slash = strrchr(real, '/');
        const char *dev = clean(slash ? slash + 1 : real, pool);
        const char *type = "";
        if (slash && slash > real) {
            *slash = '\0';
            char *up = strrchr(real, '/');
            type = clean(up ? up + 1 : real, pool);
        }
        if (*type && *dev)
            return apr_pstrcat(pool, type, "_", dev, NULL);
        if (*dev)
            return dev;
    }
    const char *name = value_of(dirfd, "name", pool);
    if (name && *(name = clean(name, pool)))
        return name;
    if (realpath(dir, real)) {
        const char *slash = strrchr(real, '/');
        const char *last = clean(slash ? slash + 1 : real, pool);
        if (*last)
            return last;
    }
    return NULL;
}

/* One property of one sensor: temp1_max is sensor temp1, element max. */
typedef struct {
    const char *sensor, *element, *value;
} prop_t;

/* node_exporter's ^([^0-9]+)([0-9]*)?(_(.+))?$ for the temperature files:
 * "temp", digits, then nothing or "_" and the element. Sets *num (0 when
 * there are no digits) and *element ("" when none). */
static int temp_file(const char *name, long *num, const char **element)
{
    if (strncmp(name, "temp", 4) != 0)
        return 0;
    const char *p = name + 4;
    *num = 0;
    if (*p && !(*p >= '0' && *p <= '9'))
        return 0; /* another type ("temp_x"): [^0-9]+ takes more than "temp" */
    if (*p) {
        char *end;
        *num = strtol(p, &end, 10);
        p = end;
    }
    if (*p == '\0') {
        *element = "";
        return 1;
    }
    if (*p != '_' || !p[1])
        return 0;
    *element = p + 1;
    return 1;
}

/* A label file of any sensor type node_exporter knows ("in0_label",
 * "fan1_label"): its sensor ("in0"), else NULL. */
static const char *label_sensor(const char *name, apr_pool_t *pool)
{
    static const char *const types[] = {"vrm",   "beep_enable", "update_interval", "in",
                                        "cpu",   "fan",         "pwm",             "temp",
                                        "curr",  "power",       "energy",          "humidity",
                                        "intrusion"};
    size_t n = strlen(name);
    if (n < 7 || strcmp(name + n - 6, "_label") != 0)
        return NULL;
    size_t t = strcspn(name, "0123456789");
    if (t == 0 || t >= n - 6)
        return NULL; /* no digits before _label: the type would take "label" too */
    for (size_t i = 0; i < KT_ARRAY_SIZE(types); i++)
        if (strlen(types[i]) == t && strncmp(name, types[i], t) == 0) {
            char *end;
            long num = strtol(name + t, &end, 10);
            if (end != name + n - 6)
                return NULL;
            return apr_psprintf(pool, "%.*s%ld", (int)t, name, num);
        }
    return NULL;
}

/* The temperature properties and sensor labels in dir (a chip's directory
 * or its device's), added to temps and labels. */
static void sensors_in(const char *dir, apr_array_header_t *temps, apr_array_header_t *labels,
                       apr_pool_t *pool)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        long num;
        const char *element, *sensor = NULL;
        int temp = temp_file(e->d_name, &num, &element);
        if (temp)
            sensor = apr_psprintf(pool, "temp%ld", num);
        else if (!(sensor = label_sensor(e->d_name, pool)))
            continue;
        const char *value = value_of(dirfd(d), e->d_name, pool);
        if (!value)
            continue;
        if (temp && strcmp(element, "label") != 0) {
            prop_t *p = apr_array_push(temps);
            *p = (prop_t){sensor, apr_pstrdup(pool, element), value};
        } else {
            prop_t *p = apr_array_push(labels);
            *p = (prop_t){sensor, "label", value};
        }
    }
    closedir(d);
}

/* One sample before it is written: families are written whole, in name order. */
typedef struct {
    const char *name, *help, *labels;
    double v;
} line_t;

static int by_name(const void *a, const void *b)
{
    const line_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

/* Go's ParseFloat on a sensor's text: the whole text is a number. */
static int parse(const char *text, double *v)
{
    char *end;
    if (!*text)
        return -1;
    *v = strtod(text, &end);
    return *end ? -1 : 0;
}

/* The temperature lines of one chip, as node_exporter's updateHwmon names
 * them: temp1_input is node_hwmon_temp_celsius (…_temp_input_celsius when
 * a bare temp1 file exists too), temp1_max node_hwmon_temp_max_celsius;
 * alarm and fault without a unit, beep as _beep_enabled, type as it is. */
static void temp_lines(const char *chip, apr_array_header_t *temps, apr_array_header_t *out,
                       apr_pool_t *pool)
{
    const prop_t *p = (const prop_t *)temps->elts;
    for (int i = 0; i < temps->nelts; i++) {
        double v;
        if (parse(p[i].value, &v) != 0)
            continue;
        const char *element = p[i].element, *name = "node_hwmon_temp", *help;
        if (strcmp(element, "input") == 0) {
            for (int j = 0; j < temps->nelts; j++)
                if (strcmp(p[j].sensor, p[i].sensor) == 0 && !*p[j].element)
                    name = "node_hwmon_temp_input";
        } else if (*element) {
            name = apr_pstrcat(pool, name, "_", clean(element, pool), NULL);
        }
        if (strcmp(element, "fault") == 0 || strcmp(element, "alarm") == 0) {
            help = apr_pstrcat(pool, "Hardware sensor ", element, " status (temp)", NULL);
        } else if (strcmp(element, "beep") == 0) {
            name = apr_pstrcat(pool, name, "_enabled", NULL);
            help = "Hardware monitor sensor has beeping enabled";
        } else if (strcmp(element, "type") != 0) {
            name = apr_pstrcat(pool, name, "_celsius", NULL);
            help = apr_pstrcat(pool, "Hardware monitor for temperature (",
                               *element ? element : "input", ")", NULL);
            v *= 0.001;
        } else {
            help = "Hardware monitor temp element type";
        }
        line_t *l = apr_array_push(out);
        *l = (line_t){name, help,
                      kt__prom_labels(pool, "chip", chip, "sensor", p[i].sensor, NULL), v};
    }
}

void kt__metrics_hwmon(kt__prom_t *o, const char *sysfs, unsigned mask, apr_pool_t *pool)
{
    if (!(mask & KT__COLLECT_HWMON))
        return;
    const char *root = apr_pstrcat(pool, sysfs, "/class/hwmon", NULL);
    DIR *dir = opendir(root);
    if (!dir)
        return;
    apr_array_header_t *lines = apr_array_make(pool, 16, sizeof(line_t));
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        const char *path = apr_pstrcat(pool, root, "/", e->d_name, NULL);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        const char *chip = chip_of(path, fd, pool);
        const char *chip_name = value_of(fd, "name", pool);
        close(fd);
        if (!chip)
            continue;
        apr_array_header_t *temps = apr_array_make(pool, 8, sizeof(prop_t));
        apr_array_header_t *labels = apr_array_make(pool, 8, sizeof(prop_t));
        sensors_in(path, temps, labels, pool);
        const char *device = apr_pstrcat(pool, path, "/device", NULL);
        if (stat(device, &st) == 0)
            sensors_in(device, temps, labels, pool);
        if (chip_name && *(chip_name = clean(chip_name, pool))) {
            line_t *l = apr_array_push(lines);
            *l = (line_t){"node_hwmon_chip_names",
                          "Annotation metric for human-readable chip names",
                          kt__prom_labels(pool, "chip", chip, "chip_name", chip_name, NULL), 1};
        }
        const prop_t *lp = (const prop_t *)labels->elts;
        for (int i = 0; i < labels->nelts; i++) {
            line_t *l = apr_array_push(lines);
            *l = (line_t){"node_hwmon_sensor_label", "Label for given chip and sensor",
                          kt__prom_labels(pool, "chip", chip, "label", lp[i].value, "sensor",
                                          lp[i].sensor, NULL),
                          1};
        }
        temp_lines(chip, temps, lines, pool);
    }
    closedir(dir);
    line_t *l = (line_t *)lines->elts;
    qsort(l, (size_t)lines->nelts, sizeof *l, by_name);
    for (int i = 0; i < lines->nelts; i++) {
        if (i == 0 || strcmp(l[i].name, l[i - 1].name) != 0)
            kt__prom_family(o, l[i].name, "gauge", l[i].help);
        kt__prom_sample(o, l[i].name, l[i].labels, l[i].v);
    }
}
#endif

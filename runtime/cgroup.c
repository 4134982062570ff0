/* weft — the CPU limit a cgroup puts on this process, for the default worker count.
 *
 * A container often runs with every CPU of its host in its affinity mask but a CPU
 * quota of a few CPUs (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`).
 * One worker per allowed CPU would then start, say, 64 workers sharing the time of 2
 * CPUs: the kernel throttles the whole process for the rest of each period once the
 * quota is spent, and every worker waits. Go (1.25) sizes GOMAXPROCS by the limit; weft
 * takes min(allowed CPUs, ceil(limit)) workers when `weft_config.workers` and
 * WEFT_WORKERS leave the choice to it (run.c).
 *
 * The limit is the smallest quota / period found from the process's own cgroup up to
 * the root of its hierarchy, in the v2 hierarchy and the v1 hierarchy that holds the
 * "cpu" controller alike (/proc/self/cgroup names the cgroups, /proc/self/mountinfo
 * where their hierarchies are mounted). No limit, no cgroup file system mounted, or a
 * file that cannot be read or parsed: no limit (0). Read once, at weft_run.
 *
 * Every path is read under `root` ("" for the system), so tests can build a fake tree.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PATH_MAX_LEN = 4096, LINE_MAX_LEN = 8192 };

/* Reads a small file under root into buf; false when it cannot. */
static bool read_small(const char *root, const char *path, char *buf, size_t len)
{
    char full[PATH_MAX_LEN];
    if ((size_t)snprintf(full, sizeof full, "%s%s", root, path) >= sizeof full)
        return false;
    FILE *f = fopen(full, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* A decimal number that makes up the whole word (up to a blank or newline). */
static bool parse_num(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return !errno && end != s && (!*end || *end == '\n' || *end == ' ');
}

/* A positive quota / period from two decimal numbers, 0 for none or garbage. */
static double ratio(const char *quota, const char *period)
{
    long long q, p;
    if (!parse_num(quota, &q) || !parse_num(period, &p) || q <= 0 || p <= 0)
        return 0; /* v1 "-1": no quota */
    return (double)q / (double)p;
}

/* The limit set in one cgroup directory, 0 for none. */
static double dir_limit(const char *root, const char *dir, bool v2)
{
    char path[PATH_MAX_LEN], a[64], b[64];
    if (v2) {
        /* "max 100000" or "QUOTA PERIOD" */
        if ((size_t)snprintf(path, sizeof path, "%s/cpu.max", dir) >= sizeof path ||
            !read_small(root, path, a, sizeof a))
            return 0;
        char *sp = strchr(a, ' ');
        if (!sp || strncmp(a, "max", 3) == 0)
            return 0;
        *sp = '\0';
        return ratio(a, sp + 1);
    }
    if ((size_t)snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir) >= sizeof path ||
        !read_small(root, path, a, sizeof a))
        return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir) >= sizeof path ||
        !read_small(root, path, b, sizeof b))
        return 0;
    return ratio(a, b);
}

/* mountinfo escapes blanks and backslashes as \ooo: decode in place. */
static void unescape(char *s)
{
    char *o = s;
    for (char *i = s; *i; i++) {
        if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' &&
            i[3] >= '0' && i[3] <= '7') {
            *o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
            i += 3;
        } else {
            *o++ = *i;
        }
    }
    *o = '\0';
}

/* True when the comma-separated list holds item. */
static bool has_item(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && strncmp(p, item, n) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

/* Where the v2 hierarchy (v2) or the v1 one holding "cpu" is mounted: its mount point
 * and the hierarchy path mounted there. False when not mounted. */
static bool find_mount(const char *root, bool v2, char *mnt, char *mroot, size_t len)
{
    char path[PATH_MAX_LEN];
    if ((size_t)snprintf(path, sizeof path, "%s/proc/self/mountinfo", root) >= sizeof path)
        return false;
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char *line = malloc(LINE_MAX_LEN);
    bool found = false;
    while (line && !found && fgets(line, LINE_MAX_LEN, f)) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
        char *save = NULL, *fields[5] = {0};
        char *tok = strtok_r(line, " \n", &save);
        for (int i = 0; tok && i < 5; i++, tok = strtok_r(NULL, " \n", &save))
            fields[i] = tok;
        if (!fields[4])
            continue;
        while (tok && strcmp(tok, "-") != 0)
            tok = strtok_r(NULL, " \n", &save);
        char *fstype = tok ? strtok_r(NULL, " \n", &save) : NULL;
        char *source = fstype ? strtok_r(NULL, " \n", &save) : NULL;
        char *super = source ? strtok_r(NULL, " \n", &save) : NULL;
        if (!fstype)
            continue;
        if (v2 ? strcmp(fstype, "cgroup2") != 0
               : strcmp(fstype, "cgroup") != 0 || !super || !has_item(super, "cpu"))
            continue;
        if (strlen(fields[3]) >= len || strlen(fields[4]) >= len)
            continue;
        strcpy(mroot, fields[3]);
        strcpy(mnt, fields[4]);
        unescape(mroot);
        unescape(mnt);
        found = true;
    }
    free(line);
    fclose(f);
    return found;
}

/* The smallest limit from cgroup path cg (in the hierarchy) up to the mount's root. */
static double hierarchy_limit(const char *root, const char *cg, bool v2)
{
    char mnt[PATH_MAX_LEN], mroot[PATH_MAX_LEN], dir[PATH_MAX_LEN];
    if (!find_mount(root, v2, mnt, mroot, sizeof mnt))
        return 0;
    /* The part of cg below what is mounted; a cgroup namespace mounts the process's own
     * cgroup as the root, and cg then does not start with mroot: use the mount. */
    const char *rest = "";
    size_t rl = strlen(mroot);
    if (strcmp(mroot, "/") == 0)
        rest = cg;
    else if (strncmp(cg, mroot, rl) == 0 && (cg[rl] == '\0' || cg[rl] == '/'))
        rest = cg + rl;
    if ((size_t)snprintf(dir, sizeof dir, "%s%s", mnt, rest) >= sizeof dir)
        return 0;
    size_t base = strlen(mnt);
    while (base > 1 && mnt[base - 1] == '/')
        base--;
    double best = 0;
    for (;;) {
        size_t n = strlen(dir);
        while (n > base && dir[n - 1] == '/')
            dir[--n] = '\0';
        double l = dir_limit(root, dir, v2);
        if (l > 0 && (best == 0 || l < best))
            best = l;
        char *slash = strrchr(dir, '/');
        if (n <= base || !slash || (size_t)(slash - dir) < base)
            break;
        *slash = '\0';
    }
    return best;
}

double weft__cgroup_cpu_limit(const char *root)
{
    char path[PATH_MAX_LEN];
    if ((size_t)snprintf(path, sizeof path, "%s/proc/self/cgroup", root) >= sizeof path)
        return 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char *line = malloc(LINE_MAX_LEN);
    double best = 0;
    while (line && fgets(line, LINE_MAX_LEN, f)) {
        /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH" */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        char *cg = c2 + 1;
        cg[strcspn(cg, "\n")] = '\0';
        if (cg[0] != '/')
            continue;
        bool v2 = strcmp(line, "0") == 0 && c1[1] == '\0';
        if (!v2 && !has_item(c1 + 1, "cpu"))
            continue;
        double l = hierarchy_limit(root, cg, v2);
        if (l > 0 && (best == 0 || l < best))
            best = l;
    }
    free(line);
    fclose(f);
    return best;
}

unsigned weft__workers_for_limit(unsigned cpus, double limit)
{
    if (cpus == 0)
        cpus = 1;
    if (!(limit > 0))
        return cpus;
    if (limit >= (double)cpus)
        return cpus;
    unsigned c = (unsigned)limit; /* rounded up below */
    if ((double)c < limit)
        c++;
    return c ? c : 1;
}

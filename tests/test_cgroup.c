/* test_cgroup.c — the default worker count under a cgroup CPU quota (runtime/cgroup.c).
 *  - v2 / v1 / nested / namespaced trees built under a temporary root: the limit is the
 *    smallest quota / period from the process's cgroup up to its hierarchy's root;
 *  - no quota, missing files and garbage give no limit, never a crash;
 *  - the worker count is min(CPUs, limit rounded up), at least 1;
 *  - weft_run with workers = 0 starts that many on this machine. */
#include "fixture.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

double weft__cgroup_cpu_limit(const char *root);
unsigned weft__workers_for_limit(unsigned cpus, double limit);

static char root[256];

/* mkdir -p of path's parent directories, then path := content */
static void put(const char *path, const char *content)
{
    char full[1024];
    WT_LT(snprintf(full, sizeof full, "%s%s", root, path), (int)sizeof full);
    for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(full, 0755) != 0)
            WT_EQ(errno, EEXIST);
        *p = '/';
    }
    FILE *f = fopen(full, "w");
    WT_NONNULL(f);
    WT_EQ(fputs(content, f) >= 0, 1);
    WT_OK(fclose(f));
}

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/weft-test-cgroup.XXXXXX");
    return wt_tmpdir_make(root);
}

static int teardown(void **state)
{
    (void)state;
    return wt_tmpdir_remove(root);
}

#define MI_V2 "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
#define MI_V1_CPU                                                                                  \
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "                \
    "rw,cpu,cpuacct\n"
#define MI_V1_MEM "33 31 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"

static void test_v2_nested(void **state)
{
    (void)state;
    put("/proc/self/cgroup", "0::/kube/pod1/ctr\n");
    put("/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" MI_V2);
    put("/sys/fs/cgroup/kube/cpu.max", "max 100000\n");
    put("/sys/fs/cgroup/kube/pod1/cpu.max", "250000 100000\n");
    put("/sys/fs/cgroup/kube/pod1/ctr/cpu.max", "400000 100000\n");
    /* the pod's 2.5 CPUs bound the container's 4 */
    double l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 2.49 && l < 2.51);
    WT_EQ(weft__workers_for_limit(64, l), 3);
    /* unlimited all the way up */
    put("/sys/fs/cgroup/kube/pod1/cpu.max", "max 100000\n");
    put("/sys/fs/cgroup/kube/pod1/ctr/cpu.max", "max 50000\n");
    WT_TRUE(weft__cgroup_cpu_limit(root) == 0);
}

static void test_v1(void **state)
{
    (void)state;
    put("/proc/self/cgroup", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n");
    put("/proc/self/mountinfo", MI_V1_MEM MI_V1_CPU);
    put("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "50000\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
    double l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 0.49 && l < 0.51);
    WT_EQ(weft__workers_for_limit(8, l), 1); /* half a CPU: one worker */
    /* no quota */
    put("/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    WT_TRUE(weft__cgroup_cpu_limit(root) == 0);
}

/* A cgroup namespace: /proc/self/cgroup shows "/" and the mount's root is the
 * container's own cgroup; or the mount root is a prefix of the path. */
static void test_mount_roots(void **state)
{
    (void)state;
    put("/proc/self/cgroup", "0::/\n");
    put("/proc/self/mountinfo", MI_V2);
    put("/sys/fs/cgroup/cpu.max", "150000 100000\n");
    double l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 1.49 && l < 1.51);

    put("/proc/self/cgroup", "0::/outer/inner\n");
    put("/proc/self/mountinfo",
        "30 23 0:26 /outer /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"); /* bind of /outer */
    put("/sys/fs/cgroup/cpu.max", "max 100000\n");
    put("/sys/fs/cgroup/inner/cpu.max", "300000 100000\n");
    l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 2.99 && l < 3.01);

    /* a path outside what is mounted: the mount itself is the process's cgroup */
    put("/proc/self/cgroup", "0::/elsewhere\n");
    put("/sys/fs/cgroup/cpu.max", "100000 100000\n");
    l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 0.99 && l < 1.01);

    /* escaped blanks in the mount point */
    put("/proc/self/cgroup", "0::/a\n");
    put("/proc/self/mountinfo", "30 23 0:26 / /cg\\040root rw - cgroup2 none rw\n");
    put("/cg root/a/cpu.max", "200000 100000\n");
    l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 1.99 && l < 2.01);
}

static void test_garbage(void **state)
{
    (void)state;
    /* nothing there at all */
    WT_TRUE(weft__cgroup_cpu_limit("/nonexistent-weft-root") == 0);
    put("/proc/self/cgroup", "0::/g\n");
    /* no cgroup2 mount */
    put("/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" MI_V1_MEM);
    put("/sys/fs/cgroup/g/cpu.max", "100000 100000\n");
    WT_TRUE(weft__cgroup_cpu_limit(root) == 0);
    put("/proc/self/mountinfo", MI_V2);
    static const char *bad[] = {"",           "max",        "abc def\n",
                                "0 100000\n", "100000 0\n", "-5 100000\n",
                                "100000\n",   "1e5 1e5\n",  "99999999999999999999999 1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put("/sys/fs/cgroup/g/cpu.max", bad[i]);
        WT_TRUE(weft__cgroup_cpu_limit(root) == 0);
    }
    /* malformed lines around a good one */
    put("/proc/self/cgroup", "garbage\n::\n7:cpu:relative\n0::/g\n");
    put("/proc/self/mountinfo", "short line\n1 2 3\n" MI_V2 "x - \n");
    put("/sys/fs/cgroup/g/cpu.max", "100000 100000\n");
    double l = weft__cgroup_cpu_limit(root);
    WT_TRUE(l > 0.99 && l < 1.01);
}

static void test_workers_for_limit(void **state)
{
    (void)state;
    WT_EQ(weft__workers_for_limit(2, 0), 2);  /* no limit */
    WT_EQ(weft__workers_for_limit(64, 2), 2); /* exact */
    WT_EQ(weft__workers_for_limit(64, 2.01), 3);
    WT_EQ(weft__workers_for_limit(4, 0.1), 1); /* at least one */
    WT_EQ(weft__workers_for_limit(2, 8), 2);   /* never more than the CPUs */
    WT_EQ(weft__workers_for_limit(0, 0), 1);
}

static void *count_main(void *arg)
{
    *(unsigned *)arg = weft_workers();
    return NULL;
}

/* The wiring: weft_run's default is this machine's CPUs under its own limit. */
static void test_default_workers(void **state)
{
    (void)state;
    unsetenv("WEFT_WORKERS");
    cpu_set_t set;
    WT_OK(sched_getaffinity(0, sizeof set, &set));
    unsigned want = weft__workers_for_limit((unsigned)CPU_COUNT(&set), weft__cgroup_cpu_limit(""));
    unsigned got = 0;
    wt_run(0, count_main, &got);
    WT_EQ(got, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v2_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test(test_workers_for_limit),
        cmocka_unit_test(test_default_workers),
    };
    return WT_RUN_GROUP(tests);
}

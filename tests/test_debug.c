/* test_debug.c — WEFT_DEBUG aids: the report of tasks never joined nor detached, and the
 * warning about a task that runs WEFT_SLOW_MS without suspending. Each case runs this
 * program again as a child with the environment under test and reads its stderr. */
#include "fixture.h"

#include <sys/wait.h>

/* Exported so the runtime can name them through dladdr. */
__attribute__((noinline, visibility("default"))) void *forgotten_task(void *arg);
__attribute__((noinline, visibility("default"))) void *hog_task(void *arg);

void *forgotten_task(void *arg)
{
    return arg;
}

/* Runs 150 ms without suspending: a blocking call in disguise. */
void *hog_task(void *arg)
{
    uint64_t t0 = weft_now();
    while (weft_now() - t0 < 150 * WT_MS)
        ;
    return arg;
}

static void *child_main(void *arg)
{
    (void)arg;
    (void)weft_spawn(forgotten_task, NULL); /* the handle is dropped on purpose */
    weft_task *h = weft_spawn(hog_task, NULL);
    if (h)
        weft_join(h, NULL);
    return NULL;
}

static int child(void)
{
    weft_config cfg = {.workers = 2};
    int rc = weft_run(&cfg, child_main, NULL, NULL);
    return rc == 0 ? 0 : 3;
}

/* Runs the child with WEFT_DEBUG=debug (NULL: unset), and WEFT_SLOW_MS=50 when debug is
 * "1" (WEFT_SLOW_MS alone turns the slow-task report on: test_trace checks that). */
static char *run_child(const char *debug, int *status)
{
    char setting[64];
    snprintf(setting, sizeof setting, "WEFT_DEBUG=%s", debug ? debug : "");
    const char *env[] = {debug ? setting : "WEFT_DEBUG",
                         debug && strcmp(debug, "1") == 0 ? "WEFT_SLOW_MS=50" : "WEFT_SLOW_MS",
                         NULL};
    return wt_run_child("--child", env, status);
}

static void test_debug_reports(void **state)
{
    (void)state;
    int status;
    char *out = run_child("1", &status);
    print_message("      child stderr:\n%s", out);
    WT_TRUE(WIFEXITED(status));
    WT_EQ(WEXITSTATUS(status), 0);
    if (!strstr(out, "task forgotten_task was never joined nor detached"))
        fail_msg("no report naming forgotten_task as never joined");
    if (!strstr(out, "task hog_task has run for"))
        fail_msg("no slow-task warning naming hog_task");
    if (strstr(out, "hog_task was never joined"))
        fail_msg("hog_task was joined, yet reported");
    free(out);
}

static void test_quiet_without_debug(void **state)
{
    (void)state;
    int status;
    char *out = run_child(NULL, &status);
    WT_TRUE(WIFEXITED(status));
    WT_EQ(WEXITSTATUS(status), 0);
    if (strstr(out, "never joined") || strstr(out, "has run for"))
        fail_msg("debug output without WEFT_DEBUG:\n%s", out);
    free(out);
    out = run_child("0", &status);
    if (strstr(out, "never joined") || strstr(out, "has run for"))
        fail_msg("WEFT_DEBUG=0 still reports:\n%s", out);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_reports),
        cmocka_unit_test(test_quiet_without_debug),
    };
    return WT_RUN_GROUP(tests);
}

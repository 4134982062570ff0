/* test_io_file.c — io.h file operations: open/read/write (offsets, vectors, current
 * position), fsync, statx, close; cancellation and deadlines of a blocked read (a pipe
 * nobody writes); -EPERM outside a task; many tasks' I/O on all workers at once. */
#include "fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/weft-io-XXXXXX";

static void path_in_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void *rw_offsets_main(void *arg)
{
    (void)arg;
    char path[256];
    path_in_tmp(path, sizeof path, "rw");
    int fd = weft_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    WT_GE(fd, 0);
    WT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    WT_EQ(weft_write(fd, "hello world", 11, 0), 11);
    WT_EQ(weft_write(fd, "W", 1, 6), 1);
    char buf[32] = {0};
    WT_EQ(weft_read(fd, buf, sizeof buf, 0), 11);
    WT_EQ(memcmp(buf, "hello World", 11), 0);
    /* vectors */
    struct iovec wv[2] = {{"abc", 3}, {"defg", 4}};
    WT_EQ(weft_writev(fd, wv, 2, 100), 7);
    char a[2], b[5];
    struct iovec rv[2] = {{a, 2}, {b, 5}};
    WT_EQ(weft_readv(fd, rv, 2, 100), 7);
    WT_EQ(memcmp(a, "ab", 2), 0);
    WT_EQ(memcmp(b, "cdefg", 5), 0);
    /* current position */
    WT_EQ(lseek(fd, 0, SEEK_SET), 0);
    WT_EQ(weft_read(fd, buf, 5, WEFT_CUR), 5);
    WT_EQ(weft_read(fd, buf, 6, WEFT_CUR), 6);
    WT_EQ(memcmp(buf, " World", 6), 0);
    WT_OK(weft_fsync(fd, false));
    WT_OK(weft_fsync(fd, true));
    struct statx st;
    WT_OK(weft_statx(AT_FDCWD, path, 0, STATX_SIZE, &st));
    WT_EQ(st.stx_size, 107);
    WT_OK(weft_close(fd));
    WT_EQ(weft_close(fd), -EBADF);
    WT_EQ(weft_open("/nonexistent/x", O_RDONLY, 0), -ENOENT);
    WT_EQ(weft_statx(AT_FDCWD, "/nonexistent/x", 0, STATX_SIZE, &st), -ENOENT);
    WT_EQ(weft_read(-1, buf, 1, 0), -EBADF);
    return NULL;
}
WT_TEST_1_2(rw_offsets)

static void *full_all_main(void *arg)
{
    (void)arg;
    char path[256];
    path_in_tmp(path, sizeof path, "big");
    size_t n = 3u << 20;
    char *src = malloc(n), *dst = malloc(n + 10);
    for (size_t i = 0; i < n; i++)
        src[i] = (char)(i * 7 + (i >> 11));
    int fd = weft_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    WT_GE(fd, 0);
    size_t done = 1;
    WT_EQ(weft_write_all(fd, src, n, 0, &done), (long long)n);
    WT_EQ(done, n);
    WT_EQ(weft_read_full(fd, dst, n + 10, 0, &done), (long long)n); /* short only at EOF */
    WT_EQ(memcmp(src, dst, n), 0);
    WT_OK(weft_close(fd));
    free(src);
    free(dst);
    return NULL;
}
WT_TEST_1_2(full_all)

/* ---- interruption ----------------------------------------------------------------- */

static int pipe_rd;

static void *blocked_read(void *arg)
{
    char *buf = arg;
    return (void *)(intptr_t)weft_read(pipe_rd, buf, 16, WEFT_CUR);
}

static void *cancel_read_main(void *arg)
{
    (void)arg;
    int p[2];
    WT_OK(pipe2(p, O_CLOEXEC));
    pipe_rd = p[0];
    for (int i = 0; i < 20; i++) {
        char buf[16];
        weft_task *t = wt_spawn(blocked_read, buf);
        WT_OK(weft_sleep((uint64_t)(i % 3) * WT_MS)); /* before and after submission */
        weft_cancel(t);
        void *r = NULL;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
    }
    /* The pipe still works: no stale read consumed data. */
    WT_EQ(write(p[1], "xy", 2), 2);
    char buf[4];
    WT_EQ(weft_read(p[0], buf, sizeof buf, WEFT_CUR), 2);
    close(p[0]);
    close(p[1]);
    return NULL;
}
WT_TEST_1_2(cancel_read)

/* The reader's operation lives on its worker's ring; a canceller on the other worker
 * must get the kernel cancel submitted there (the home worker's cancel list). */
static atomic_int reader_worker;

static void *blocked_read_where(void *arg)
{
    atomic_store(&reader_worker, weft_worker_id());
    return blocked_read(arg);
}

static void *cancel_elsewhere_main(void *arg)
{
    (void)arg;
    int p[2];
    WT_OK(pipe2(p, O_CLOEXEC));
    pipe_rd = p[0];
    int crossed = 0;
    for (int i = 0; i < 20; i++) {
        char buf[16];
        atomic_store(&reader_worker, -1);
        weft_task *t = wt_spawn(blocked_read_where, buf);
        while (atomic_load(&reader_worker) < 0)
            WT_OK(weft_sleep(100 * WT_US));
        WT_OK(weft_sleep(WT_MS)); /* the read is in the kernel by now */
        /* Move to the other worker: where tasks run is the scheduler's choice (and
         * packing, runtime/idle.c step 7, keeps them together on a busy machine). */
        WT_OK(weft_move_to((unsigned)(atomic_load(&reader_worker) + 1) % 2));
        crossed += weft_worker_id() != atomic_load(&reader_worker);
        weft_cancel(t);
        void *r = NULL;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
    }
    WT_EQ(crossed, 20);
    WT_EQ(write(p[1], "xy", 2), 2);
    char buf[4];
    WT_EQ(weft_read(p[0], buf, sizeof buf, WEFT_CUR), 2);
    close(p[0]);
    close(p[1]);
    return NULL;
}
WT_TEST_W(cancel_elsewhere, 2)

static void *deadline_read_main(void *arg)
{
    (void)arg;
    int p[2];
    WT_OK(pipe2(p, O_CLOEXEC));
    char buf[8];
    uint64_t t0 = weft_now();
    ssize_t n;
    {
        WEFT_WITH_TIMEOUT(20 * WT_MS);
        n = weft_read(p[0], buf, sizeof buf, WEFT_CUR);
    }
    WT_EQ(n, -ETIMEDOUT);
    WT_GE(weft_now() - t0, 20 * WT_MS);
    WT_LT(weft_now() - t0, 2 * WT_SEC);
    /* data that arrives in time is returned */
    WT_EQ(write(p[1], "ok", 2), 2);
    {
        WEFT_WITH_TIMEOUT(WT_SEC);
        n = weft_read(p[0], buf, sizeof buf, WEFT_CUR);
    }
    WT_EQ(n, 2);
    close(p[0]);
    close(p[1]);
    return NULL;
}
WT_TEST_1_2(deadline_read)

static void test_outside_task(void **state)
{
    (void)state;
    char buf[4];
    WT_EQ(weft_read(0, buf, 1, 0), -EPERM);
    WT_EQ(weft_open("/", O_RDONLY, 0), -EPERM);
}

/* ---- many tasks at once ------------------------------------------------------------ */

enum { NFILES = 64 };

static void *one_file(void *arg)
{
    intptr_t i = (intptr_t)arg;
    char path[256], name[32], buf[64], back[64];
    snprintf(name, sizeof name, "f%ld", (long)i);
    path_in_tmp(path, sizeof path, name);
    int len = snprintf(buf, sizeof buf, "file %ld payload", (long)i);
    for (int round = 0; round < 20; round++) {
        int fd = weft_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        WT_GE(fd, 0);
        WT_EQ(weft_write(fd, buf, (size_t)len, 0), len);
        WT_EQ(weft_read(fd, back, sizeof back, 0), len);
        WT_EQ(memcmp(buf, back, (size_t)len), 0);
        WT_OK(weft_close(fd));
    }
    unlink(path);
    return NULL;
}

static void *many_main(void *arg)
{
    (void)arg;
    weft_task *ts[NFILES];
    for (intptr_t i = 0; i < NFILES; i++)
        ts[i] = wt_spawn(one_file, (void *)i);
    for (int i = 0; i < NFILES; i++)
        WT_OK(weft_join(ts[i], NULL));
    return NULL;
}
WT_TEST_1_2(many)

/* ---- batching -------------------------------------------------------------------- */

extern uint64_t weft__io_enters(void);

enum { NBATCH = 64, ROUNDS = 20 };
static int zero_fd;

static void *reader(void *arg)
{
    (void)arg;
    char buf[64];
    for (int i = 0; i < ROUNDS; i++)
        WT_EQ(weft_read(zero_fd, buf, sizeof buf, WEFT_CUR), (long long)sizeof buf);
    return NULL;
}

/* One worker, 64 tasks each reading 20 times: the reads of all runnable tasks go to the
 * kernel together, so the ring is entered far fewer times than there are reads. */
static void *batching_main(void *arg)
{
    (void)arg;
    zero_fd = weft_open("/dev/zero", O_RDONLY, 0);
    WT_GE(zero_fd, 0);
    uint64_t e0 = weft__io_enters();
    weft_task *ts[NBATCH];
    for (int i = 0; i < NBATCH; i++)
        ts[i] = wt_spawn(reader, NULL);
    for (int i = 0; i < NBATCH; i++)
        WT_OK(weft_join(ts[i], NULL));
    uint64_t enters = weft__io_enters() - e0;
    WT_GT(enters, 0);
    WT_LE(enters * 8, NBATCH * ROUNDS); /* at least 8 operations per enter on average */
    WT_OK(weft_close(zero_fd));
    return NULL;
}
WT_TEST_W(batching, 1)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rw_offsets),   cmocka_unit_test(test_full_all),
        cmocka_unit_test(test_cancel_read),  cmocka_unit_test(test_deadline_read),
        cmocka_unit_test(test_outside_task), cmocka_unit_test(test_many),
        cmocka_unit_test(test_batching),     cmocka_unit_test(test_cancel_elsewhere),
    };
    if (wt_tmpdir_make(tmpdir))
        return 1;
    int rc = WT_RUN_GROUP(tests);
    wt_tmpdir_remove(tmpdir);
    return rc;
}

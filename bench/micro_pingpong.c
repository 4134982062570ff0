/* pingpong: two tasks, 1,000,000 round trips over two channels of capacity 1
 * (Tokio mpsc::channel(1), Go unbuffered chans). The pinger sends v on ping, the echo
 * task answers v + 1 on pong. Timed inside the pinger. Unit: ns_per_roundtrip. */
#include "bench_util.h"

#include <errno.h>

#define PP_N 1000000

struct pp {
    weft_chan *ping, *pong;
    uint64_t ns;
};

static void *pp_echo(void *p)
{
    struct pp *s = p;
    int64_t v;
    int rc;
    while ((rc = weft_chan_recv(s->ping, &v)) == 0) {
        v++;
        bench_check(weft_chan_send(s->pong, &v), "pingpong: weft_chan_send(pong)");
    }
    if (rc != -EPIPE)
        bench_fail("pingpong: weft_chan_recv(ping) failed: %d (%s)", rc, weft_strerror(rc));
    weft_chan_close(s->pong);
    return NULL;
}

static void *pp_pinger(void *p)
{
    struct pp *s = p;
    int64_t v = 0;
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < PP_N; i++) {
        bench_check(weft_chan_send(s->ping, &v), "pingpong: weft_chan_send(ping)");
        bench_check(weft_chan_recv(s->pong, &v), "pingpong: weft_chan_recv(pong)");
    }
    s->ns = bench_now_ns() - t0;
    weft_chan_close(s->ping);
    if (v != PP_N)
        bench_fail("pingpong: bad value %lld, want %d", (long long)v, PP_N);
    return NULL;
}

static void *pp_main(void *p)
{
    struct pp *s = p;
    s->ping = weft_chan_new(sizeof(int64_t), 1);
    s->pong = weft_chan_new(sizeof(int64_t), 1);
    if (!s->ping || !s->pong)
        bench_fail("pingpong: weft_chan_new returned NULL");
    weft_task *t[2];
    t[0] = weft_spawn(pp_echo, s);
    t[1] = weft_spawn(pp_pinger, s);
    if (!t[0] || !t[1])
        bench_fail("pingpong: weft_spawn returned NULL");
    bench_check(weft_gather(t, 2, NULL), "pingpong: weft_gather");
    weft_chan_free(s->ping);
    weft_chan_free(s->pong);
    return NULL;
}

void bench_pingpong(unsigned workers)
{
    struct pp s = {0};
    unsigned w = bench_run(workers, pp_main, &s, NULL);
    bench_out("pingpong", w, (double)s.ns / PP_N, "ns_per_roundtrip");
}

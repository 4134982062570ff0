/* weft HTTP — the Date header (RFC 9110 IMF-fixdate).
 *
 * Every response carries it, so formatting it per response would cost a gmtime and a
 * strftime each time. Each thread keeps the string of the current second and reformats
 * it only when the second changes. The cache is thread-local and only touched inside
 * this non-inlined function, which never suspends, so a task moving between workers
 * never keeps another thread's address. */
#include "io/http/internal.h"

#include <time.h>

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static __thread time_t cached_sec = -1;
static __thread char cached[WEFT__HTTP_DATE_LEN + 1];

static void two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

static void format(time_t sec, char *p)
{
    struct tm tm;
    gmtime_r(&sec, &tm);
    memcpy(p, wdays[tm.tm_wday % 7], 3);
    p[3] = ',';
    p[4] = ' ';
    two(p + 5, tm.tm_mday);
    p[7] = ' ';
    memcpy(p + 8, months[tm.tm_mon % 12], 3);
    p[11] = ' ';
    int y = tm.tm_year + 1900;
    two(p + 12, (y / 100) % 100);
    two(p + 14, y % 100);
    p[16] = ' ';
    two(p + 17, tm.tm_hour);
    p[19] = ':';
    two(p + 20, tm.tm_min);
    p[22] = ':';
    two(p + 23, tm.tm_sec);
    memcpy(p + 25, " GMT", 4);
}

__attribute__((noinline)) void weft__http_date(char out[WEFT__HTTP_DATE_LEN])
{
    /* The coarse clock is a vDSO read of the last tick: plenty for one-second text. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != cached_sec) {
        format(ts.tv_sec, cached);
        cached_sec = ts.tv_sec;
    }
    memcpy(out, cached, WEFT__HTTP_DATE_LEN);
}

/* fuzz_http_request — libFuzzer target for the server's request assembly
 * (io/http/request.c over llhttp), the code every byte from the network goes through.
 *
 * Each input is parsed twice: whole, and cut into pieces whose sizes come from the
 * input's first bytes (every piece copied to its own exact-size allocation, so ASan
 * sees any read past what a recv would have delivered). Checked on every request:
 * the view is well formed (NUL-terminated strings, path the target's part before its
 * '?' (after the authority in absolute form), query after the '?', body within the
 * limit and NUL-terminated, header count within the limit, names non-empty tokens,
 * lookup finds them). And the two runs must agree:
 * the same requests, in the same order, and the same end (refused, closed, or more
 * input wanted), since how bytes are split across recvs must never change what the
 * server accepts. */
#include "io/http/internal.h"

#include <ctype.h>
#include <stdio.h>

static const weft__http_limits limits = {
    .max_header_bytes = 512, /* small, so the fuzzer reaches every limit */
    .max_target_bytes = 128,
    .max_body_bytes = 1024,
    .max_headers = 12,
};

#define MAX_REQS 64

typedef struct outcome {
    uint64_t digest[MAX_REQS];
    int n;
    int verdict; /* 0: ran out of input; -STATUS: refused; 1: closed after !keep_alive */
} outcome;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s, strlen(s) + 1);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http_request: check failed: %s (line %d)\n", #cond, __LINE__);   \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static uint64_t check_request(const weft_http_req *r)
{
    CHECK(r->method && r->target && r->path && r->query && r->body && r->headers);
    size_t tl = strlen(r->target), pl = strlen(r->path);
    CHECK(tl <= limits.max_target_bytes);
    /* The path is the target up to its '?', after the authority in absolute form
     * ("scheme://authority/path", "/" when it has no path); the query follows the '?'. */
    const char *qm = strchr(r->target, '?');
    size_t bl = qm ? (size_t)(qm - r->target) : tl;
    size_t sl = 0; /* scheme length: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (bl && isalpha((unsigned char)r->target[0]))
        while (sl < bl && (isalnum((unsigned char)r->target[sl]) || strchr("+-.", r->target[sl])))
            sl++;
    if (sl && bl - sl >= 3 && memcmp(r->target + sl, "://", 3) == 0) {
        const char *slash = memchr(r->target + sl + 3, '/', bl - sl - 3);
        if (slash)
            CHECK(pl == bl - (size_t)(slash - r->target) && memcmp(r->path, slash, pl) == 0);
        else
            CHECK(strcmp(r->path, "/") == 0);
    } else {
        CHECK(pl == bl && memcmp(r->path, r->target, pl) == 0);
    }
    CHECK(strcmp(r->query, qm ? qm + 1 : "") == 0);
    CHECK(r->body_len <= limits.max_body_bytes);
    CHECK(r->body[r->body_len] == '\0');
    CHECK(r->nheaders <= limits.max_headers);
    CHECK(r->version_minor >= 0 && r->version_minor <= 9);
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv_str(h, r->method);
    h = fnv_str(h, r->target);
    h = fnv_str(h, r->query);
    h = fnv(h, &r->version_minor, sizeof r->version_minor);
    h = fnv(h, &r->keep_alive, sizeof r->keep_alive);
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *n = r->headers[i].name, *v = r->headers[i].value;
        CHECK(n[0] != '\0' && !strpbrk(n, " \t:\r\n"));
        CHECK(!strpbrk(v, "\r\n"));
        CHECK(weft_http_req_header(r, n) != NULL);
        h = fnv_str(fnv_str(h, n), v);
    }
    return fnv(h, r->body, r->body_len);
}

/* Parses data in pieces: cuts[] gives piece sizes (cycled), none = one piece. */
static void parse(const uint8_t *data, size_t size, const uint8_t *cuts, size_t ncuts, outcome *out)
{
    weft__http_rp rp;
    weft__http_rp_init(&rp, &limits);
    out->n = 0;
    out->verdict = 0;
    size_t pos = 0, ci = 0;
    while (pos < size && !out->verdict) {
        size_t step = ncuts ? 1 + cuts[ci++ % ncuts] : size - pos;
        if (step > size - pos)
            step = size - pos;
        char *piece = malloc(step);
        CHECK(piece != NULL);
        memcpy(piece, data + pos, step);
        size_t off = 0;
        while (off < step && !out->verdict) {
            size_t used = 0, avail = step - off;
            int rc = weft__http_rp_push(&rp, piece + off, step - off, &used);
            CHECK(used <= step - off);
            off += used;
            if (rc == WEFT__RP_REQUEST) {
                weft_http_req req;
                weft__http_rp_request(&rp, &req);
                uint64_t d = check_request(&req);
                if (out->n < MAX_REQS)
                    out->digest[out->n] = d;
                out->n++;
                if (!req.keep_alive)
                    out->verdict = 1; /* the server closes here */
                else
                    weft__http_rp_next(&rp);
            } else if (rc < 0) {
                CHECK(rc == -400 || rc == -413 || rc == -414 || rc == -417 || rc == -431 ||
                      rc == -501 || rc == -505);
                CHECK(weft__http_rp_reason(&rp)[0] != '\0');
                out->verdict = rc;
            } else {
                CHECK(rc == WEFT__RP_MORE && used == avail);
            }
        }
        free(piece);
        pos += step;
    }
    weft__http_rp_fini(&rp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first 4 bytes pick the cut sizes when the input is long enough. */
    size_t ncuts = size > 8 ? 4 : 0;
    const uint8_t *cuts = data;
    const uint8_t *req = data + ncuts;
    size_t len = size - ncuts;
    static outcome whole, split;
    parse(req, len, NULL, 0, &whole);
    parse(req, len, cuts, ncuts ? ncuts : 1, &split);
    CHECK(whole.n == split.n);
    /* Which refusal comes first may depend on arrival (a target that grows past its
     * limit in one piece and holds a bad byte later: 414 cut, 400 whole); that it is
     * refused, and after which requests, may not. */
    CHECK(whole.verdict == split.verdict || (whole.verdict < 0 && split.verdict < 0));
    for (int i = 0; i < whole.n && i < MAX_REQS; i++)
        CHECK(whole.digest[i] == split.digest[i]);
    return 0;
}

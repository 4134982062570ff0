/* A small strict JSON parser for tests (see json_check.h). Recursive descent with a depth
 * limit; rejects what RFC 8259 rejects: trailing commas, control characters in strings,
 * bad escapes, leading zeros, a lone minus, anything after the value. */
#include "json_check.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t len, pos;
    int fail;
} parser;

static void ws(parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
        p->pos++;
}

static int peek(parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int value(parser *p, jv *v, int depth);

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *string(parser *p)
{
    if (peek(p) != '"')
        return NULL;
    p->pos++;
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (;;) {
        int c = peek(p);
        if (c < 0x20) /* end of input or a raw control character */
            goto bad;
        p->pos++;
        if (c == '"')
            break;
        if (c == '\\') {
            int e = peek(p);
            p->pos++;
            switch (e) {
            case '"':
                c = '"';
                break;
            case '\\':
                c = '\\';
                break;
            case '/':
                c = '/';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u': {
                int cp = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(peek(p));
                    if (h < 0)
                        goto bad;
                    cp = cp * 16 + h;
                    p->pos++;
                }
                c = cp < 0x80 ? cp : '?';
                break;
            }
            default:
                goto bad;
            }
        }
        if (n + 2 > cap) {
            char *o = realloc(out, cap *= 2);
            if (!o)
                goto bad;
            out = o;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static int number(parser *p, jv *v)
{
    size_t start = p->pos;
    if (peek(p) == '-')
        p->pos++;
    if (peek(p) == '0') {
        p->pos++;
    } else if (peek(p) >= '1' && peek(p) <= '9') {
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    } else {
        return -1;
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return -1;
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return -1;
        while (peek(p) >= '0' && peek(p) <= '9')
            p->pos++;
    }
    char tmp[64];
    size_t n = p->pos - start;
    if (n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    v->type = JV_NUM;
    v->num = strtod(tmp, NULL);
    return 0;
}

static int push(jv *v, size_t *cap, char *key)
{
    if (v->n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        jv *it = realloc(v->items, c * sizeof(*it));
        if (!it)
            return -1;
        v->items = it;
        if (v->type == JV_OBJ) {
            char **k = realloc(v->keys, c * sizeof(*k));
            if (!k)
                return -1;
            v->keys = k;
        }
        *cap = c;
    }
    memset(&v->items[v->n], 0, sizeof(jv));
    if (v->type == JV_OBJ)
        v->keys[v->n] = key;
    v->n++;
    return 0;
}

static int container(parser *p, jv *v, int depth, int close)
{
    size_t cap = 0;
    p->pos++;
    ws(p);
    if (peek(p) == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        ws(p);
        if (v->type == JV_OBJ) {
            if (!(key = string(p)))
                return -1;
            ws(p);
            if (peek(p) != ':') {
                free(key);
                return -1;
            }
            p->pos++;
        }
        if (push(v, &cap, key) < 0) {
            free(key);
            return -1;
        }
        if (value(p, &v->items[v->n - 1], depth + 1) < 0)
            return -1;
        ws(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == close) {
            p->pos++;
            return 0;
        }
        return -1;
    }
}

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return -1;
    p->pos += n;
    return 0;
}

static int value(parser *p, jv *v, int depth)
{
    if (depth > 64)
        return -1;
    ws(p);
    int c = peek(p);
    switch (c) {
    case '{':
        v->type = JV_OBJ;
        return container(p, v, depth, '}');
    case '[':
        v->type = JV_ARR;
        return container(p, v, depth, ']');
    case '"':
        v->type = JV_STR;
        return (v->str = string(p)) ? 0 : -1;
    case 't':
        v->type = JV_BOOL, v->num = 1;
        return literal(p, "true");
    case 'f':
        v->type = JV_BOOL;
        return literal(p, "false");
    case 'n':
        v->type = JV_NULL;
        return literal(p, "null");
    default:
        return number(p, v);
    }
}

static void release(jv *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        release(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

jv *json_parse(const char *s, size_t len, size_t *err_off)
{
    parser p = {s, len, 0, 0};
    jv *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    int rc = value(&p, v, 0);
    ws(&p);
    if (rc < 0 || p.pos != len) {
        if (err_off)
            *err_off = p.pos;
        json_free(v);
        return NULL;
    }
    return v;
}

const jv *json_get(const jv *o, const char *key)
{
    if (!o || o->type != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return &o->items[i];
    return NULL;
}

void json_free(jv *v)
{
    if (!v)
        return;
    release(v);
    free(v);
}

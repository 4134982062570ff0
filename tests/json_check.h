/* A small strict JSON parser (RFC 8259 grammar) for tests that check a program's JSON
 * output without python: parses into a tree, or fails with the offset of the error. */
#ifndef WEFT_TESTS_JSON_CHECK_H
#define WEFT_TESTS_JSON_CHECK_H

#include <stddef.h>

enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

typedef struct jv {
    int type;
    double num;       /* JV_NUM; JV_BOOL: 0 or 1 */
    char *str;        /* JV_STR: the decoded string (\u escapes below 0x80 decoded, others '?') */
    struct jv *items; /* JV_ARR, JV_OBJ: n values */
    char **keys;      /* JV_OBJ: n keys */
    size_t n;
} jv;

/* Parses exactly one JSON value (surrounded by optional whitespace). NULL on error, with
 * *err_off set to the byte offset where parsing failed. */
jv *json_parse(const char *s, size_t len, size_t *err_off);
const jv *json_get(const jv *obj, const char *key); /* NULL if absent or not an object */
void json_free(jv *v);

#endif

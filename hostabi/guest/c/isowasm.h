/*
 * isowasm.h: the isowasm guest ABI (version 1) for C, with clang and wasi-libc.
 *
 * A worker is a WASI reactor. In exactly one .c file:
 *
 *     #define ISOWASM_IMPLEMENTATION
 *     #include "isowasm.h"
 *
 * then define isowasm_on_message (required) and, if you want them,
 * isowasm_init, isowasm_on_disconnect, isowasm_on_timer (required when you
 * call isowasm_set_timer) and isowasm_on_exit: their declarations below
 * already carry the export names. Build:
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-all \
 *         -I hostabi/guest/c -o worker.wasm worker.c
 *
 * Messages are CBOR values with JSON semantics (maps with text keys, arrays,
 * text, numbers, true, false, null). The small reader and writer below cover
 * them; the reader takes definite-length items, which is what isowasm
 * primaries send. The full contract is hostabi/ABI.md.
 */
#ifndef ISOWASM_H
#define ISOWASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ISOWASM_ABI_VERSION 1

#define ISOWASM_IMPORT(name) __attribute__((import_module("isowasm"), import_name(name)))
#define ISOWASM_EXPORT(name) __attribute__((export_name(name)))

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes of the host functions that can fail. */
enum {
    ISOWASM_OK = 0,
    ISOWASM_ECLOSED = -1,    /* the channel to the primary is closed */
    ISOWASM_EMALFORMED = -2, /* not one CBOR value with JSON semantics */
    ISOWASM_ETOOLARGE = -3,  /* over the frame size limit */
    ISOWASM_EBOUNDS = -4,    /* pointer and length outside the memory */
    ISOWASM_EAGAIN = -5,     /* destroy was already called */
    ISOWASM_ELISTEN = -6,    /* HTTP: http_listen failed (the reason is on stderr) */
    ISOWASM_EUNKNOWN = -7    /* HTTP: no such request (answered already) or server */
};

/* What isowasm_init returns. */
enum {
    ISOWASM_INIT_READY = 0,   /* the host tells the primary "ready" */
    ISOWASM_INIT_ERROR = 1,   /* initialize error: the worker exits with 1 */
    ISOWASM_INIT_NO_READY = 2 /* the host says nothing; the worker lives on */
};

/* Levels of isowasm_log. */
enum { ISOWASM_LOG_INFO = 0, ISOWASM_LOG_WARN = 1, ISOWASM_LOG_ERROR = 2 };

/* Imports: the host functions. */
ISOWASM_IMPORT("send") int32_t isowasm_send(const void *cbor, size_t len);
ISOWASM_IMPORT("worker_id") int32_t isowasm_worker_id(void);
ISOWASM_IMPORT("set_timer") int32_t isowasm_set_timer(int32_t delay_ms);
ISOWASM_IMPORT("clear_timer") int32_t isowasm_clear_timer(int32_t id);
ISOWASM_IMPORT("log") void isowasm_log(int32_t level, const char *text, size_t len);
ISOWASM_IMPORT("disconnect") int32_t isowasm_disconnect(void);
ISOWASM_IMPORT("destroy") int32_t isowasm_destroy(int32_t timeout_ms); /* < 0: 6765 ms */

/* Exports: define the ones you need (isowasm_on_message always). */
ISOWASM_EXPORT("isowasm_init") int32_t isowasm_init(void);
ISOWASM_EXPORT("isowasm_on_message") void isowasm_on_message(const uint8_t *msg, size_t len);
ISOWASM_EXPORT("isowasm_on_disconnect") void isowasm_on_disconnect(void);
ISOWASM_EXPORT("isowasm_on_timer") void isowasm_on_timer(int32_t id);
ISOWASM_EXPORT("isowasm_on_exit") void isowasm_on_exit(int32_t code);

/* Provided by ISOWASM_IMPLEMENTATION. */
ISOWASM_EXPORT("isowasm_abi_v1") void isowasm_abi_v1(void);
ISOWASM_EXPORT("isowasm_alloc") void *isowasm_alloc(size_t size);

static inline void isowasm_log_text(int32_t level, const char *text) {
    isowasm_log(level, text, strlen(text));
}

/* ---- CBOR writer ---------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool overflow; /* set when buf was too small: do not send */
} isowasm_writer;

static inline void isowasm_writer_init(isowasm_writer *w, uint8_t *buf, size_t cap) {
    w->buf = buf;
    w->len = 0;
    w->cap = cap;
    w->overflow = false;
}

static inline void isowasm__put(isowasm_writer *w, const void *p, size_t n) {
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static inline void isowasm__head(isowasm_writer *w, uint8_t major, uint64_t n) {
    uint8_t h[9];
    size_t k = 0;
    major <<= 5;
    if (n < 24) {
        h[k++] = major | (uint8_t)n;
    } else if (n <= 0xff) {
        h[k++] = major | 24;
        h[k++] = (uint8_t)n;
    } else if (n <= 0xffff) {
        h[k++] = major | 25;
        h[k++] = (uint8_t)(n >> 8);
        h[k++] = (uint8_t)n;
    } else if (n <= 0xffffffffu) {
        h[k++] = major | 26;
        for (int s = 24; s >= 0; s -= 8) h[k++] = (uint8_t)(n >> s);
    } else {
        h[k++] = major | 27;
        for (int s = 56; s >= 0; s -= 8) h[k++] = (uint8_t)(n >> s);
    }
    isowasm__put(w, h, k);
}

static inline void isowasm_write_map(isowasm_writer *w, size_t pairs) { isowasm__head(w, 5, pairs); }
static inline void isowasm_write_array(isowasm_writer *w, size_t items) { isowasm__head(w, 4, items); }
static inline void isowasm_write_textn(isowasm_writer *w, const char *s, size_t n) {
    isowasm__head(w, 3, n);
    isowasm__put(w, s, n);
}
static inline void isowasm_write_text(isowasm_writer *w, const char *s) { isowasm_write_textn(w, s, strlen(s)); }
static inline void isowasm_write_int(isowasm_writer *w, int64_t v) {
    if (v < 0) isowasm__head(w, 1, (uint64_t)(-(v + 1)));
    else isowasm__head(w, 0, (uint64_t)v);
}
static inline void isowasm_write_bool(isowasm_writer *w, bool v) {
    uint8_t b = v ? 0xf5 : 0xf4;
    isowasm__put(w, &b, 1);
}
static inline void isowasm_write_null(isowasm_writer *w) {
    uint8_t b = 0xf6;
    isowasm__put(w, &b, 1);
}
/* A JavaScript number: integral values as integers, NaN and infinities as null. */
static inline void isowasm_write_number(isowasm_writer *w, double v) {
    if (v != v || v - v != 0) {
        isowasm_write_null(w);
    } else if (v == (double)(int64_t)v && v <= 9007199254740992.0 && v >= -9007199254740992.0) {
        isowasm_write_int(w, (int64_t)v);
    } else {
        uint64_t bits;
        memcpy(&bits, &v, 8);
        uint8_t b = 0xfb;
        isowasm__put(w, &b, 1);
        uint8_t p[8];
        for (int i = 0; i < 8; i++) p[i] = (uint8_t)(bits >> (56 - 8 * i));
        isowasm__put(w, p, 8);
    }
}
/* Appends an already encoded CBOR value (such as a part of a message). */
static inline void isowasm_write_raw(isowasm_writer *w, const uint8_t *p, size_t n) { isowasm__put(w, p, n); }

/* Sends what w holds: an ISOWASM_ status (ISOWASM_ETOOLARGE on overflow). */
static inline int32_t isowasm_send_writer(const isowasm_writer *w) {
    if (w->overflow) return ISOWASM_ETOOLARGE;
    return isowasm_send(w->buf, w->len);
}

/* ---- CBOR reader ---------------------------------------------------- */

/* A value inside a message: where it starts and where the message ends. */
typedef struct {
    const uint8_t *p, *end;
} isowasm_value;

enum {
    ISOWASM_INVALID = 0,
    ISOWASM_NUMBER,
    ISOWASM_TEXT,
    ISOWASM_ARRAY,
    ISOWASM_MAP,
    ISOWASM_BOOL,
    ISOWASM_NULL,
    ISOWASM_BYTES
};

static inline isowasm_value isowasm_message(const uint8_t *msg, size_t len) {
    isowasm_value v = {msg, msg + len};
    return v;
}

/* Reads a head: *major, the argument in *n; returns the bytes after it or NULL. */
static inline const uint8_t *isowasm__read_head(const uint8_t *p, const uint8_t *end, int *major, uint64_t *n) {
    if (p >= end) return NULL;
    uint8_t info = *p & 0x1f;
    *major = *p++ >> 5;
    size_t size = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
    if (info < 24) {
        *n = info;
        return p;
    }
    if (size == 0 || (size_t)(end - p) < size) return NULL; /* indefinite or reserved */
    *n = 0;
    for (size_t i = 0; i < size; i++) *n = (*n << 8) | p[i];
    return p + size;
}

static inline int isowasm_type(isowasm_value v) {
    int major;
    uint64_t n;
    if (!isowasm__read_head(v.p, v.end, &major, &n)) return ISOWASM_INVALID;
    switch (major) {
    case 0: case 1: return ISOWASM_NUMBER;
    case 2: return ISOWASM_BYTES;
    case 3: return ISOWASM_TEXT;
    case 4: return ISOWASM_ARRAY;
    case 5: return ISOWASM_MAP;
    case 7:
        switch (*v.p & 0x1f) {
        case 20: case 21: return ISOWASM_BOOL;
        case 22: case 23: return ISOWASM_NULL;
        case 25: case 26: case 27: return ISOWASM_NUMBER;
        }
    }
    return ISOWASM_INVALID;
}

/* Returns the value after v (v skipped), or one with p == NULL. */
static inline isowasm_value isowasm_next(isowasm_value v) {
    int major;
    uint64_t n;
    isowasm_value bad = {NULL, v.end};
    const uint8_t *p = isowasm__read_head(v.p, v.end, &major, &n);
    if (!p) return bad;
    switch (major) {
    case 2: case 3:
        if ((uint64_t)(v.end - p) < n) return bad;
        p += n;
        break;
    case 4: case 5: {
        uint64_t items = major == 5 ? 2 * n : n;
        isowasm_value e = {p, v.end};
        for (uint64_t i = 0; i < items; i++) {
            e = isowasm_next(e);
            if (!e.p) return bad;
        }
        p = e.p;
        break;
    }
    case 6: {
        isowasm_value e = {p, v.end};
        return isowasm_next(e);
    }
    }
    isowasm_value r = {p, v.end};
    return r;
}

/* Finds key in a map value; *out is its value. */
static inline bool isowasm_get(isowasm_value map, const char *key, isowasm_value *out) {
    int major;
    uint64_t n;
    const uint8_t *p = isowasm__read_head(map.p, map.end, &major, &n);
    if (!p || major != 5) return false;
    size_t klen = strlen(key);
    isowasm_value e = {p, map.end};
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        const uint8_t *k = isowasm__read_head(e.p, e.end, &major, &len);
        isowasm_value val = isowasm_next(e);
        if (!k || !val.p) return false;
        if (major == 3 && len == klen && memcmp(k, key, klen) == 0) {
            *out = val;
            return true;
        }
        e = isowasm_next(val);
        if (!e.p) return false;
    }
    return false;
}

static inline bool isowasm_text(isowasm_value v, const char **s, size_t *len) {
    int major;
    uint64_t n;
    const uint8_t *p = isowasm__read_head(v.p, v.end, &major, &n);
    if (!p || major != 3 || (uint64_t)(v.end - p) < n) return false;
    *s = (const char *)p;
    *len = (size_t)n;
    return true;
}

static inline bool isowasm_text_is(isowasm_value v, const char *want) {
    const char *s;
    size_t n;
    return isowasm_text(v, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
}

static inline bool isowasm_number(isowasm_value v, double *out) {
    int major;
    uint64_t n;
    const uint8_t *p = isowasm__read_head(v.p, v.end, &major, &n);
    if (!p) return false;
    if (major == 0) {
        *out = (double)n;
        return true;
    }
    if (major == 1) {
        *out = -1.0 - (double)n;
        return true;
    }
    if (major != 7) return false;
    switch (*v.p & 0x1f) {
    case 25: { /* half */
        int e = (int)(n >> 10) & 0x1f;
        double f = (double)(n & 0x3ff), r;
        if (e == 0) r = f / 16777216.0;
        else if (e == 31) r = f == 0 ? 1.0 / 0.0 : 0.0 / 0.0;
        else {
            r = (f + 1024) / 1024.0;
            for (; e > 15; e--) r *= 2;
            for (; e < 15; e++) r /= 2;
        }
        *out = (n & 0x8000) ? -r : r;
        return true;
    }
    case 26: {
        uint32_t b = (uint32_t)n;
        float f;
        memcpy(&f, &b, 4);
        *out = f;
        return true;
    }
    case 27:
        memcpy(out, &n, 8);
        return true;
    }
    return false;
}

/* A byte string (as HTTP bodies are). */
static inline bool isowasm_bytes(isowasm_value v, const uint8_t **p, size_t *len) {
    int major;
    uint64_t n;
    const uint8_t *q = isowasm__read_head(v.p, v.end, &major, &n);
    if (!q || major != 2 || (uint64_t)(v.end - q) < n) return false;
    *p = q;
    *len = (size_t)n;
    return true;
}

static inline void isowasm_write_bytes(isowasm_writer *w, const void *p, size_t n) {
    isowasm__head(w, 2, n);
    isowasm__put(w, p, n);
}

/* The "type" field of a message, as text; false when there is none. */
static inline bool isowasm_message_type(isowasm_value msg, const char **type, size_t *len) {
    isowasm_value t;
    return isowasm_get(msg, "type", &t) && isowasm_text(t, type, len);
}

/* ---- HTTP extension ---------------------------------------------------
 *
 * A worker that serves HTTP (hostabi/ABI.md, "Extension: HTTP servers")
 * defines ISOWASM_HTTP before including this header in its
 * ISOWASM_IMPLEMENTATION file, calls isowasm_http_listen (from isowasm_init,
 * say) and defines isowasm_on_http_request, which answers each request
 * with isowasm_http_respond, at once or later. A request is a CBOR map:
 * method, url, httpVersion (text), headers (an array: lower-case name,
 * value, name, value...), body (bytes), remoteAddress (text), remotePort,
 * server (integers). A response is a map: status (integer), headers (an
 * array of texts as above, or a map of name to text), body (bytes or text).
 */
ISOWASM_IMPORT("http_listen") int32_t isowasm_http_listen(int32_t port, const char *host, size_t host_len);
ISOWASM_IMPORT("http_respond") int32_t isowasm_http_respond(int32_t request_id, const void *cbor, size_t len);
ISOWASM_IMPORT("http_close") int32_t isowasm_http_close(int32_t server_id);
ISOWASM_EXPORT("isowasm_on_http_request") void isowasm_on_http_request(int32_t request_id, const uint8_t *request, size_t len);
ISOWASM_EXPORT("isowasm_http_v1") void isowasm_http_v1(void);

/* Finds a request header by its lower-case name; *value is its first value. */
static inline bool isowasm_http_header(isowasm_value request, const char *name, const char **value, size_t *len) {
    isowasm_value headers;
    int major;
    uint64_t n;
    if (!isowasm_get(request, "headers", &headers)) return false;
    const uint8_t *p = isowasm__read_head(headers.p, headers.end, &major, &n);
    if (!p || major != 4) return false;
    isowasm_value e = {p, headers.end};
    for (uint64_t i = 0; i + 1 < n; i += 2) {
        isowasm_value v = isowasm_next(e);
        if (!v.p) return false;
        if (isowasm_text_is(e, name)) return isowasm_text(v, value, len);
        e = isowasm_next(v);
        if (!e.p) return false;
    }
    return false;
}

/* Answers a request with a body and, unless content_type is NULL, a
 * Content-Type header. Returns an ISOWASM_ status. */
static inline int32_t isowasm_http_respond_body(int32_t request_id, int status, const char *content_type, const void *body, size_t len) {
    uint8_t small[512];
    size_t need = 64 + len + (content_type ? strlen(content_type) : 0);
    uint8_t *buf = need <= sizeof small ? small : (uint8_t *)__builtin_malloc(need);
    if (!buf) return ISOWASM_ETOOLARGE;
    isowasm_writer w;
    isowasm_writer_init(&w, buf, need);
    isowasm_write_map(&w, 3);
    isowasm_write_text(&w, "status");
    isowasm_write_int(&w, status);
    isowasm_write_text(&w, "headers");
    isowasm_write_array(&w, content_type ? 2 : 0);
    if (content_type) {
        isowasm_write_text(&w, "content-type");
        isowasm_write_text(&w, content_type);
    }
    isowasm_write_text(&w, "body");
    isowasm_write_bytes(&w, body, len);
    int32_t status_code = isowasm_http_respond(request_id, w.buf, w.len);
    if (buf != small) __builtin_free(buf);
    return status_code;
}

#ifdef ISOWASM_IMPLEMENTATION
#include <stdlib.h>

#ifdef ISOWASM_HTTP
void isowasm_http_v1(void) {}
#endif

void isowasm_abi_v1(void) {}

/* The host asks for room for each incoming message just before delivering
 * it, and never again before isowasm_on_message returns: one buffer does. */
static uint8_t *isowasm__inbox;
static size_t isowasm__inbox_cap;

void *isowasm_alloc(size_t size) {
    if (size > isowasm__inbox_cap) {
        uint8_t *p = realloc(isowasm__inbox, size);
        if (!p) return NULL; /* the host ends the worker */
        isowasm__inbox = p;
        isowasm__inbox_cap = size;
    }
    return isowasm__inbox;
}
#endif /* ISOWASM_IMPLEMENTATION */

#ifdef __cplusplus
}
#endif

#endif /* ISOWASM_H */

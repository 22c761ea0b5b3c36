/*
 * An isowasm worker in C: it answers the primary's messages the way the
 * reference scenarios' JS workers do (README.md lists the messages).
 * Build: see build.sh.
 */
#define ISOWASM_IMPLEMENTATION
#include "isowasm.h"

static uint8_t out[65536];

static void reply_type(const char *type, const char *key, isowasm_value *value, int64_t n, bool use_n) {
    isowasm_writer w;
    isowasm_writer_init(&w, out, sizeof out);
    isowasm_write_map(&w, 2);
    isowasm_write_text(&w, "type");
    isowasm_write_text(&w, type);
    isowasm_write_text(&w, key);
    if (use_n) {
        isowasm_write_int(&w, n);
    } else {
        isowasm_write_raw(&w, value->p, (size_t)(isowasm_next(*value).p - value->p));
    }
    isowasm_send_writer(&w);
}

static int recurse(volatile int n) {
    volatile char pad[64];
    pad[n % 64] = (char)n;
    return recurse(n + 1) + pad[(n + 1) % 64];
}

static int32_t pending_timers;

/* Every message so far, encoded one after the other (scenario 08). */
static uint8_t seen[32768];
static size_t seen_len, seen_count;

/* Scenario 08: {message, primaryMessages, type, [key: key]}. */
static void reply_typed(const uint8_t *msg, size_t len, const char *type, const char *key) {
    isowasm_writer w;
    isowasm_writer_init(&w, out, sizeof out);
    isowasm_write_map(&w, key ? 4 : 3);
    isowasm_write_text(&w, "message");
    isowasm_write_raw(&w, msg, len);
    isowasm_write_text(&w, "primaryMessages");
    isowasm_write_array(&w, seen_count);
    isowasm_write_raw(&w, seen, seen_len);
    isowasm_write_text(&w, "type");
    isowasm_write_text(&w, type);
    if (key) {
        isowasm_write_text(&w, key);
        isowasm_write_text(&w, key);
    }
    isowasm_send_writer(&w);
}

void isowasm_on_message(const uint8_t *msg, size_t len) {
    isowasm_value m = isowasm_message(msg, len), v;
    const char *type;
    size_t tlen;
    double d;
    if (seen_len + len <= sizeof seen) {
        memcpy(seen + seen_len, msg, len);
        seen_len += len;
        seen_count++;
    }
    if (isowasm_type(m) == ISOWASM_TEXT) {
        /* Scenario 15's replace worker. */
        if (isowasm_text_is(m, "destroy")) {
            isowasm_destroy(-1);
        } else if (isowasm_text_is(m, "exit")) {
            exit(0);
        } else if (isowasm_text_is(m, "throw")) {
            isowasm_log_text(ISOWASM_LOG_ERROR, "Error: Throwing an error on purpose");
            exit(1);
        }
        return;
    }
    if (!isowasm_message_type(m, &type, &tlen)) {
        /* Untyped: {count: n} -> {count: n + 1} (scenario 07). */
        if (isowasm_get(m, "count", &v) && isowasm_number(v, &d)) {
            isowasm_writer w;
            isowasm_writer_init(&w, out, sizeof out);
            isowasm_write_map(&w, 1);
            isowasm_write_text(&w, "count");
            isowasm_write_number(&w, d + 1);
            isowasm_send_writer(&w);
        }
        return;
    }
    isowasm_value t;
    isowasm_get(m, "type", &t);
    if (isowasm_text_is(t, "ping")) {
        reply_type("pong", "workerId", NULL, isowasm_worker_id(), true);
    } else if (isowasm_text_is(t, "echo")) {
        isowasm_send(msg, len);
    } else if (isowasm_text_is(t, "timer")) {
        d = 0;
        if (isowasm_get(m, "delay", &v)) isowasm_number(v, &d);
        isowasm_set_timer((int32_t)d);
        pending_timers++;
    } else if (isowasm_text_is(t, "destroy")) {
        d = -1;
        if (isowasm_get(m, "timeout", &v)) isowasm_number(v, &d);
        isowasm_destroy((int32_t)d);
    } else if (isowasm_text_is(t, "exit")) {
        d = 0;
        if (isowasm_get(m, "code", &v)) isowasm_number(v, &d);
        exit((int)d);
    } else if (isowasm_text_is(t, "trap")) {
        __builtin_trap();
    } else if (isowasm_text_is(t, "recurse")) {
        reply_type("depth", "depth", NULL, recurse(1), true);
    } else if (isowasm_text_is(t, "a")) {
        reply_typed(msg, len, "x", "x");
    } else if (isowasm_text_is(t, "b")) {
        reply_typed(msg, len, "y", "y");
    } else if (isowasm_text_is(t, "c")) {
        reply_typed(msg, len, "z", "z");
    } else if (isowasm_text_is(t, "replyUnknown")) {
        reply_typed(msg, len, "unknown", NULL);
    } else if (isowasm_text_is(t, "garbage")) {
        static const uint8_t garbage[] = {0xff, 0x00};
        int32_t status = isowasm_send(garbage, sizeof garbage);
        reply_type("garbage", "status", NULL, status, true);
    }
}

void isowasm_on_timer(int32_t id) {
    (void)id;
    pending_timers--;
    isowasm_writer w;
    isowasm_writer_init(&w, out, sizeof out);
    isowasm_write_map(&w, 2);
    isowasm_write_text(&w, "type");
    isowasm_write_text(&w, "timer");
    isowasm_write_text(&w, "fired");
    isowasm_write_bool(&w, true);
    isowasm_send_writer(&w);
}

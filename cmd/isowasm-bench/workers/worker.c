/*
 * isowasm-bench's compiled worker: what worker.js and ../peer/worker.js do,
 * in C against hostabi/guest/c/isowasm.h. {type: 'ping', n} is answered with
 * {type: 'pong', n}; {type: 'echo', ...} is sent back as it came. Build:
 * see build.sh.
 */
#define ISOWASM_IMPLEMENTATION
#include "isowasm.h"

static uint8_t out[64];

void isowasm_on_message(const uint8_t *msg, size_t len) {
    isowasm_value m = isowasm_message(msg, len), t, n;
    if (!isowasm_get(m, "type", &t)) return;
    if (isowasm_text_is(t, "ping")) {
        isowasm_writer w;
        isowasm_writer_init(&w, out, sizeof out);
        isowasm_write_map(&w, 2);
        isowasm_write_text(&w, "n");
        if (isowasm_get(m, "n", &n)) {
            isowasm_write_raw(&w, n.p, (size_t)(isowasm_next(n).p - n.p));
        } else {
            isowasm_write_null(&w);
        }
        isowasm_write_text(&w, "type");
        isowasm_write_text(&w, "pong");
        isowasm_send_writer(&w);
    } else if (isowasm_text_is(t, "echo")) {
        isowasm_send(msg, len);
    }
}

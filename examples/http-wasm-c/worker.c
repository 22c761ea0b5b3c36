/*
 * The isotropic-cluster README's "HTTP Server with Worker Processes" as a
 * compiled worker in C: every worker listens on the same port (PORT,
 * default 3000) and answers each request with its id. Build: see build.sh.
 */
#define ISOWASM_IMPLEMENTATION
#define ISOWASM_HTTP
#include "isowasm.h"

#include <stdlib.h>

static char hello[64];
static size_t hello_len;

/* Appends the decimal digits of n to s. */
static char *put_int(char *s, int n) {
    char digits[12];
    int k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (k > 0) *s++ = digits[--k];
    return s;
}

static char *put_text(char *s, const char *t) {
    while (*t) *s++ = *t++;
    return s;
}

int32_t isowasm_init(void) {
    int id = isowasm_worker_id();
    char *end = put_int(put_text(hello, "Hello from worker "), id);
    hello_len = (size_t)(end - hello);

    const char *env = getenv("PORT");
    int port = env ? atoi(env) : 3000;
    if (isowasm_http_listen(port, "", 0) < 0) {
        isowasm_log_text(ISOWASM_LOG_ERROR, "cannot listen (see the line above)");
        return ISOWASM_INIT_ERROR;
    }
    char line[96];
    end = put_int(put_text(put_int(put_text(line, "Worker "), id), " listening on port "), port);
    isowasm_log(ISOWASM_LOG_INFO, line, (size_t)(end - line));
    return ISOWASM_INIT_READY;
}

void isowasm_on_http_request(int32_t request_id, const uint8_t *request, size_t len) {
    (void)request;
    (void)len;
    isowasm_http_respond_body(request_id, 200, "text/plain", hello, hello_len);
}

/* Messages from the primary: none expected. */
void isowasm_on_message(const uint8_t *msg, size_t len) {
    (void)msg;
    (void)len;
}

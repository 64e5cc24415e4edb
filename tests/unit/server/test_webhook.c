/* test_webhook.c — the webhook sender (notify/webhook.c): the signature, the
 * URLs it accepts, and that posting never waits on a receiver: a receiver
 * that accepts and never answers fills the bounded queue, further events are
 * dropped and counted, and each post returns at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "webhook.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void signature_known_vector(void **state)
{
    (void)state;
    /* RFC 4231, test case 2 */
    char sig[72];
    static const char body[] = "what do ya want for nothing?";
    webhook_sign((const unsigned char *)"Jefe", 4, body, sizeof body - 1, sig);
    assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void urls(void **state)
{
    (void)state;
    static const char *const bad[] = {"https://127.0.0.1/hook", "ftp://127.0.0.1/", "127.0.0.1:9000/hook",
                                      "http://", "http:///path", "http://:80/x", "http://host/a b", ""};
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        webhook_config c = {.url = bad[i]};
        err[0] = 0;
        webhook *w = webhook_create(&c, err, sizeof err);
        if (w) {
            webhook_destroy(w, 0);
            fail_msg("URL '%s' was accepted", bad[i]);
        }
        assert_non_null(strstr(err, "webhook_url"));
    }
    unsigned char big[WEBHOOK_SECRET_MAX + 1] = {0};
    webhook_config c = {.url = "http://127.0.0.1:9/hook", .secret = big, .secret_len = sizeof big};
    assert_null(webhook_create(&c, err, sizeof err));
    assert_null(webhook_create(NULL, err, sizeof err));
    /* NULL webhook: the event is released, nothing happens */
    assert_int_equal(webhook_post(NULL, "x", json_object()), -1);
}

static void never_blocks_bounded_queue(void **state)
{
    (void)state;
    /* a receiver that accepts connections and never answers */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 16), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", ntohs(a.sin_port));
    char err[256];
    webhook_config c = {.url = url, .secret = (const unsigned char *)"k", .secret_len = 1, .tries = 2,
                        .backoff_ms = 100, .timeout_ms = 300, .queue_max = 4};
    webhook *w = webhook_create(&c, err, sizeof err);
    assert_non_null(w);
    double t0 = now_s();
    int ok = 0;
    for (int i = 0; i < 10; i++)
        ok += webhook_post(w, "device.banned", json_pack("{s:i}", "n", i)) == 0;
    double took = now_s() - t0;
    if (took > 0.2)
        fail_msg("10 posts took %.3f s: posting must not wait on the receiver", took);
    assert_int_equal(ok, 4);
    webhook_stats st;
    webhook_get_stats(w, &st);
    assert_int_equal(st.queued, 4);
    assert_int_equal(st.overflow, 6);
    /* each event: 2 tries of 300 ms (no answer) + 100 ms back-off; they go one at a time */
    for (int i = 0; i < 100; i++) {
        webhook_get_stats(w, &st);
        if (st.failed == 4)
            break;
        usleep(100000);
    }
    assert_int_equal(st.failed, 4);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(st.retries, 4);
    assert_int_equal(st.waiting, 0);
    webhook_destroy(w, 0);
    close(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_known_vector),
        cmocka_unit_test(urls),
        cmocka_unit_test(never_blocks_bounded_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

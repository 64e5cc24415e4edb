/*
 * fleet_push_itest — runs the fleet's push listener on loopback (no server
 * needed) and plays devices against it.
 *
 *   fleet_push_itest accept          acceptance line; a push queued for a
 *                                    sleeping device arrives when it connects
 *   fleet_push_itest rate N PER_S    N connected devices, one fleet-wide push:
 *                                    all get exactly one line, at the capped rate
 *   fleet_push_itest abuse           garbage, huge lines, idle floods,
 *                                    slowloris, the connection cap
 *   fleet_push_itest flood           a device streaming newlines does not
 *                                    delay another device's push
 *   fleet_push_itest mqtt HOST:PORT  publishes through a real broker; exact
 *                                    messages; a persistent session gets its
 *                                    QoS 1 message after reconnecting
 *   fleet_push_itest mqtt-reconnect HOST:PORT MOSQUITTO_SH DIR
 *                                    the broker restarts; a push made while it
 *                                    was down goes out after the reconnect
 * Exit status 0 when every check held; each failure is printed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "offleet.h"
#include "push_parse.h"

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- hooks ------------------------------------------------------------------ */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_lines[4];
static char log_seen[8][64]; /* keywords seen in warnings */
static const char *log_words[] = {"bad first line", "over 256 bytes", "no complete first line", "the cap",
                                  "idle", NULL};
static int log_word_count[8];

static void hook_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    pthread_mutex_lock(&log_mu);
    log_lines[level & 3]++;
    for (int i = 0; log_words[i]; i++)
        if (strstr(msg, log_words[i]))
            log_word_count[i]++;
    pthread_mutex_unlock(&log_mu);
    (void)log_seen;
    if (getenv("FLEET_ITEST_VERBOSE"))
        fprintf(stderr, "log[%d] %s\n", level, msg);
}

static int hook_url(void *ctx, const char *project, const char *firmware, const char *device, char *buf,
                    size_t size)
{
    (void)ctx;
    (void)device;
    snprintf(buf, size, "http://127.0.0.1:18080/api/site/firmware_upgrade?%s", "");
    (void)project;
    (void)firmware;
    return 0;
}

static int hook_device(void *ctx, const char *id, fleet_device_info *out)
{
    (void)ctx;
    (void)id;
    snprintf(out->project, sizeof out->project, "demo");
    snprintf(out->firmware, sizeof out->firmware, "FOTA2_DEMO_LuatOS-SoC_Air780EHV");
    return 0;
}

static int hook_package(void *ctx, const char *id, fleet_package_info *out)
{
    (void)ctx;
    if (strcmp(id, "42"))
        return -1;
    snprintf(out->project, sizeof out->project, "demo");
    snprintf(out->firmware, sizeof out->firmware, "FOTA2_DEMO_LuatOS-SoC_Air780EHV");
    snprintf(out->version, sizeof out->version, "2012.001.004");
    return 0;
}

static offleet *start_fleet(fleet_config *cfg)
{
    fleet_hooks h = {.check_url = hook_url, .device_info = hook_device, .package_info = hook_package,
                     .log = hook_log};
    offleet *f = fleet_create(cfg, &h);
    if (!f || fleet_start(f) != 0) {
        fprintf(stderr, "FAIL: the fleet did not start\n");
        exit(1);
    }
    return f;
}

static json_t *admin(offleet *f, const char *method, const char *path, const char *body)
{
    char *out = NULL;
    int st = 0;
    fleet_admin_handle(f, method, path, body, body ? strlen(body) : 0, &out, &st);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (st < 200 || st >= 300) {
        fprintf(stderr, "admin %s %s -> %d\n", method, path, st);
        json_decref(j);
        return NULL;
    }
    return j;
}

static long long tcp_stat(offleet *f, const char *key)
{
    json_t *j = admin(f, "GET", "/push", NULL);
    long long v = (long long)json_integer_value(json_object_get(json_object_get(j, "tcp"), key));
    json_decref(j);
    return v;
}

static int wait_stat(offleet *f, const char *key, long long want, int timeout_ms)
{
    double end = now_s() + timeout_ms / 1000.0;
    long long v;
    while ((v = tcp_stat(f, key)) < want && now_s() < end)
        sleep_ms(20);
    return v >= want;
}

/* ---- client sockets ------------------------------------------------------------ */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one line within timeout; returns its length, 0 on EOF, -1 on timeout. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t n = 0;
    double end = now_s() + timeout_ms / 1000.0;
    while (n + 1 < size) {
        int left = (int)((end - now_s()) * 1000);
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            return -1;
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r <= 0)
            return 0;
        if (buf[n] == '\n') {
            buf[n + 1] = '\0';
            return (int)n + 1;
        }
        n++;
    }
    return (int)n;
}

static int closed_by_peer(int fd, int timeout_ms)
{
    char b[512];
    double end = now_s() + timeout_ms / 1000.0;
    while (now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            ssize_t r = recv(fd, b, sizeof b, 0);
            if (r == 0 || (r < 0 && errno == ECONNRESET))
                return 1;
        }
    }
    return 0;
}

static void check_command(const char *line)
{
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    CHECK(j && json_is_object(j), "command is not a JSON object: %s", line);
    const char *fota = json_string_value(json_object_get(j, "fota"));
    const char *url = json_string_value(json_object_get(j, "url"));
    CHECK(fota && !strcmp(fota, "true"), "\"fota\" is not the string \"true\": %s", line);
    CHECK(url && *url && url[strlen(url) - 1] == '?', "url does not end in '?': %s", line);
    CHECK(line[strlen(line) - 1] == '\n' && !strchr(line, '\n')[1], "not exactly one line: %s", line);
    json_decref(j);
}

/* ---- accept ------------------------------------------------------------------------ */

static void test_accept(void)
{
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.push_listen = "127.0.0.1:0";
    cfg.rate_per_s = 1000;
    offleet *f = start_fleet(&cfg);
    int port = fleet_push_port(f);
    CHECK(port > 0, "no push port");

    /* the acceptance check */
    int fd = dial(port);
    CHECK(fd >= 0, "cannot connect to the push port");
    send_all(fd, "860000000000009\n", 16);
    CHECK(wait_stat(f, "identified", 1, 3000), "device not identified");
    json_t *r = admin(f, "POST", "/push", "{\"device\":\"860000000000009\"}");
    CHECK(r, "push refused");
    json_decref(r);
    char line[2048];
    int n = read_line(fd, line, sizeof line, 5000);
    CHECK(n > 0, "no command line received");
    if (n > 0) {
        check_command(line);
        printf("acceptance: device 860000000000009 received %s", line);
    }
    /* exactly one line */
    CHECK(read_line(fd, line, sizeof line, 300) == -1, "a second line arrived");

    /* with a running rollout the device may have, the command carries its
     * target version */
    json_decref(admin(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[100]}"));
    json_decref(admin(f, "POST", "/push", "{\"device\":\"860000000000009\"}"));
    n = read_line(fd, line, sizeof line, 5000);
    CHECK(n > 0 && strstr(line, "\"version\":\"2012.001.004\""), "no target version in the command: %s",
          n > 0 ? line : "(nothing)");
    if (n > 0)
        check_command(line);

    /* JSON identification and heartbeats keep it connected */
    int fd2 = dial(port);
    send_all(fd2, "{\"imei\":\"860000000000010\",\"version\":\"2012.1.3\"}\r\n", 50);
    send_all(fd2, "ping\n", 5);
    CHECK(wait_stat(f, "identified", 2, 3000), "JSON identification failed");

    /* a sleeping device: the push waits and arrives when it connects */
    r = admin(f, "POST", "/push", "{\"device\":\"860000000000011\",\"ttl_s\":60}");
    char path[128];
    snprintf(path, sizeof path, "/push/%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    sleep_ms(300);
    r = admin(f, "GET", path, NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "states"), "waiting")) == 1,
          "the push to a sleeping device is not waiting");
    json_decref(r);
    int fd3 = dial(port);
    send_all(fd3, "860000000000011\n", 16);
    n = read_line(fd3, line, sizeof line, 5000);
    CHECK(n > 0, "the waiting push was not delivered on connect");
    if (n > 0)
        check_command(line);
    sleep_ms(100);
    r = admin(f, "GET", path, NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "states"), "sent")) == 1,
          "the delivered push is not marked sent");
    json_decref(r);

    /* the same device connecting again replaces its older connection */
    int fd4 = dial(port);
    send_all(fd4, "860000000000009\n", 16);
    CHECK(closed_by_peer(fd, 3000), "the older connection of a reconnecting device stayed open");
    CHECK(wait_stat(f, "replaced", 1, 3000), "replacement not counted");
    close(fd);
    close(fd2);
    close(fd3);
    close(fd4);
    fleet_destroy(f);
}

/* ---- rate --------------------------------------------------------------------------- */

/* Seconds this process has been denied a CPU so far: the time its threads
 * spent runnable but waiting on a run queue (/proc/self/task/<tid>/schedstat,
 * second field, ns) plus the time the hypervisor took the machine's CPUs
 * away (steal, /proc/stat, all CPUs). Over a span, the difference bounds how
 * long the work in it may have been held up by a busy machine rather than by
 * the code under test. Counts only what the kernel reports (0 without it). */
static double cpu_denied_s(void)
{
    double s = 0;
    DIR *dir = opendir("/proc/self/task");
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[300];
            snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
            FILE *fp = fopen(path, "r");
            unsigned long long run, wait;
            if (fp && fscanf(fp, "%llu %llu", &run, &wait) == 2)
                s += (double)wait / 1e9;
            if (fp)
                fclose(fp);
        }
        closedir(dir);
    }
    FILE *fp = fopen("/proc/stat", "r");
    unsigned long long v[8];
    long hz = sysconf(_SC_CLK_TCK);
    if (fp && hz > 0 &&
        fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], &v[7]) == 8)
        s += (double)v[7] / (double)hz;
    if (fp)
        fclose(fp);
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_rate(int n, double per_s)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.push_listen = "127.0.0.1:0";
    cfg.rate_per_s = per_s;
    cfg.rate_burst = per_s / 50 > 1 ? per_s / 50 : 1; /* 20 ms worth: absorbs sleep jitter */
    const double burst = cfg.rate_burst;
    offleet *f = start_fleet(&cfg);
    int port = fleet_push_port(f);
    int *fds = calloc((size_t)n, sizeof *fds);
    double *t = calloc((size_t)n, sizeof *t);
    int *lines = calloc((size_t)n, sizeof *lines);
    char **ids = calloc((size_t)n, sizeof *ids);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        fds[i] = dial(port);
        if (fds[i] < 0) {
            CHECK(0, "connection %d failed: %s", i, strerror(errno));
            n = i;
            break;
        }
        ids[i] = malloc(24);
        snprintf(ids[i], 24, "86100%010d", i);
        char l[32];
        int len = snprintf(l, sizeof l, "%s\n", ids[i]);
        send_all(fds[i], l, (size_t)len);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    CHECK(wait_stat(f, "identified", n, 30000), "not all %d devices identified", n);
    printf("rate: %d devices connected and identified\n", n);
    char *pid = NULL;
    double denied0 = cpu_denied_s();
    double t0 = now_s(); /* no line can leave before this; nothing took a token yet */
    CHECK(fleet_push(f, (const char *const *)ids, (size_t)n, NULL, NULL, 600, &pid) == 0, "push failed");
    int got = 0, extra = 0;
    double deadline = t0 + n / per_s * 1.5 + 10;
    struct epoll_event evs[256];
    while (got < n && now_s() < deadline) {
        int k = epoll_wait(ep, evs, 256, 200);
        for (int e = 0; e < k; e++) {
            int i = (int)evs[e].data.u32;
            char b[4096];
            ssize_t r = recv(fds[i], b, sizeof b, 0);
            if (r <= 0)
                continue;
            for (ssize_t x = 0; x < r; x++) {
                if (b[x] != '\n')
                    continue;
                if (lines[i]++ == 0) {
                    t[i] = now_s();
                    got++;
                } else {
                    extra++;
                }
            }
        }
    }
    double denied = cpu_denied_s() - denied0;
    if (denied < 0)
        denied = 0; /* a thread that ended took its count with it */
    /* late duplicates */
    int k = epoll_wait(ep, evs, 256, 500);
    for (int e = 0; e < k; e++) {
        char b[4096];
        if (recv(fds[evs[e].data.u32], b, sizeof b, 0) > 0)
            extra++;
    }
    CHECK(got == n, "%d of %d devices got the command", got, n);
    CHECK(extra == 0, "%d devices got more than one line", extra);
    /* Receive times in order. Both checks below anchor on t0 rather than on
     * the first line received: a reader that is scheduled late moves its
     * first timestamp, and with it a first-to-last average, by as much. */
    double *rt = calloc((size_t)n + 1, sizeof *rt);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (lines[i])
            rt[m++] = t[i];
    qsort(rt, (size_t)m, sizeof *rt, cmp_double);
    /* The cap, as the token bucket bounds it: at t0 the bucket held at most
     * `burst` tokens and it refills at per_s, so by time T at most
     * burst + per_s * (T - t0) lines can have been sent, and a line is
     * received after it is sent. The k-th line received (1-based) may not
     * arrive before t0 + (k - burst) / per_s. A late reader cannot make this
     * fail; a dispatcher that sends faster than the cap, over any stretch of
     * the push, does. */
    double early = 0;
    int early_k = 0;
    for (int i = 0; i < m; i++) {
        double ahead = t0 + ((i + 1) - burst) / per_s - rt[i];
        if (ahead > early) {
            early = ahead;
            early_k = i + 1;
        }
    }
    /* The pace: at the cap the last line goes out (got - burst) / per_s after
     * t0. The dispatcher may take 1/0.85 of that (at least 85% of the cap),
     * plus the time this process spent waiting for a CPU meanwhile: a
     * dispatcher that is not run for longer than the 20 ms burst loses those
     * tokens, and a reader that is not run timestamps late, neither of which
     * is the product's pace. On an idle machine that time is near 0. */
    double took = m ? rt[m - 1] - t0 : 0;
    double ideal = got > burst ? (got - burst) / per_s : 0;
    double allowed = ideal / 0.85 + denied;
    printf("rate: %d commands in %.2f s after the push (%.2f s at the cap, %.1f/s overall), "
           "%.2f s waiting for a CPU: allowed %.2f s; %.1f/s configured, burst %.0f\n",
           got, took, ideal, took > 0 ? got / took : 0.0, denied, allowed, per_s, burst);
    CHECK(early <= 1e-3, "line %d arrived %.3f s before the %.1f/s cap (burst %.0f) allows it", early_k, early,
          per_s, burst);
    CHECK(took <= allowed, "the push took %.2f s, over the %.2f s allowed (%.2f s at %.1f/s, %.2f s waiting "
          "for a CPU)", took, allowed, ideal, per_s, denied);
    free(rt);
    /* the cap is visible in the status */
    json_t *st = admin(f, "GET", "/push", NULL);
    CHECK(json_real_value(json_object_get(json_object_get(st, "rate"), "per_s")) == per_s, "rate not visible");
    json_decref(st);
    free(pid);
    for (int i = 0; i < n; i++) {
        close(fds[i]);
        free(ids[i]);
    }
    close(ep);
    free(fds);
    free(t);
    free(lines);
    free(ids);
    fleet_destroy(f);
}

/* ---- abuse ---------------------------------------------------------------------------- */

static void test_abuse(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.push_listen = "127.0.0.1:0";
    /* long enough that 3,600 connections are all open before the first is
     * reaped, even on a loaded machine */
    cfg.handshake_ms = 5000;
    cfg.idle_s = 3;
    cfg.max_connections = 3500;
    cfg.rate_per_s = 1000;
    offleet *f = start_fleet(&cfg);
    int port = fleet_push_port(f);
    char line[1024];

    /* garbage first lines: an error line, then closed */
    const char *garbage[] = {"hello\n", "GET / HTTP/1.1\r\n", "{\"imei\":123}\n", "\xff\xfe\x00\x01\n", "{}\n",
                             "12345\n"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        int fd = dial(port);
        send_all(fd, garbage[i], i == 3 ? 5 : strlen(garbage[i]));
        int n = read_line(fd, line, sizeof line, 3000);
        CHECK(n > 0 && strstr(line, "\"error\""), "no error line for garbage #%zu", i);
        CHECK(closed_by_peer(fd, 3000), "garbage connection #%zu not closed", i);
        close(fd);
    }
    CHECK(wait_stat(f, "bad_first_line", 6, 2000), "garbage not counted");

    /* a huge line (1 MiB without a newline): closed at 256 bytes */
    {
        int fd = dial(port);
        char *big = malloc(1 << 20);
        memset(big, '8', 1 << 20);
        (void)!send(fd, big, 1 << 20, MSG_NOSIGNAL | MSG_DONTWAIT);
        free(big);
        CHECK(closed_by_peer(fd, 3000), "huge line did not close the connection");
        close(fd);
        CHECK(wait_stat(f, "long_lines", 1, 2000), "huge line not counted");
    }
    /* an identified device sending a huge heartbeat is closed too */
    {
        int fd = dial(port);
        send_all(fd, "860000000000077\n", 16);
        char big[600];
        memset(big, 'x', sizeof big);
        send_all(fd, big, sizeof big);
        CHECK(closed_by_peer(fd, 3000), "huge heartbeat did not close the connection");
        close(fd);
    }

    /* thousands of idle connections and a slowloris, while a real device
     * still connects and gets its command */
    int nidle = 3000;
    int *idle = calloc((size_t)nidle, sizeof *idle);
    for (int i = 0; i < nidle; i++)
        idle[i] = dial(port);
    int slow = dial(port);
    const char *slowtext = "860000000000055\n";
    /* over the cap: 3500 allowed, 3000 idle + slow + good = room left; open
     * 600 more to pass the cap */
    int extra_n = 600, refused = 0;
    int *extra = calloc((size_t)extra_n, sizeof *extra);
    for (int i = 0; i < extra_n; i++)
        extra[i] = dial(port);
    sleep_ms(300);
    long long cap_refusals = tcp_stat(f, "refused_cap");
    CHECK(cap_refusals >= 90, "connections over the cap were not refused (%lld)", cap_refusals);
    for (int i = 0; i < extra_n; i++) {
        if (extra[i] >= 0 && closed_by_peer(extra[i], 1))
            refused++;
    }
    printf("abuse: %d idle + %d more connections: %lld refused over the cap of %u\n", nidle, extra_n,
           cap_refusals, cfg.max_connections);
    double t0 = now_s();
    for (size_t i = 0; i < strlen(slowtext) && now_s() - t0 < 4.0; i++) {
        send_all(slow, slowtext + i, 1);
        sleep_ms(400);
    }
    CHECK(closed_by_peer(slow, 8000), "slowloris connection not closed at the handshake deadline");
    close(slow);
    /* the idle ones are closed at the handshake deadline, freeing room */
    CHECK(wait_stat(f, "handshake_timeouts", nidle, 15000), "idle connections not reaped (%lld)",
          tcp_stat(f, "handshake_timeouts"));
    int good = dial(port);
    send_all(good, "860000000000066\n", 16);
    CHECK(wait_stat(f, "identified", 1, 3000), "a good device could not get in after the flood");
    json_decref(admin(f, "POST", "/push", "{\"device\":\"860000000000066\"}"));
    int n = read_line(good, line, sizeof line, 3000);
    CHECK(n > 0, "the good device got no command after the flood");
    if (n > 0)
        check_command(line);
    /* identified but silent: closed after idle_s */
    CHECK(closed_by_peer(good, 6000), "idle identified device not closed after idle_s");
    CHECK(wait_stat(f, "idle_timeouts", 1, 2000), "idle timeout not counted");
    for (int i = 0; i < nidle; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    for (int i = 0; i < extra_n; i++)
        if (extra[i] >= 0)
            close(extra[i]);
    close(good);
    free(idle);
    free(extra);
    pthread_mutex_lock(&log_mu);
    printf("abuse: logged %d bad-first-line, %d long-line, %d handshake-timeout, %d cap, %d idle lines "
           "(rate-limited)\n",
           log_word_count[0], log_word_count[1], log_word_count[2], log_word_count[3], log_word_count[4]);
    CHECK(log_word_count[0] >= 1 && log_word_count[1] >= 1 && log_word_count[2] >= 1 && log_word_count[3] >= 1,
          "refusals were not logged");
    pthread_mutex_unlock(&log_mu);
    json_t *st = admin(f, "GET", "/push", NULL);
    char *s = json_dumps(json_object_get(st, "tcp"), JSON_COMPACT);
    printf("abuse: tcp status %s\n", s);
    free(s);
    json_decref(st);
    fleet_destroy(f);
    (void)refused;
}

/* ---- flood ----------------------------------------------------------------------------- */

struct flooder {
    int fd;
    volatile int stop;
    long long sent;
};

static void *flood_thread(void *arg)
{
    struct flooder *fl = arg;
    static char nl[65536];
    memset(nl, '\n', sizeof nl);
    while (!fl->stop) {
        ssize_t w = send(fl->fd, nl, sizeof nl, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        fl->sent += w;
    }
    return NULL;
}

/* An identified device streams newlines as fast as loopback carries them;
 * meanwhile another device connects and must get its push at once (the one
 * listener thread is never held by the flooder), and the flooder is closed. */
static void test_flood(void)
{
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.push_listen = "127.0.0.1:0";
    cfg.rate_per_s = 1000;
    offleet *f = start_fleet(&cfg);
    int port = fleet_push_port(f);
    struct flooder fl = {.fd = dial(port)};
    CHECK(fl.fd >= 0, "cannot connect the flooder");
    send_all(fl.fd, "860000000000088\n", 16);
    CHECK(wait_stat(f, "identified", 1, 3000), "flooder not identified");
    pthread_t th;
    pthread_create(&th, NULL, flood_thread, &fl);
    sleep_ms(200);
    double t0 = now_s();
    int fd = dial(port);
    send_all(fd, "860000000000089\n", 16);
    /* a push for a device not connected yet waits and goes out when it identifies */
    json_t *pr = admin(f, "POST", "/push", "{\"device\":\"860000000000089\",\"ttl_s\":60}");
    int ok = pr != NULL;
    json_decref(pr);
    char line[1024];
    int n = read_line(fd, line, sizeof line, 5000);
    double took = now_s() - t0;
    printf("flood: %lld newline bytes sent; the other device connected and got its push in %.3f s\n", fl.sent,
           took);
    CHECK(ok && n > 0, "the other device got no push while one streams newlines");
    CHECK(took < 0.5, "the push took %.2f s while one device streams newlines (expected under 0.5 s)", took);
    if (n > 0)
        check_command(line);
    CHECK(closed_by_peer(fl.fd, 3000), "the newline flooder was not closed");
    CHECK(wait_stat(f, "line_floods", 1, 2000), "the newline flood was not counted in line_floods");
    fl.stop = 1;
    shutdown(fl.fd, SHUT_RDWR);
    pthread_join(th, NULL);
    close(fl.fd);
    close(fd);
    fleet_destroy(f);
}

/* ---- mqtt ------------------------------------------------------------------------------ */

struct sub {
    pthread_mutex_t mu;
    int connected, subscribed;
    int n;
    char topics[64][128];
    char payloads[64][512];
};

static void sub_on_connect(struct mosquitto *m, void *obj, int rc)
{
    struct sub *s = obj;
    (void)m;
    pthread_mutex_lock(&s->mu);
    s->connected = rc == 0;
    pthread_mutex_unlock(&s->mu);
}

static void sub_on_subscribe(struct mosquitto *m, void *obj, int mid, int q, const int *g)
{
    struct sub *s = obj;
    (void)m;
    (void)mid;
    (void)q;
    (void)g;
    pthread_mutex_lock(&s->mu);
    s->subscribed = 1;
    pthread_mutex_unlock(&s->mu);
}

static void sub_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    struct sub *s = obj;
    (void)m;
    pthread_mutex_lock(&s->mu);
    if (s->n < 64) {
        snprintf(s->topics[s->n], sizeof s->topics[0], "%s", msg->topic);
        snprintf(s->payloads[s->n], sizeof s->payloads[0], "%.*s", msg->payloadlen, (const char *)msg->payload);
    }
    s->n++;
    pthread_mutex_unlock(&s->mu);
}

static int sub_get(struct sub *s, int *field)
{
    pthread_mutex_lock(&s->mu);
    int v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static struct mosquitto *sub_open(struct sub *s, const char *id, int clean, const char *host, int port,
                                  const char *topic)
{
    struct mosquitto *m = mosquitto_new(id, clean, s);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m, sub_on_connect);
    mosquitto_subscribe_callback_set(m, sub_on_subscribe);
    mosquitto_message_callback_set(m, sub_on_message);
    CHECK(mosquitto_connect(m, host, port, 30) == MOSQ_ERR_SUCCESS, "subscriber cannot connect to %s:%d", host,
          port);
    mosquitto_loop_start(m);
    double end = now_s() + 5;
    while (!sub_get(s, &s->connected) && now_s() < end)
        sleep_ms(10);
    if (topic) {
        mosquitto_subscribe(m, NULL, topic, 1);
        while (!sub_get(s, &s->subscribed) && now_s() < end)
            sleep_ms(10);
        CHECK(sub_get(s, &s->subscribed), "subscription to %s not acknowledged", topic);
    }
    return m;
}

static void sub_close(struct mosquitto *m)
{
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
}

static long long mqtt_stat(offleet *f, const char *key)
{
    json_t *j = admin(f, "GET", "/push", NULL);
    json_t *v = json_object_get(json_object_get(j, "mqtt"), key);
    long long r = json_is_boolean(v) ? json_is_true(v) : (long long)json_integer_value(v);
    json_decref(j);
    return r;
}

static void test_mqtt(const char *broker)
{
    mosquitto_lib_init();
    char host[128];
    snprintf(host, sizeof host, "%s", broker);
    char *colon = strrchr(host, ':');
    if (!colon) {
        fprintf(stderr, "usage: mqtt HOST:PORT\n");
        exit(2);
    }
    *colon = '\0';
    int port = atoi(colon + 1);

    /* a persistent session that goes offline before the push */
    struct sub psub = {.mu = PTHREAD_MUTEX_INITIALIZER};
    const char *pdev = "860000000000042";
    char ptopic[128];
    snprintf(ptopic, sizeof ptopic, "openfota/demo/%s/cmd", pdev);
    struct mosquitto *pm = sub_open(&psub, "device-860000000000042", 0, host, port, ptopic);
    sub_close(pm);

    /* a live subscriber on every device topic of the project */
    struct sub live = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct mosquitto *lm = sub_open(&live, "itest-live", 1, host, port, "openfota/demo/+/cmd");

    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.mqtt_broker = broker;
    cfg.rate_per_s = 100;
    offleet *f = start_fleet(&cfg);
    double end = now_s() + 10;
    while (!mqtt_stat(f, "connected") && now_s() < end)
        sleep_ms(20);
    CHECK(mqtt_stat(f, "connected"), "the fleet did not connect to the broker");
    json_decref(admin(f, "POST", "/push",
                      "{\"devices\":[\"860000000000001\",\"860000000000002\",\"860000000000003\",\"860000000000042\"]}"));
    end = now_s() + 10;
    while (sub_get(&live, &live.n) < 4 && now_s() < end)
        sleep_ms(20);
    sleep_ms(700); /* nothing more may arrive */
    pthread_mutex_lock(&live.mu);
    CHECK(live.n == 4, "live subscriber got %d messages, expected exactly 4", live.n);
    const char *want[] = {"860000000000001", "860000000000002", "860000000000003", "860000000000042"};
    for (int w = 0; w < 4; w++) {
        char t[128];
        snprintf(t, sizeof t, "openfota/demo/%s/cmd", want[w]);
        int hits = 0;
        for (int i = 0; i < live.n && i < 64; i++)
            if (!strcmp(live.topics[i], t) && !strcmp(live.payloads[i], "update"))
                hits++;
        CHECK(hits == 1, "topic %s got %d 'update' messages, expected 1", t, hits);
    }
    pthread_mutex_unlock(&live.mu);
    end = now_s() + 5;
    while (mqtt_stat(f, "acked") < 4 && now_s() < end)
        sleep_ms(20);
    CHECK(mqtt_stat(f, "acked") == 4, "broker acknowledged %lld of 4 (QoS 1)", mqtt_stat(f, "acked"));
    printf("mqtt: 4 pushes published at QoS 1, 4 acknowledged, live subscriber got exactly 4\n");

    /* the sleeping device wakes: its persistent session gets the message */
    pm = sub_open(&psub, "device-860000000000042", 0, host, port, NULL);
    end = now_s() + 5;
    while (sub_get(&psub, &psub.n) < 1 && now_s() < end)
        sleep_ms(20);
    sleep_ms(300);
    pthread_mutex_lock(&psub.mu);
    CHECK(psub.n == 1, "the persistent session got %d messages after reconnecting, expected 1", psub.n);
    if (psub.n >= 1) {
        CHECK(!strcmp(psub.topics[0], ptopic), "persistent session message on %s", psub.topics[0]);
        printf("mqtt: persistent session of %s got '%s' on %s after reconnecting\n", pdev, psub.payloads[0],
               psub.topics[0]);
    }
    pthread_mutex_unlock(&psub.mu);
    sub_close(pm);
    fleet_destroy(f);

    /* JSON payload option */
    pthread_mutex_lock(&live.mu);
    live.n = 0;
    pthread_mutex_unlock(&live.mu);
    fleet_config_default(&cfg);
    cfg.mqtt_broker = broker;
    cfg.mqtt_payload_json = 1;
    cfg.mqtt_client_id = "openfota-itest-json";
    f = start_fleet(&cfg);
    end = now_s() + 10;
    while (!mqtt_stat(f, "connected") && now_s() < end)
        sleep_ms(20);
    json_decref(admin(f, "POST", "/push", "{\"device\":\"860000000000005\"}"));
    end = now_s() + 5;
    while (sub_get(&live, &live.n) < 1 && now_s() < end)
        sleep_ms(20);
    sleep_ms(300);
    pthread_mutex_lock(&live.mu);
    CHECK(live.n == 1, "JSON mode: %d messages, expected 1", live.n);
    if (live.n >= 1) {
        char l[600];
        snprintf(l, sizeof l, "%s\n", live.payloads[0]);
        check_command(l);
        printf("mqtt: JSON payload %s\n", live.payloads[0]);
    }
    pthread_mutex_unlock(&live.mu);
    fleet_destroy(f);
    sub_close(lm);
    /* clear the persistent session so a re-run starts clean */
    struct sub tmp = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sub_close(sub_open(&tmp, "device-860000000000042", 1, host, port, NULL));
    mosquitto_lib_cleanup();
}

/* The broker goes away and comes back on the same port: a push made while
 * it was down is published once the client has reconnected (backoff). */
static void test_mqtt_reconnect(const char *broker, const char *script, const char *dir)
{
    mosquitto_lib_init();
    char host[128];
    snprintf(host, sizeof host, "%s", broker);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    int port = atoi(colon + 1);
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.mqtt_broker = broker;
    cfg.mqtt_client_id = "openfota-itest-reconnect";
    offleet *f = start_fleet(&cfg);
    double end = now_s() + 10;
    while (!mqtt_stat(f, "connected") && now_s() < end)
        sleep_ms(20);
    CHECK(mqtt_stat(f, "connected"), "the fleet did not connect to the broker");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' stop '%s'", script, dir);
    CHECK(system(cmd) == 0, "could not stop the broker");
    end = now_s() + 10;
    while (mqtt_stat(f, "connected") && now_s() < end)
        sleep_ms(20);
    CHECK(!mqtt_stat(f, "connected"), "the fleet did not notice the broker went away");
    json_t *r = admin(f, "POST", "/push", "{\"device\":\"860000000000077\"}");
    char path[128];
    snprintf(path, sizeof path, "/push/%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    sleep_ms(300);
    r = admin(f, "GET", path, NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "states"), "waiting")) == 1,
          "a push while the broker is down should wait");
    json_decref(r);
    snprintf(cmd, sizeof cmd, "'%s' start '%s' %d >/dev/null", script, dir, port);
    CHECK(system(cmd) == 0, "could not restart the broker on port %d", port);
    struct sub live = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct mosquitto *lm = sub_open(&live, "itest-reconnect-live", 1, host, port, "openfota/demo/+/cmd");
    end = now_s() + 40;
    while (sub_get(&live, &live.n) < 1 && now_s() < end)
        sleep_ms(50);
    sleep_ms(300);
    CHECK(sub_get(&live, &live.n) == 1, "after the broker came back the subscriber got %d messages, expected 1",
          sub_get(&live, &live.n));
    r = admin(f, "GET", path, NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(r, "states"), "published")) == 1,
          "the push is not marked published after the reconnect");
    json_decref(r);
    printf("mqtt: broker restarted; the waiting push was published after the reconnect (%lld reconnects)\n",
           mqtt_stat(f, "reconnects"));
    sub_close(lm);
    fleet_destroy(f);
    mosquitto_lib_cleanup();
}

/* ---- auth: a push key on the listener ------------------------------------------------ */

static const char AUTH_MASTER[] = "5f2a9c0e41d7b3866e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

/* Reads the server's {"nonce":"…"} line into nonce[33]; 0 when it came. */
static int read_nonce(int fd, char *nonce)
{
    char line[256];
    int n = read_line(fd, line, sizeof line, 3000);
    if (n <= 0)
        return -1;
    json_t *j = json_loads(line, 0, NULL);
    const char *v = json_string_value(json_object_get(j, "nonce"));
    int ok = v && strlen(v) == 32 && strspn(v, "0123456789abcdef") == 32;
    if (ok)
        memcpy(nonce, v, 33);
    json_decref(j);
    return ok ? 0 : -1;
}

/* The identification line a device with the right key sends. */
static void auth_line(const unsigned char *master, size_t mlen, const char *nonce, const char *id,
                      const char *sent_id, char *out, size_t size)
{
    unsigned char dk[32], mac[32];
    unsigned int l = 32;
    HMAC(EVP_sha256(), master, (int)mlen, (const unsigned char *)id, strlen(id), dk, &l);
    char msg[160];
    snprintf(msg, sizeof msg, "%s%s", nonce, id);
    HMAC(EVP_sha256(), dk, 32, (const unsigned char *)msg, strlen(msg), mac, &l);
    char hex[65];
    push_hex(mac, 32, hex);
    snprintf(out, size, "{\"imei\":\"%s\",\"auth\":\"%s\"}\n", sent_id, hex);
}

/* An impostor connects, claims the device and must get a one-line JSON error
 * containing want, then be closed. */
static void impostor(int port, const char *line, const char *want)
{
    int fd = dial(port);
    char nonce[33], buf[512];
    CHECK(fd >= 0 && read_nonce(fd, nonce) == 0, "impostor: no nonce line");
    send_all(fd, line, strlen(line));
    int n = read_line(fd, buf, sizeof buf, 3000);
    json_t *j = n > 0 ? json_loads(buf, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(j, "error"));
    CHECK(e && strstr(e, want), "impostor sending %.60s: expected an error with '%s', got %s", line, want,
          n > 0 ? buf : "(nothing)");
    json_decref(j);
    CHECK(closed_by_peer(fd, 3000), "impostor connection stayed open");
    close(fd);
}

static void test_auth(void)
{
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.push_listen = "127.0.0.1:0";
    cfg.rate_per_s = 1000;
    const char *why = NULL;
    CHECK(fleet_config_push_key(&cfg, AUTH_MASTER, strlen(AUTH_MASTER), &why) == 0, "push key refused: %s", why);
    offleet *f = start_fleet(&cfg);
    int port = fleet_push_port(f);
    json_t *st = admin(f, "GET", "/push", NULL);
    CHECK(json_is_true(json_object_get(json_object_get(st, "tcp"), "auth")), "status does not say auth is on");
    json_decref(st);

    /* the real device answers the nonce */
    int fd = dial(port);
    char nonce[33], line[512];
    CHECK(fd >= 0 && read_nonce(fd, nonce) == 0, "no nonce line from a server with a push key");
    char good[256];
    auth_line(cfg.push_key, cfg.push_key_len, nonce, "860000000000009", "860000000000009", good, sizeof good);
    send_all(fd, good, strlen(good));
    CHECK(wait_stat(f, "identified", 1, 3000), "authenticated device not identified");

    /* impostors claiming the same IMEI */
    impostor(port, "860000000000009\n", "auth required");
    impostor(port, "{\"imei\":\"860000000000009\"}\n", "auth required");
    impostor(port, good, "auth does not match"); /* replay of the real device's line */
    unsigned char other[32];
    memcpy(other, cfg.push_key, 32);
    other[5] ^= 0x40;
    {
        int fd2 = dial(port);
        char n2[33], wrong[256], buf[512];
        CHECK(fd2 >= 0 && read_nonce(fd2, n2) == 0, "no nonce for the wrong-key impostor");
        auth_line(other, 32, n2, "860000000000009", "860000000000009", wrong, sizeof wrong);
        send_all(fd2, wrong, strlen(wrong));
        int n = read_line(fd2, buf, sizeof buf, 3000);
        CHECK(n > 0 && strstr(buf, "auth does not match"), "wrong key: %s", n > 0 ? buf : "(nothing)");
        CHECK(closed_by_peer(fd2, 3000), "wrong-key impostor stayed open");
        close(fd2);
    }
    impostor(port, "{\"imei\":\"860000000000009\",\"auth\":\"12\"}\n", "bad first line");
    CHECK(wait_stat(f, "auth_refused", 4, 3000), "auth refusals not counted (%lld)", tcp_stat(f, "auth_refused"));
    CHECK(tcp_stat(f, "replaced") == 0, "an impostor displaced the device's connection");
    CHECK(tcp_stat(f, "identified") == 1, "identified devices: %lld", tcp_stat(f, "identified"));

    /* the real connection still gets its push */
    json_decref(admin(f, "POST", "/push", "{\"device\":\"860000000000009\"}"));
    int n = read_line(fd, line, sizeof line, 5000);
    CHECK(n > 0, "the authenticated device got no command after the impostors");
    if (n > 0) {
        check_command(line);
        printf("auth: device 860000000000009 kept its connection and received %s", line);
    }

    /* a hex id sent with separators is keyed in its canonical form */
    int fd3 = dial(port);
    CHECK(fd3 >= 0 && read_nonce(fd3, nonce) == 0, "no nonce for the hex-id device");
    auth_line(cfg.push_key, cfg.push_key_len, nonce, "0123456789AB", "01:23:45:67:89:ab", good, sizeof good);
    send_all(fd3, good, strlen(good));
    CHECK(wait_stat(f, "identified", 2, 3000), "hex-id device not identified");

    /* the same device reconnecting with a fresh auth replaces its connection */
    int fd4 = dial(port);
    CHECK(fd4 >= 0 && read_nonce(fd4, nonce) == 0, "no nonce on reconnect");
    auth_line(cfg.push_key, cfg.push_key_len, nonce, "860000000000009", "860000000000009", good, sizeof good);
    send_all(fd4, good, strlen(good));
    CHECK(closed_by_peer(fd, 3000), "the older connection of a re-authenticated device stayed open");
    CHECK(wait_stat(f, "replaced", 1, 3000), "replacement not counted");
    close(fd);
    close(fd3);
    close(fd4);
    fleet_destroy(f);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "accept"))
        test_accept();
    else if (argc >= 4 && !strcmp(argv[1], "rate"))
        test_rate(atoi(argv[2]), atof(argv[3]));
    else if (argc >= 2 && !strcmp(argv[1], "abuse"))
        test_abuse();
    else if (argc >= 2 && !strcmp(argv[1], "auth"))
        test_auth();
    else if (argc >= 2 && !strcmp(argv[1], "flood"))
        test_flood();
    else if (argc >= 3 && !strcmp(argv[1], "mqtt"))
        test_mqtt(argv[2]);
    else if (argc >= 5 && !strcmp(argv[1], "mqtt-reconnect"))
        test_mqtt_reconnect(argv[2], argv[3], argv[4]);
    else {
        fprintf(stderr, "usage: fleet_push_itest accept | rate N PER_S | abuse | auth | flood | mqtt HOST:PORT |\n"
                        "       mqtt-reconnect HOST:PORT MOSQUITTO_SH DIR\n");
        return 2;
    }
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}

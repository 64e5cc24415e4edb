/*
 * push_bench — how many devices the TCP push listener holds, at what memory,
 * and how exactly the rate cap holds at scale. Loopback only.
 *
 *   push_bench N RATE [RATE2 ...]
 *
 * The parent runs the fleet (push listener + dispatcher); a child process
 * plays N devices (connect, identify, read). For each RATE the parent pushes
 * to all N and the child reports when each command arrived. Prints one line
 * per measurement.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "offleet.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (!strncmp(line, "VmRSS:", 6))
            v = strtol(line + 6, NULL, 10);
    if (fp)
        fclose(fp);
    return v;
}

static int url_hook(void *ctx, const char *p, const char *f, const char *d, char *buf, size_t size)
{
    (void)ctx;
    (void)p;
    (void)f;
    (void)d;
    snprintf(buf, size, "http://127.0.0.1:8080/api/site/firmware_upgrade?");
    return 0;
}

static void quiet(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level <= FLEET_LOG_WARN)
        fprintf(stderr, "fleet: %s\n", msg);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* child: N devices; for each round reads until every device got one line,
 * then writes "got first last" to the pipe */
static void devices(int port, int n, int rounds, int to_parent, int from_parent)
{
    raise_nofile();
    int *fds = calloc((size_t)n, sizeof *fds);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0) {
            fprintf(stderr, "device %d: %s\n", i, strerror(errno));
            _exit(1);
        }
        char l[32];
        int len = snprintf(l, sizeof l, "87%013d\n", i);
        if (write(fds[i], l, (size_t)len) != len)
            _exit(1);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    char c = 'r';
    if (write(to_parent, &c, 1) != 1)
        _exit(1);
    for (int r = 0; r < rounds; r++) {
        if (read(from_parent, &c, 1) != 1)
            _exit(1);
        int got = 0;
        double first = 0, last = 0, end = now_s() + 600;
        struct epoll_event evs[512];
        while (got < n && now_s() < end) {
            int k = epoll_wait(ep, evs, 512, 1000);
            for (int e = 0; e < k; e++) {
                char b[2048];
                ssize_t rr = recv(fds[evs[e].data.u32], b, sizeof b, 0);
                for (ssize_t x = 0; x < rr; x++) {
                    if (b[x] == '\n') {
                        double t = now_s();
                        if (!got)
                            first = t;
                        last = t;
                        got++;
                    }
                }
            }
        }
        char msg[128];
        int len = snprintf(msg, sizeof msg, "%d %.6f %.6f\n", got, first, last);
        if (write(to_parent, msg, (size_t)len) != len)
            _exit(1);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: push_bench N RATE [RATE...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_nofile();
    long rss0 = rss_kb();
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.push_listen = "127.0.0.1:0";
    cfg.max_connections = (unsigned)n + 100;
    fleet_hooks h = {.check_url = url_hook, .log = quiet};
    offleet *f = fleet_create(&cfg, &h);
    if (!f || fleet_start(f)) {
        fprintf(stderr, "fleet did not start\n");
        return 1;
    }
    long rss1 = rss_kb();
    int up[2], down[2];
    if (pipe(up) || pipe(down))
        return 1;
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        devices(fleet_push_port(f), n, argc - 2, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    char c;
    if (read(up[0], &c, 1) != 1)
        return 1;
    /* wait until all are identified */
    for (;;) {
        char *out = NULL;
        int st;
        fleet_admin_handle(f, "GET", "/push", NULL, 0, &out, &st);
        json_t *j = json_loads(out, 0, NULL);
        free(out);
        long long idn = (long long)json_integer_value(json_object_get(json_object_get(j, "tcp"), "identified"));
        json_decref(j);
        if (idn >= n)
            break;
        if (now_s() - t0 > 120) {
            fprintf(stderr, "only %lld of %d identified\n", idn, n);
            kill(pid, SIGKILL);
            return 1;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    double t_conn = now_s() - t0;
    long rss2 = rss_kb();
    printf("connect: %d devices connected and identified in %.2f s; listener RSS %ld KiB before, %ld KiB with "
           "them (%.2f KiB per connection)\n",
           n, t_conn, rss1, rss2, (double)(rss2 - rss1) / n);
    (void)rss0;
    char **ids = calloc((size_t)n, sizeof *ids);
    for (int i = 0; i < n; i++) {
        ids[i] = malloc(24);
        snprintf(ids[i], 24, "87%013d", i);
    }
    for (int r = 2; r < argc; r++) {
        double rate = atof(argv[r]);
        char body[128];
        snprintf(body, sizeof body, "{\"per_s\":%g,\"burst\":%g}", rate, rate / 50 > 1 ? rate / 50 : 1);
        char *out = NULL;
        int st;
        fleet_admin_handle(f, "PUT", "/push/rate", body, strlen(body), &out, &st);
        free(out);
        c = 'g';
        if (write(down[1], &c, 1) != 1)
            return 1;
        double ts = now_s();
        fleet_push(f, (const char *const *)ids, (size_t)n, NULL, NULL, 3600, NULL);
        char line[128];
        int k = 0;
        while (k < (int)sizeof line - 1 && read(up[0], &line[k], 1) == 1 && line[k] != '\n')
            k++;
        line[k] = '\0';
        int got;
        double first, last;
        sscanf(line, "%d %lf %lf", &got, &first, &last);
        double measured = got > 1 ? (got - 1) / (last - first) : 0;
        printf("push: rate cap %g/s: %d of %d devices got the command; %.1f/s measured (%.1f%% of the cap); "
               "last one %.2f s after the push\n",
               rate, got, n, measured, 100 * measured / rate, last - ts);
    }
    waitpid(pid, NULL, 0);
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    fleet_destroy(f);
    return 0;
}

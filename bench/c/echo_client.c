/*
 * echo_client.c: the one fixed W6 load client, the same for every server.
 *
 * Usage: echo_client --port P [--host 127.0.0.1] [--conns 32] [--size 1024]
 *                    [--warmup 10000] [--n 200000] [--timeout 60]
 *                    [--peer NAME] [--server-pid PID]
 *
 * Single-threaded, epoll. Opens --conns connections; each keeps exactly one
 * --size byte message outstanding: send it, read the whole reply, compare it
 * byte for byte with what was sent, send the next. The first --warmup round
 * trips (counted over all connections) are not timed; the next --n are. The
 * message bytes differ per connection and per message, so a server that mixes
 * up connections or replays stale data fails the comparison.
 *
 * Prints one line:
 *   RESULT workload=W6 peer=NAME value=<round trips/s> unit=round_trips/s n=N
 *          elapsed_s=S cpu_s=<client cpu in the timed window> p50_us=.. p99_us=..
 *          [server_cpu_s=.. rt_per_server_cpu_s=..]
 * The server_* fields appear with --server-pid: the client reads the server's
 * utime+stime from /proc/PID/stat at the first and last timed round trip, so
 * the server's CPU time covers exactly the timed window (clock-tick
 * resolution, 10 ms on this kernel).
 *
 * Exit status: 0 ok; 1 a reply differed or the server closed early; 2 usage or
 * setup error; 3 the --timeout (whole run, seconds) passed first.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int id;
    uint64_t seq;        /* messages this connection has sent */
    size_t sent;         /* bytes of the current message written */
    size_t received;     /* bytes of the current reply read */
    int active;          /* a message is outstanding */
    int want_out;        /* EPOLLOUT interest is on (short write) */
    double t_sent;       /* when the current message was first written */
    unsigned char *msg;
    unsigned char *reply;
};

static double now_s(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* utime+stime of a process, in seconds; -1 if unreadable. */
static double proc_cpu_s(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (!p) return -1;
    unsigned long utime = 0, stime = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Fills the message for (connection, sequence) with splitmix64 output. */
static void fill_message(unsigned char *msg, size_t size, int id, uint64_t seq) {
    uint64_t x = ((uint64_t)id << 40) ^ seq ^ 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < size; i += 8) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        size_t k = size - i < 8 ? size - i : 8;
        memcpy(msg + i, &z, k);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s --port P [--host 127.0.0.1] [--conns 32] [--size 1024] [--warmup 10000]\n"
            "          [--n 200000] [--timeout 60] [--peer NAME] [--server-pid PID]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *peer = "unknown";
    int port = -1, nconns = 32;
    long size = 1024, warmup = 10000, n = 200000, server_pid = 0;
    double timeout = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--conns")) nconns = atoi(v);
        else if (!strcmp(a, "--size")) size = atol(v);
        else if (!strcmp(a, "--warmup")) warmup = atol(v);
        else if (!strcmp(a, "--n")) n = atol(v);
        else if (!strcmp(a, "--timeout")) timeout = atof(v);
        else if (!strcmp(a, "--peer")) peer = v;
        else if (!strcmp(a, "--server-pid")) server_pid = atol(v);
        else usage(argv[0]);
    }
    if (port <= 0 || port > 65535 || nconns <= 0 || size <= 0 || warmup < 0 || n <= 0 || timeout <= 0)
        usage(argv[0]);
    signal(SIGPIPE, SIG_IGN);

    const long total = warmup + n;
    double *lat = malloc(sizeof(double) * (size_t)n);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    if (!lat || !conns) { perror("malloc"); return 2; }

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { perror("epoll_create1"); return 2; }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "bad --host %s\n", host); return 2; }

    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        c->id = i;
        c->msg = malloc((size_t)size);
        c->reply = malloc((size_t)size);
        if (!c->msg || !c->reply) { perror("malloc"); return 2; }
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0) { perror("socket"); return 2; }
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            fprintf(stderr, "echo_client: connect %s:%d: %s\n", host, port, strerror(errno));
            return 2;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) { perror("epoll_ctl"); return 2; }
    }

    long issued = 0, completed = 0;
    double t_begin = now_s(CLOCK_MONOTONIC), deadline = t_begin + timeout;
    double t0 = 0, cpu0 = 0, scpu0 = -1;

/* Writes as much of the current message as the socket takes. 0 ok, -1 error. */
#define PUMP_SEND(c)                                                                         \
    do {                                                                                     \
        while ((c)->sent < (size_t)size) {                                                   \
            ssize_t w = write((c)->fd, (c)->msg + (c)->sent, (size_t)size - (c)->sent);      \
            if (w < 0) {                                                                     \
                if (errno == EINTR) continue;                                                \
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;                          \
                fprintf(stderr, "echo_client: write: %s\n", strerror(errno));                \
                return 1;                                                                    \
            }                                                                                \
            (c)->sent += (size_t)w;                                                          \
        }                                                                                    \
        int need_out = (c)->sent < (size_t)size;                                             \
        if (need_out != (c)->want_out) {                                                     \
            struct epoll_event mev = {.events = EPOLLIN | (need_out ? EPOLLOUT : 0u), .data.ptr = (c)}; \
            epoll_ctl(ep, EPOLL_CTL_MOD, (c)->fd, &mev);                                     \
            (c)->want_out = need_out;                                                        \
        }                                                                                    \
    } while (0)

#define START_MESSAGE(c)                                                                     \
    do {                                                                                     \
        fill_message((c)->msg, (size_t)size, (c)->id, (c)->seq++);                           \
        (c)->sent = (c)->received = 0;                                                       \
        (c)->active = 1;                                                                     \
        (c)->t_sent = now_s(CLOCK_MONOTONIC);                                                \
        issued++;                                                                            \
        PUMP_SEND(c);                                                                        \
    } while (0)

    if (warmup == 0) {
        t0 = now_s(CLOCK_MONOTONIC);
        cpu0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        if (server_pid > 0) scpu0 = proc_cpu_s(server_pid);
    }
    for (int i = 0; i < nconns && issued < total; i++) START_MESSAGE(&conns[i]);

    struct epoll_event events[64];
    while (completed < total) {
        int ne = epoll_wait(ep, events, 64, 200);
        if (ne < 0 && errno != EINTR) { perror("epoll_wait"); return 2; }
        if (now_s(CLOCK_MONOTONIC) > deadline) {
            fprintf(stderr, "echo_client: timeout after %.0f s: %ld of %ld round trips completed (peer=%s)\n",
                    timeout, completed, total, peer);
            return 3;
        }
        for (int e = 0; e < ne; e++) {
            struct conn *c = events[e].data.ptr;
            if (!c->active) continue;
            if (events[e].events & EPOLLOUT) PUMP_SEND(c);
            if (!(events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
            for (;;) {
                ssize_t r = read(c->fd, c->reply + c->received, (size_t)size - c->received);
                if (r < 0) {
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                    fprintf(stderr, "echo_client: read: %s (peer=%s)\n", strerror(errno), peer);
                    return 1;
                }
                if (r == 0) {
                    fprintf(stderr, "echo_client: server closed connection %d after %ld round trips (peer=%s)\n",
                            c->id, completed, peer);
                    return 1;
                }
                c->received += (size_t)r;
                if (c->received < (size_t)size) continue;
                if (c->sent < (size_t)size || memcmp(c->msg, c->reply, (size_t)size) != 0) {
                    fprintf(stderr, "echo_client: reply %llu on connection %d differs from the message (peer=%s)\n",
                            (unsigned long long)(c->seq - 1), c->id, peer);
                    return 1;
                }
                c->active = 0;
                double t = now_s(CLOCK_MONOTONIC);
                completed++;
                if (completed > warmup) lat[completed - warmup - 1] = t - c->t_sent;
                if (completed == warmup) {
                    t0 = t;
                    cpu0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
                    if (server_pid > 0) scpu0 = proc_cpu_s(server_pid);
                }
                if (issued < total) START_MESSAGE(c);
                break;
            }
        }
    }
    double t1 = now_s(CLOCK_MONOTONIC);
    double cpu1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    double scpu1 = server_pid > 0 ? proc_cpu_s(server_pid) : -1;

    double elapsed = t1 - t0;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    double p50 = lat[(size_t)((double)n * 0.50)] * 1e6;
    double p99 = lat[(size_t)((double)n * 0.99)] * 1e6;
    printf("RESULT workload=W6 peer=%s value=%.1f unit=round_trips/s n=%ld elapsed_s=%.4f cpu_s=%.4f p50_us=%.1f p99_us=%.1f",
           peer, (double)n / elapsed, n, elapsed, cpu1 - cpu0, p50, p99);
    if (server_pid > 0 && scpu0 >= 0 && scpu1 >= 0) {
        double scpu = scpu1 - scpu0;
        printf(" server_cpu_s=%.2f", scpu);
        if (scpu > 0) printf(" rt_per_server_cpu_s=%.1f", (double)n / scpu);
    }
    printf("\n");
    for (int i = 0; i < nconns; i++) close(conns[i].fd);
    return 0;
}

/*
 * get_client.c: W10S's lean load client, HTTP/1.1 keep-alive GETs of one URL path on many connections.
 *
 * Usage: get_client --port P --path /static/1MiB.bin [--host 127.0.0.1] [--conns 64]
 *                   [--warmup 2] [--duration 8] [--server-pid PID]
 *
 * Single-threaded, epoll (level-triggered, every receive MSG_DONTWAIT), one request outstanding per connection. It exists because wrk reads every response
 * into user memory in 8 KiB reads, so for a 1 MiB body its own core is the limit and every server looks the
 * same. This client reads the response head (status line and headers, up to 8 KiB, with MSG_PEEK so no byte of
 * the body is consumed by mistake), checks the status is 200 and takes Content-Length, then discards the body
 * with recv(MSG_TRUNC) in large steps: the kernel drops the bytes without copying them to user memory (TCP,
 * Linux), so the client costs little per byte and the server's side of the transfer is what is measured.
 * The body's length is checked (every byte is counted off), its content is not.
 *
 * Prints one line after the timed window (warm-up seconds are not counted):
 *   RESULT value=<req/s> unit=req/s n=N elapsed_s=S client_cpu_s=C [server_cpu_s=.. req_per_server_cpu_s=..]
 * server_* appear with --server-pid: utime+stime of that process from /proc/PID/stat at the start and the end
 * of the timed window.
 *
 * Exit status: 0 ok; 1 a response was not 200, had no Content-Length, or the server closed; 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    long long body_left;  /* bytes of the current body still to discard; -1 while reading the head */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
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
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s --port P --path /x [--host 127.0.0.1] [--conns 64] [--warmup 2] [--duration 8] [--server-pid PID]\n", argv0);
    exit(2);
}

static char request[1024];
static char sink[1];   /* recv(MSG_TRUNC) copies nothing; a valid pointer all the same */
static int request_len;

static void fail(const char *what) {
    fprintf(stderr, "get_client: %s\n", what);
    exit(1);
}

static void send_request(struct conn *c) {
    ssize_t n = send(c->fd, request, (size_t)request_len, MSG_NOSIGNAL);
    if (n != request_len) fail("short or failed send of a request");
    c->body_left = -1;
}

/* Reads what is there on c; returns the number of responses completed. */
static int on_readable(struct conn *c) {
    int done = 0;
    for (;;) {
        if (c->body_left < 0) {
            char head[8192];
            ssize_t n = recv(c->fd, head, sizeof head - 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0) fail("the server closed a connection");
            if (n < 0) {
                if (errno == EAGAIN) return done;
                fail("recv failed");
            }
            head[n] = 0;
            char *end = strstr(head, "\r\n\r\n");
            if (!end) {
                if (n == (ssize_t)sizeof head - 1) fail("response head over 8 KiB");
                return done;      /* the rest of the head comes later (level-triggered: we are called again) */
            }
            if (strncmp(head, "HTTP/1.1 200", 12) != 0) fail("a response was not 200");
            long long length = -1;
            for (char *line = strstr(head, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
                if (strncasecmp(line + 2, "Content-Length:", 15) == 0) length = atoll(line + 17);
            }
            if (length < 0) fail("a response had no Content-Length");
            size_t head_len = (size_t)(end - head) + 4;
            if (recv(c->fd, head, head_len, 0) != (ssize_t)head_len) fail("could not consume a peeked head");
            c->body_left = length;
        }
        while (c->body_left > 0) {
            size_t want = c->body_left > (1 << 30) ? (1 << 30) : (size_t)c->body_left;
            ssize_t n = recv(c->fd, sink, want, MSG_TRUNC | MSG_DONTWAIT);
            if (n == 0) fail("the server closed a connection mid-body");
            if (n < 0) {
                if (errno == EAGAIN) return done;
                fail("recv(MSG_TRUNC) failed");
            }
            c->body_left -= n;
        }
        done++;
        send_request(c);
    }
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *path = NULL;
    int port = -1, nconns = 64;
    double warmup = 2, duration = 8;
    long server_pid = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        const char *v = argv[++i];
        if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--conns")) nconns = atoi(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--server-pid")) server_pid = atol(v);
        else usage(argv[0]);
    }
    if (port <= 0 || !path || nconns <= 0 || duration <= 0) usage(argv[0]);
    request_len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, host, port);

    int ep = epoll_create1(0);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) usage(argv[0]);
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            perror("connect");
            return 2;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        send_request(&conns[i]);
    }

    struct epoll_event events[256];
    double start = now_s(), t0 = 0, c0 = 0, s0 = 0;
    long long counted = 0;
    int timing = 0;
    for (;;) {
        double t = now_s();
        if (!timing && t - start >= warmup) {
            timing = 1;
            t0 = t;
            c0 = self_cpu_s();
            s0 = server_pid ? proc_cpu_s(server_pid) : 0;
            counted = 0;
        }
        if (timing && t - t0 >= duration) break;
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) counted += on_readable(events[i].data.ptr);
    }
    double elapsed = now_s() - t0, client_cpu = self_cpu_s() - c0;
    printf("RESULT value=%.1f unit=req/s n=%lld elapsed_s=%.3f client_cpu_s=%.3f", counted / elapsed, counted, elapsed, client_cpu);
    if (server_pid) {
        double s = proc_cpu_s(server_pid) - s0;
        printf(" server_cpu_s=%.3f req_per_server_cpu_s=%.1f", s, s > 0 ? counted / s : 0.0);
    }
    printf("\n");
    return 0;
}

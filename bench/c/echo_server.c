/*
 * echo_server.c: the W6 ceiling. A minimal single-threaded epoll echo server.
 *
 * Usage: echo_server --port P [--host 127.0.0.1]
 *
 * Prints "READY" once listening, echoes every byte back on the connection it
 * came from, and exits 0 on SIGTERM or SIGINT. It is the floor of work an echo
 * server can do on this kernel (one read and one write per message, no
 * allocation, no framework), so the harness reports every other server as a
 * fraction of it.
 *
 * Design: level-triggered epoll. A connection reads only while it has nothing
 * pending to write; after a short write it keeps the unwritten tail, stops
 * reading (EPOLLIN off) and waits for EPOLLOUT, so a slow reader cannot make
 * the server buffer without bound. TCP_NODELAY is set on every accepted socket,
 * as asyncio and uvloop do by default and as every peer server here does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

struct conn {
    int fd;
    size_t pending_off;  /* first unwritten byte of buf */
    size_t pending_len;  /* bytes of buf still to write; 0 = reading */
    char buf[BUF_SIZE];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void die(const char *what) { perror(what); exit(2); }

static void close_conn(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Writes what is pending. Returns 0 when all is written, 1 when the socket is
 * full (caller waits for EPOLLOUT), -1 when the connection failed. */
static int flush_pending(struct conn *c) {
    while (c->pending_len > 0) {
        ssize_t w = write(c->fd, c->buf + c->pending_off, c->pending_len);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
            return -1;
        }
        c->pending_off += (size_t)w;
        c->pending_len -= (size_t)w;
    }
    return 0;
}

static void set_interest(int ep, struct conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
        else {
            fprintf(stderr, "usage: %s --port P [--host 127.0.0.1]\n", argv[0]);
            return 2;
        }
    }
    if (port < 0 || port > 65535) {
        fprintf(stderr, "echo_server: --port P is required (0..65535)\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "echo_server: bad --host %s\n", host);
        return 2;
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 512) < 0) die("listen");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl ADD listener");

    printf("READY\n");
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    while (!stop_requested) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) { /* listener */
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break; /* EAGAIN, or a transient error: try on next event */
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = malloc(sizeof *nc);
                    if (!nc) die("malloc");
                    nc->fd = fd;
                    nc->pending_off = nc->pending_len = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD conn");
                }
                continue;
            }
            if (c->pending_len > 0) { /* waiting for EPOLLOUT */
                int r = flush_pending(c);
                if (r < 0) close_conn(ep, c);
                else if (r == 0) set_interest(ep, c, EPOLLIN);
                continue;
            }
            ssize_t got = read(c->fd, c->buf, BUF_SIZE);
            if (got == 0) { close_conn(ep, c); continue; }
            if (got < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) close_conn(ep, c);
                continue;
            }
            c->pending_off = 0;
            c->pending_len = (size_t)got;
            int r = flush_pending(c);
            if (r < 0) close_conn(ep, c);
            else if (r == 1) set_interest(ep, c, EPOLLOUT);
        }
    }
    close(lfd);
    close(ep);
    return 0;
}

/*
 * Paced OpenAI-style SSE upstream for the benchmark (compiled by `python -m bench` with cc -O2).
 *
 * Why C: a Python asyncio upstream cannot hold a 20 ms pace for a few hundred streams (issue 7
 * measured an added gap p99 of 17-86 ms at 200-400 streams with no gateway at all), which
 * would blame the gateway for the upstream's lateness. One thread, epoll, a binary heap of
 * deadlines and a timerfd armed at the earliest one keep every stream on schedule.
 *
 * Usage: paced_upstream PORT
 *   POST /p<count>x<interval_ms>/v1/chat/completions answers text/event-stream (chunked):
 *   <count> content deltas, delta k due at start + k * interval (no drift), each carrying
 *   "@<CLOCK_REALTIME microseconds at write>@" as its content; then a finish chunk, a usage
 *   chunk and `data: [DONE]`. Keep-alive: the next request on the connection is served after.
 *   Any GET answers a model list (the gateway's health probe).
 *   A client that closes mid-stream is dropped at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "paced_clock.h"

#define IN_CAP 16384
#define OUT_CAP 65536

typedef struct {
    int fd, streaming, sent, count;
    unsigned gen;
    long long interval_ns, start_ns;
    size_t in_len, out_len;
    char in[IN_CAP];
    char out[OUT_CAP];
} conn_t;

typedef struct { long long due; int fd; unsigned gen; } entry_t;

static conn_t **conns;
static int max_fds, epfd, tfd, lfd;
static entry_t *heap;
static size_t heap_len, heap_cap;
static unsigned generation;

static void heap_push(entry_t e) {
    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 4096;
        heap = realloc(heap, heap_cap * sizeof *heap);
        if (!heap) { perror("realloc"); exit(1); }
    }
    size_t i = heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent].due <= e.due) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = e;
}

static entry_t heap_pop(void) {
    entry_t top = heap[0], last = heap[--heap_len];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_len) break;
        if (child + 1 < heap_len && heap[child + 1].due < heap[child].due) child++;
        if (last.due <= heap[child].due) break;
        heap[i] = heap[child];
        i = child;
    }
    if (heap_len) heap[i] = last;
    return top;
}

static void arm_timer(void) {
    struct itimerspec spec = {0};
    if (heap_len) {
        long long due = heap[0].due;
        if (due <= 0) due = 1;
        spec.it_value.tv_sec = due / 1000000000LL;
        spec.it_value.tv_nsec = due % 1000000000LL;
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void drop(conn_t *c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c);
}

/* Write what is buffered; returns -1 when the connection was dropped. */
static int flush_out(conn_t *c) {
    while (c->out_len) {
        ssize_t n = write(c->fd, c->out, c->out_len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            drop(c);
            return -1;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (c->out_len ? EPOLLOUT : 0),
                             .data.fd = c->fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

static int append(conn_t *c, const char *data, size_t len) {
    if (c->out_len + len > OUT_CAP) return -1; /* the reader is hopelessly behind */
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

/* One SSE event as one HTTP chunk. */
static int append_chunk(conn_t *c, const char *event, size_t len) {
    char size[32];
    int n = snprintf(size, sizeof size, "%zx\r\n", len);
    if (append(c, size, (size_t)n) || append(c, event, len) || append(c, "\r\n", 2)) return -1;
    return 0;
}

static const char CHUNK_HEAD[] =
    "data: {\"id\":\"chatcmpl-paced\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"paced\",\"choices\":[{\"index\":0,";

static int send_delta(conn_t *c) {
    char event[512];
    int n = snprintf(event, sizeof event,
                     "%s\"delta\":{%s\"content\":\"@%lld@ \"},\"finish_reason\":null}]}\n\n",
                     CHUNK_HEAD, c->sent == 0 ? "\"role\":\"assistant\"," : "", real_us());
    return append_chunk(c, event, (size_t)n);
}

static int send_end(conn_t *c) {
    char event[512];
    int n = snprintf(event, sizeof event,
                     "%s\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", CHUNK_HEAD);
    if (append_chunk(c, event, (size_t)n)) return -1;
    n = snprintf(event, sizeof event,
                 "data: {\"id\":\"chatcmpl-paced\",\"object\":\"chat.completion.chunk\","
                 "\"created\":1700000000,\"model\":\"paced\",\"choices\":[],\"usage\":"
                 "{\"prompt_tokens\":8,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
                 c->count, c->count + 8);
    if (append_chunk(c, event, (size_t)n)) return -1;
    static const char done[] = "data: [DONE]\n\n";
    if (append_chunk(c, done, sizeof done - 1)) return -1;
    return append(c, "0\r\n\r\n", 5);
}

static void schedule(conn_t *c) {
    entry_t e = {.due = c->start_ns + (long long)c->sent * c->interval_ns, .fd = c->fd, .gen = c->gen};
    heap_push(e);
}

static void serve_requests(conn_t *c);

/* Called when a stream is due: one delta, and after the last one the end of the answer. */
static void tick(conn_t *c) {
    if (!c->streaming) return;
    if (send_delta(c)) { drop(c); return; }
    c->sent++;
    if (c->sent < c->count) {
        schedule(c);
    } else {
        if (send_end(c)) { drop(c); return; }
        c->streaming = 0;
        c->gen = ++generation;
    }
    if (flush_out(c) < 0) return;
    if (!c->streaming) serve_requests(c);
}

static long header_value(const char *head, size_t head_len, const char *name) {
    size_t name_len = strlen(name);
    for (size_t i = 0; i + name_len < head_len; i++) {
        if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, name, name_len) == 0)
            return strtol(head + i + name_len, NULL, 10);
    }
    return 0;
}

static const char MODELS[] =
    "{\"object\":\"list\",\"data\":[{\"id\":\"paced\",\"object\":\"model\",\"owned_by\":\"b\"}]}";

/* Serve every complete request in the input buffer while no stream is running. */
static void serve_requests(conn_t *c) {
    while (!c->streaming) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end) return;
        size_t head_len = (size_t)(end - c->in) + 4;
        long body = header_value(c->in, head_len, "content-length:");
        if (body < 0 || head_len + (size_t)body > IN_CAP) { drop(c); return; }
        if (c->in_len < head_len + (size_t)body) return;
        int count = 64, interval = 20;
        char *path = memchr(c->in, ' ', head_len);
        if (path) sscanf(path + 1, "/p%dx%d", &count, &interval);
        int is_post = strncmp(c->in, "POST ", 5) == 0;
        memmove(c->in, c->in + head_len + body, c->in_len - head_len - (size_t)body);
        c->in_len -= head_len + (size_t)body;
        if (!is_post) {
            char reply[512];
            int n = snprintf(reply, sizeof reply,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s", sizeof MODELS - 1, MODELS);
            if (append(c, reply, (size_t)n)) { drop(c); return; }
            if (flush_out(c) < 0) return;
            continue;
        }
        static const char head[] =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "Transfer-Encoding: chunked\r\n\r\n";
        if (append(c, head, sizeof head - 1)) { drop(c); return; }
        c->streaming = 1;
        c->sent = 0;
        c->count = count > 0 ? count : 1;
        c->interval_ns = (long long)(interval > 0 ? interval : 1) * 1000000LL;
        c->start_ns = mono_ns();
        c->gen = ++generation;
        tick(c); /* the first delta goes out with the headers */
        return;
    }
}

static void on_readable(conn_t *c) {
    for (;;) {
        if (c->in_len == IN_CAP) { drop(c); return; }
        ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (n == 0) { drop(c); return; }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            drop(c);
            return;
        }
        c->in_len += (size_t)n;
    }
    serve_requests(c);
}

static void accept_all(void) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (fd >= max_fds) { close(fd); continue; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_t *c = calloc(1, sizeof *c);
        if (!c) { close(fd); continue; }
        c->fd = fd;
        conns[fd] = c;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    max_fds = (int)limit.rlim_cur;
    conns = calloc((size_t)max_fds, sizeof *conns);

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 4096)) {
        perror("bind/listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.fd = tfd;
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
    fprintf(stderr, "paced upstream listening on 127.0.0.1:%s\n", argv[1]);

    struct epoll_event events[512];
    for (;;) {
        int n = epoll_wait(epfd, events, 512, -1);
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) { accept_all(); continue; }
            if (fd == tfd) { uint64_t x; (void)!read(tfd, &x, sizeof x); continue; }
            conn_t *c = conns[fd];
            if (!c) continue;
            if (events[i].events & (EPOLLHUP | EPOLLERR)) { drop(c); continue; }
            if (events[i].events & EPOLLOUT) { if (flush_out(c) < 0) continue; }
            if (events[i].events & (EPOLLIN | EPOLLRDHUP)) on_readable(c);
        }
        long long now = mono_ns();
        while (heap_len && heap[0].due <= now) {
            entry_t e = heap_pop();
            conn_t *c = conns[e.fd];
            if (c && c->gen == e.gen) tick(c);
        }
        arm_timer();
    }
}

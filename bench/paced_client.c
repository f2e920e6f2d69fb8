/*
 * Paced-stream load client for the benchmark (compiled by `python -m bench` with cc -O2).
 *
 * Why C: the figure measured is when each delta reaches the client, to the millisecond, on
 * up to a thousand streams at once. A Python asyncio client reading 50,000 events a second
 * would itself fall behind and add the gaps it is meant to find; one epoll thread in C reads
 * every socket the moment it is readable and stamps arrivals with CLOCK_REALTIME, the clock
 * the upstream stamped each delta with ("@<microseconds>@" in its content).
 *
 * Each of --streams connections starts at an even offset within --ramp-ms (no thundering
 * herd), then runs --repeats streaming requests back to back on keep-alive. Per delta:
 * lag = arrival - upstream write time; per pair of deltas: gap = arrival - previous arrival.
 * A stream is ok with 200, exactly --deltas deltas and `[DONE]`. Everything stops by
 * --deadline-ms at the latest. The result is one JSON line on stdout.
 *
 * --hold-ms H (memory mode): streams only need their first delta; when every stream has it (or
 * failed) a line "READY {...}" is printed, then the streams are held open until stdin closes
 * or H ms pass, then closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "paced_clock.h"

#define HEAD_CAP 8192
#define LINE_CAP 65536

enum { WAITING, CONNECTING, HEAD, BODY, FINISHED };
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };
enum { E_CONNECT, E_STATUS, E_CLOSED, E_SHORT, E_INBAND, E_TIMEOUT, E_PROTOCOL, E_COUNT };
static const char *ERROR_NAMES[E_COUNT] = {"connect", "status", "closed", "short",
                                           "in_band_error", "timeout", "protocol"};

typedef struct {
    int fd, state, done, in_stream, first_seen;
    long long start_ns;
    size_t head_len, line_len;
    int chunked, until_close, chunk_state;
    long long remaining;
    char size_line[40];
    size_t size_len;
    int deltas, got_done;
    long long last_arrival;
    char head[HEAD_CAP];
    char line[LINE_CAP];
} conn_t;

typedef struct { long long *v; size_t n, cap; } series_t;

static struct {
    int port, streams, repeats, ramp_ms, deltas, interval_ms, deadline_ms, hold_ms;
    const char *path, *model, *key;
} opt = {0, 10, 1, 1000, 64, 20, 60000, 0, "/v1/chat/completions", "paced/paced", ""};

static conn_t *conns;
static int epfd, open_streams, max_open, ready, finished_conns, last_status, reconnects;
static long long ok_streams, failed_streams, errors[E_COUNT];
static series_t lags, gaps;
static char request[2048];
static size_t request_len;

static void push(series_t *s, long long value) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) { perror("realloc"); exit(1); }
    }
    s->v[s->n++] = value;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long pct(series_t *s, double p) {
    if (!s->n) return -1;
    size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > s->n) rank = s->n;
    return s->v[rank - 1];
}

static void close_conn(conn_t *c) {
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->in_stream) { c->in_stream = 0; open_streams--; }
    if (c->state != FINISHED) { c->state = FINISHED; finished_conns++; }
}

static void fail(conn_t *c, int kind) {
    errors[kind]++;
    failed_streams += opt.repeats - c->done;
    if (opt.hold_ms && !c->first_seen) { c->first_seen = 1; ready++; }
    close_conn(c);
}

static void send_request(conn_t *c) {
    size_t sent = 0;
    while (sent < request_len) {
        ssize_t n = write(c->fd, request + sent, request_len - sent);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { struct pollfd p = {c->fd, POLLOUT, 0}; poll(&p, 1, 100); continue; }
            fail(c, E_CONNECT);
            return;
        }
        sent += (size_t)n;
    }
    c->state = HEAD;
    c->head_len = c->line_len = c->size_len = 0;
    c->deltas = c->got_done = 0;
    c->chunk_state = CH_SIZE;
    c->in_stream = 1;
    if (++open_streams > max_open) max_open = open_streams;
}

static void start(conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { fail(c, E_CONNECT); return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    c->state = CONNECTING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev)) { fail(c, E_CONNECT); return; }
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) && errno != EINPROGRESS)
        fail(c, E_CONNECT);
}

/* The body of one answer has ended: judge the stream, then start the next or finish. */
static void end_of_body(conn_t *c) {
    c->in_stream = 0;
    open_streams--;
    if (!c->got_done || c->deltas != opt.deltas) {
        errors[E_SHORT]++;
        failed_streams += opt.repeats - c->done;
        c->done = opt.repeats;
        close_conn(c);
        return;
    }
    ok_streams++;
    if (++c->done < opt.repeats && !c->until_close) {
        send_request(c);
        return;
    }
    if (c->done < opt.repeats) { /* the server closes after each answer: reconnect */
        close_conn(c);
        c->state = WAITING;
        finished_conns--;
        c->start_ns = 0;
        reconnects++;
        return;
    }
    close_conn(c);
}

static void on_line(conn_t *c, long long arrival) {
    char *line = c->line;
    size_t len = c->line_len;
    if (len && line[len - 1] == '\r') len--;
    line[len] = 0;
    if (strncmp(line, "data:", 5) != 0) return;
    char *data = line + 5;
    if (*data == ' ') data++;
    if (strcmp(data, "[DONE]") == 0) { c->got_done = 1; return; }
    if (strncmp(data, "{\"error\"", 8) == 0) { fail(c, E_INBAND); return; }
    char *at = strchr(data, '@');
    if (!at) return;
    long long stamp = strtoll(at + 1, NULL, 10);
    if (stamp <= 0) return;
    push(&lags, arrival - stamp);
    if (c->deltas > 0) push(&gaps, arrival - c->last_arrival);
    c->last_arrival = arrival;
    c->deltas++;
    if (opt.hold_ms && !c->first_seen) { c->first_seen = 1; ready++; }
}

/* Body bytes after de-chunking: split into SSE lines. */
static void on_data(conn_t *c, const char *data, size_t len, long long arrival) {
    for (size_t i = 0; i < len && c->state == BODY; i++) {
        if (data[i] == '\n') {
            on_line(c, arrival);
            c->line_len = 0;
        } else if (c->line_len < LINE_CAP - 1) {
            c->line[c->line_len++] = data[i];
        } else {
            fail(c, E_PROTOCOL);
        }
    }
}

/* Returns 1 when the body ended inside these bytes. */
static int on_body(conn_t *c, const char *data, size_t len, long long arrival) {
    if (!c->chunked) {
        if (c->until_close) { on_data(c, data, len, arrival); return 0; }
        size_t take = (size_t)c->remaining < len ? (size_t)c->remaining : len;
        on_data(c, data, take, arrival);
        c->remaining -= (long long)take;
        return c->remaining == 0;
    }
    size_t i = 0;
    while (i < len && c->state == BODY) {
        if (c->chunk_state == CH_DATA) {
            size_t take = (size_t)c->remaining < len - i ? (size_t)c->remaining : len - i;
            on_data(c, data + i, take, arrival);
            i += take;
            c->remaining -= (long long)take;
            if (c->remaining == 0) { c->chunk_state = CH_DATA_END; c->remaining = 2; }
        } else if (c->chunk_state == CH_DATA_END) {
            i++;
            if (--c->remaining == 0) c->chunk_state = CH_SIZE;
        } else {
            char ch = data[i++];
            if (ch != '\n') {
                if (c->size_len < sizeof c->size_line - 1) c->size_line[c->size_len++] = ch;
                continue;
            }
            c->size_line[c->size_len] = 0;
            size_t line_len = c->size_len;
            c->size_len = 0;
            if (c->chunk_state == CH_TRAILER) {
                if (line_len == 0 || (line_len == 1 && c->size_line[0] == '\r')) return 1;
                continue;
            }
            long long size = strtoll(c->size_line, NULL, 16);
            if (size == 0) c->chunk_state = CH_TRAILER;
            else { c->chunk_state = CH_DATA; c->remaining = size; }
        }
    }
    return 0;
}

static void on_head(conn_t *c, const char *data, size_t len, long long arrival) {
    size_t take = len < HEAD_CAP - 1 - c->head_len ? len : HEAD_CAP - 1 - c->head_len;
    memcpy(c->head + c->head_len, data, take);
    size_t before = c->head_len;
    c->head_len += take;
    c->head[c->head_len] = 0;
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) { if (c->head_len == HEAD_CAP - 1) fail(c, E_PROTOCOL); return; }
    size_t head_size = (size_t)(end - c->head) + 4;
    int status = 0;
    sscanf(c->head, "HTTP/1.%*d %d", &status);
    if (status != 200) { last_status = status; fail(c, E_STATUS); return; }
    *end = 0;
    c->chunked = strcasestr(c->head, "\ntransfer-encoding: chunked") != NULL;
    c->until_close = strcasestr(c->head, "\nconnection: close") != NULL;
    char *length = strcasestr(c->head, "\ncontent-length:");
    if (!c->chunked && length) { c->remaining = strtoll(length + 16, NULL, 10); c->until_close = 0; }
    else if (!c->chunked) c->until_close = 1;
    c->state = BODY;
    size_t consumed = head_size - before;
    if (consumed < len && on_body(c, data + consumed, len - consumed, arrival)) end_of_body(c);
}

static void on_readable(conn_t *c) {
    char buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        long long arrival = real_us();
        if (n == 0) {
            if (c->state == BODY && c->until_close) { c->until_close = 0; end_of_body(c); }
            else fail(c, E_CLOSED);
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) fail(c, E_CLOSED);
            return;
        }
        if (c->state == HEAD) on_head(c, buf, (size_t)n, arrival);
        else if (c->state == BODY && on_body(c, buf, (size_t)n, arrival)) end_of_body(c);
        if (c->state != HEAD && c->state != BODY) return;
    }
}

static void on_event(conn_t *c, uint32_t events) {
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & (EPOLLERR | EPOLLHUP))) { fail(c, E_CONNECT); return; }
        if (!(events & EPOLLOUT)) return;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        send_request(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
}

static void print_result(long long wall_ns) {
    qsort(lags.v, lags.n, sizeof *lags.v, cmp);
    qsort(gaps.v, gaps.n, sizeof *gaps.v, cmp);
    printf("{\"streams_planned\":%lld,\"streams_ok\":%lld,\"streams_failed\":%lld,"
           "\"max_open\":%d,\"deltas\":%zu,\"wall_ms\":%lld,\"last_status\":%d,\"errors\":{",
           (long long)opt.streams * opt.repeats, ok_streams, failed_streams, max_open, lags.n,
           wall_ns / 1000000, last_status);
    for (int i = 0; i < E_COUNT; i++)
        printf("%s\"%s\":%lld", i ? "," : "", ERROR_NAMES[i], errors[i]);
    printf("},\"lag_p50_us\":%lld,\"lag_p99_us\":%lld,\"lag_max_us\":%lld,"
           "\"gap_p50_us\":%lld,\"gap_p99_us\":%lld,\"gap_max_us\":%lld}\n",
           pct(&lags, 50), pct(&lags, 99), pct(&lags, 100), pct(&gaps, 50), pct(&gaps, 99),
           pct(&gaps, 100));
    fflush(stdout);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        if (!strcmp(name, "--port")) opt.port = atoi(value);
        else if (!strcmp(name, "--path")) opt.path = value;
        else if (!strcmp(name, "--model")) opt.model = value;
        else if (!strcmp(name, "--key")) opt.key = value;
        else if (!strcmp(name, "--streams")) opt.streams = atoi(value);
        else if (!strcmp(name, "--repeats")) opt.repeats = atoi(value);
        else if (!strcmp(name, "--ramp-ms")) opt.ramp_ms = atoi(value);
        else if (!strcmp(name, "--deltas")) opt.deltas = atoi(value);
        else if (!strcmp(name, "--interval-ms")) opt.interval_ms = atoi(value);
        else if (!strcmp(name, "--deadline-ms")) opt.deadline_ms = atoi(value);
        else if (!strcmp(name, "--hold-ms")) opt.hold_ms = atoi(value);
        else { fprintf(stderr, "unknown option %s\n", name); exit(2); }
    }
    if (opt.port <= 0 || opt.streams <= 0 || opt.repeats <= 0) {
        fprintf(stderr, "need --port and positive --streams, --repeats\n");
        exit(2);
    }
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    parse_args(argc, argv);
    if (opt.hold_ms) opt.repeats = 1;
    char body[512];
    int body_len = snprintf(body, sizeof body,
                            "{\"model\":\"%s\",\"stream\":true,\"stream_options\":"
                            "{\"include_usage\":true},\"messages\":[{\"role\":\"user\","
                            "\"content\":\"Count slowly.\"}]}", opt.model);
    request_len = (size_t)snprintf(request, sizeof request,
                                   "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                   "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
                                   "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
                                   opt.path, opt.port, opt.key, body_len, body);
    conns = calloc((size_t)opt.streams, sizeof *conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    long long t0 = mono_ns();
    for (int i = 0; i < opt.streams; i++) {
        conns[i].fd = -1;
        conns[i].state = WAITING;
        conns[i].start_ns = t0 + (long long)opt.ramp_ms * 1000000LL * i / opt.streams;
    }
    long long deadline = t0 + (long long)opt.deadline_ms * 1000000LL;
    int next = 0, announced = 0;
    long long hold_until = 0;
    struct epoll_event events[1024];
    while (finished_conns < opt.streams) {
        long long now = mono_ns();
        if (now >= deadline) break;
        for (int i = 0; reconnects && i < next; i++) { /* after Connection: close */
            if (conns[i].state == WAITING && conns[i].start_ns == 0) {
                reconnects--;
                start(&conns[i]);
            }
        }
        while (next < opt.streams && conns[next].start_ns <= now) start(&conns[next++]);
        if (opt.hold_ms && !announced && ready >= opt.streams) {
            printf("READY {\"ready\":%d,\"open\":%d}\n", ready, open_streams);
            fflush(stdout);
            announced = 1;
            hold_until = now + (long long)opt.hold_ms * 1000000LL;
        }
        if (announced) {
            struct pollfd p = {0, POLLIN, 0};
            if (now >= hold_until || poll(&p, 1, 0) > 0) break;
        }
        long long wait_ns = next < opt.streams ? conns[next].start_ns - now : 10000000LL;
        int timeout = (int)(wait_ns / 1000000LL);
        if (timeout > 10) timeout = 10;
        if (timeout < 0) timeout = 0;
        int n = epoll_wait(epfd, events, 1024, timeout);
        for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
    }
    long long wall = mono_ns() - t0;
    for (int i = 0; i < opt.streams; i++) {
        conn_t *c = &conns[i];
        if (c->state == FINISHED) continue;
        if (opt.hold_ms && announced) { ok_streams++; close_conn(c); continue; }
        fail(c, E_TIMEOUT);
    }
    print_result(wall);
    return 0;
}

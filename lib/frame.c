/*  frame: see frame.h.

    Pipe reader invariant: buf[start..end) holds bytes read but not yet
    returned; a frame is returned only after frame_scan has found its whole
    extent, so msgpack-c never sees a partial or oversized frame and never
    allocates more than a small multiple of max_frame.

    Pipe writer invariant: frames buffered by a pipe writer go out before any
    reader of the same thread waits for input, so a slow (real-time) stream
    is never held back in a stage's buffer; fast streams still write whole
    chunks, as input is ready whenever the reader looks.  */
#include "frame.h"
#include "mp.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static size_t
s_max_frame (const frame_opts_t *opts)
{
    return opts && opts->max_frame ? opts->max_frame : FRAME_MAX_DEFAULT;
}

static bool
s_is_zmq (const char *endpoint)
{
    return strstr (endpoint, "://") != NULL;
}

//  Scanner: walks one object's encoding, tracking how many objects are still
//  owed; container counts only add to that debt, so a huge claimed count costs
//  nothing until bytes actually arrive.
long
frame_scan (const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *) buf;
    size_t pos = 0;
    uint64_t owed = 1;
    while (owed > 0) {
        if (pos >= len)
            return 0;
        unsigned c = p[pos++];
        owed--;
        uint64_t skip = 0, add = 0;
        size_t hdr = 0;                 //  bytes of a length field that follows
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
            ;                           //  fixint, nil, bool
        else if (c >= 0x80 && c <= 0x8f)
            add = 2 * (uint64_t) (c & 0x0f);
        else if (c >= 0x90 && c <= 0x9f)
            add = c & 0x0f;
        else if (c >= 0xa0 && c <= 0xbf)
            skip = c & 0x1f;
        else
            switch (c) {
            case 0xc1:
                return -1;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc4: case 0xd9: hdr = 1; break;
            case 0xc5: case 0xda: hdr = 2; break;
            case 0xc6: case 0xdb: hdr = 4; break;
            case 0xc7: hdr = 1; break;      //  ext 8: len + type byte
            case 0xc8: hdr = 2; break;
            case 0xc9: hdr = 4; break;
            case 0xdc: case 0xde: hdr = 2; break;
            case 0xdd: case 0xdf: hdr = 4; break;
            default:
                return -1;
            }
        if (hdr) {
            if (len - pos < hdr)
                return 0;
            uint64_t n = 0;
            for (size_t i = 0; i < hdr; i++)
                n = (n << 8) | p[pos + i];
            pos += hdr;
            if (c == 0xdc || c == 0xdd)
                add = n;
            else if (c == 0xde || c == 0xdf)
                add = 2 * n;
            else if (c >= 0xc7 && c <= 0xc9)
                skip = n + 1;
            else
                skip = n;
        }
        if (skip > len - pos)
            return 0;
        pos += skip;
        owed += add;
    }
    return (long) pos;
}

//  Pipe writers of this thread with buffered frames (see the invariant).
static void
    s_pipe_flush_pending (void);
static bool
    s_pipe_pending (void);

struct _frame_reader_t {
    int fd;                     //  pipe/file, or -1
    bool own_fd;
    char *buf;                  //  pipe buffer
    size_t cap, start, end;
    bool eof;
    uint64_t offset;            //  stream offset of buf[start]
    zsock_t *sock;              //  ZeroMQ, or NULL
    zmq_msg_t msg;
    bool have_msg;
    int producers, eos_seen;
    uint64_t announced;
    size_t max_frame;
    uint64_t count;
    bool draining;              //  a signal came: return what is queued, then end
    double drain;               //  quiet time that ends a drain, seconds
    const char *data;           //  last frame's bytes
    size_t size;
    msgpack_unpacked unp;
};

//  CURVE set-up shared by readers and writers (curve.c is optional: plain
//  sockets when no cert is named).
int
    frame_curve_apply (zsock_t *sock, const frame_opts_t *opts, char *err);

frame_reader_t *
frame_reader_new (const char *endpoint, const frame_opts_t *opts, char *err)
{
    frame_reader_t *self = xcalloc (1, sizeof *self);
    self->fd = -1;
    self->max_frame = s_max_frame (opts);
    self->producers = opts && opts->producers > 0 ? opts->producers : 1;
    self->drain = opts && opts->drain > 0 ? opts->drain : 0.2;
    msgpack_unpacked_init (&self->unp);
    if (!strcmp (endpoint, "-"))
        self->fd = 0;
    else if (!s_is_zmq (endpoint)) {
        self->fd = open (endpoint, O_RDONLY);
        if (self->fd < 0) {
            errf (err, "cannot open '%s': %s", endpoint, strerror (errno));
            goto fail;
        }
        self->own_fd = true;
        struct stat st;
        if (fstat (self->fd, &st) == 0 && S_ISDIR (st.st_mode)) {
            errf (err, "cannot read '%s': is a directory", endpoint);
            goto fail;
        }
    }
    else {
        self->sock = zsock_new (ZMQ_PULL);
        if (!self->sock) {
            errf (err, "cannot create a socket for '%s'", endpoint);
            goto fail;
        }
        zsock_set_rcvhwm (self->sock, opts && opts->hwm ? opts->hwm : 1000);
        zsock_set_maxmsgsize (self->sock, (int64_t) self->max_frame);
        if (frame_curve_apply (self->sock, opts, err))
            goto fail;
        if (zsock_attach (self->sock, endpoint, true)) {
            errf (err, "cannot attach to '%s': %s", endpoint, zmq_strerror (zmq_errno ()));
            goto fail;
        }
        zmq_msg_init (&self->msg);
        self->have_msg = true;
        return self;
    }
    self->cap = CHUNK * 4;
    self->buf = xmalloc (self->cap);
    return self;
fail:
    frame_reader_destroy (&self);
    return NULL;
}

void
frame_reader_destroy (frame_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    frame_reader_t *self = *self_p;
    if (self->own_fd)
        close (self->fd);
    if (self->have_msg)
        zmq_msg_close (&self->msg);
    zsock_destroy (&self->sock);
    msgpack_unpacked_destroy (&self->unp);
    free (self->buf);
    free (self);
    *self_p = NULL;
}

static bool
s_is_map (const char *data)
{
    unsigned char c = (unsigned char) data[0];
    return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
}

//  {"_eos": N} however it is encoded: a one-entry map whose key is the str
//  "_eos" and whose value is an unsigned integer.
static bool
s_is_eos (const char *data, size_t size, uint64_t *n)
{
    const unsigned char *p = (const unsigned char *) data;
    if (size < 7 || p[0] != 0x81 || p[1] != 0xa4 || memcmp (p + 2, "_eos", 4))
        return false;
    p += 6;
    size -= 6;
    size_t len = p[0] <= 0x7f ? 0 : p[0] == 0xcc ? 1 : p[0] == 0xcd ? 2 : p[0] == 0xce ? 4 : p[0] == 0xcf ? 8 : 9;
    if (len == 9 || size != len + 1)
        return false;
    *n = p[0] <= 0x7f ? p[0] : 0;
    for (size_t i = 1; i <= len; i++)
        *n = (*n << 8) | p[i];
    return true;
}

static int
s_raw_pipe (frame_reader_t *self, const char **data, size_t *size, char *err)
{
    while (true) {
        size_t avail = self->end - self->start;
        if (avail > 0) {
            long n = frame_scan (self->buf + self->start, avail);
            if (n < 0)
                return errf (err, "byte offset %llu: not a MessagePack stream",
                             (unsigned long long) self->offset);
            if (n > 0) {
                if ((size_t) n > self->max_frame)
                    return errf (err, "frame %llu: %ld bytes exceeds the maximum frame size %zu (--max-frame)",
                                 (unsigned long long) self->count + 1, n, self->max_frame);
                const char *d = self->buf + self->start;
                if (!s_is_map (d)) {
                    unsigned char c = (unsigned char) d[0];
                    return errf (err, "byte offset %llu: frame is not a MessagePack map%s",
                                 (unsigned long long) self->offset,
                                 c == '{' || c == '"' || c == '[' ? " (input looks like JSON text)" : "");
                }
                self->start += n;
                self->offset += n;
                self->count++;
                *data = self->data = d;
                *size = self->size = (size_t) n;
                return 1;
            }
            if (avail > self->max_frame)
                return errf (err, "frame %llu: more than %zu bytes, exceeds the maximum frame size (--max-frame)",
                             (unsigned long long) self->count + 1, self->max_frame);
        }
        if (self->eof || self->draining) {
            if (avail > 0 && !self->draining)
                return errf (err, "byte offset %llu: truncated frame at end of input (%zu bytes)",
                             (unsigned long long) self->offset, avail);
            return 0;
        }
        //  Make room: move the partial frame to the front, grow if needed.
        if (self->start > 0 && (self->cap - self->end < CHUNK || self->start == self->end)) {
            memmove (self->buf, self->buf + self->start, avail);
            self->start = 0;
            self->end = avail;
        }
        if (self->cap - self->end < CHUNK) {
            self->cap *= 2;
            self->buf = xrealloc (self->buf, self->cap);
        }
        if (s_pipe_pending ()) {
            struct pollfd pfd = {.fd = self->fd, .events = POLLIN};
            if (poll (&pfd, 1, 0) == 0)
                s_pipe_flush_pending ();    //  about to wait: hand on what we hold
        }
        ssize_t r = read (self->fd, self->buf + self->end, self->cap - self->end);
        if (r < 0) {
            if (errno == EINTR) {
                self->draining = true;      //  a signal: finish what is buffered
                continue;
            }
            return errf (err, "read error: %s", strerror (errno));
        }
        if (r == 0)
            self->eof = true;
        self->end += r;
    }
}

static int
s_raw_zmq (frame_reader_t *self, const char **data, size_t *size, char *err)
{
    void *handle = zsock_resolve (self->sock);
    while (true) {
        if (self->draining) {
            zmq_pollitem_t item = {.socket = handle, .events = ZMQ_POLLIN};
            if (zmq_poll (&item, 1, (long) (self->drain * 1000)) <= 0)
                return 0;
        }
        int flags = s_pipe_pending () ? ZMQ_DONTWAIT : 0;
        if (zmq_msg_recv (&self->msg, handle, flags) < 0) {
            if (zmq_errno () == EAGAIN && flags) {
                s_pipe_flush_pending ();    //  about to wait: hand on what we hold
                continue;
            }
            if (zmq_errno () == EINTR) {
                self->draining = true;
                continue;
            }
            if (zmq_errno () == ETERM)
                return 0;
            return errf (err, "receive error: %s", zmq_strerror (zmq_errno ()));
        }
        const char *d = zmq_msg_data (&self->msg);
        size_t n = zmq_msg_size (&self->msg);
        uint64_t sent;
        if (s_is_eos (d, n, &sent)) {
            self->announced += sent;
            if (++self->eos_seen >= self->producers)
                return 0;
            continue;
        }
        self->count++;
        if (n > self->max_frame)
            return errf (err, "frame %llu: %zu bytes exceeds the maximum frame size %zu (--max-frame)",
                         (unsigned long long) self->count, n, self->max_frame), -2;
        if (n == 0 || frame_scan (d, n) != (long) n || !s_is_map (d))
            return errf (err, "frame %llu: not a MessagePack map", (unsigned long long) self->count), -2;
        *data = self->data = d;
        *size = self->size = n;
        return 1;
    }
}

int
frame_reader_next_raw (frame_reader_t *self, const char **data, size_t *size, char *err)
{
    return self->sock ? s_raw_zmq (self, data, size, err) : s_raw_pipe (self, data, size, err);
}

int
frame_reader_next (frame_reader_t *self, const msgpack_object **obj, char *err)
{
    const char *data;
    size_t size, off = 0;
    int rc = frame_reader_next_raw (self, &data, &size, err);
    if (rc != 1)
        return rc;
    //  framing was checked: the only failure left is running out of memory
    if (msgpack_unpack_next (&self->unp, data, size, &off) != MSGPACK_UNPACK_SUCCESS)
        return errf (err, "frame %llu: cannot be unpacked", (unsigned long long) self->count), -2;
    *obj = &self->unp.data;
    return 1;
}

bool
frame_reader_pending (frame_reader_t *self)
{
    if (self->sock)
        return (zsock_events (self->sock) & ZMQ_POLLIN) != 0;
    return self->end > self->start
        && frame_scan (self->buf + self->start, self->end - self->start) != 0;
}

void
frame_reader_drain (frame_reader_t *self)
{
    self->draining = true;
}

const char *
frame_reader_data (frame_reader_t *self, size_t *size)
{
    *size = self->size;
    return self->data;
}

uint64_t
frame_reader_count (frame_reader_t *self)
{
    return self->count;
}

uint64_t
frame_reader_announced (frame_reader_t *self)
{
    return self->announced;
}

void *
frame_reader_sock (frame_reader_t *self)
{
    return self->sock;
}

#define FRAME_MAX_FANOUT 64

struct _frame_writer_t {
    int fd;                     //  pipe/file, or -1
    bool own_fd;
    char *buf;                  //  pipe output buffer
    size_t len, cap;
    zsock_t *sock[FRAME_MAX_FANOUT];    //  ZeroMQ: one PUSH socket per peer list entry
    uint64_t sent[FRAME_MAX_FANOUT];    //  frames sent on each socket
    size_t nsock, next;         //  sockets, round-robin position
    int linger_ms;              //  how long close waits for a peer (-1 forever)
    uint64_t count;
    bool failed;
    frame_writer_t *next_pipe;  //  this thread's list of pipe writers
};

static __thread frame_writer_t *s_pipes;

static bool
s_pipe_pending (void)
{
    for (frame_writer_t *w = s_pipes; w; w = w->next_pipe)
        if (w->len > 0 && !w->failed)
            return true;
    return false;
}

static void
s_pipe_flush_pending (void)
{
    char err[ERRLEN];
    for (frame_writer_t *w = s_pipes; w; w = w->next_pipe)
        if (w->len > 0 && !w->failed)
            frame_writer_flush (w, err);    //  a failure is kept in w->failed
}

static void
s_writer_free (frame_writer_t *self)
{
    for (frame_writer_t **p = &s_pipes; *p; p = &(*p)->next_pipe)
        if (*p == self) {
            *p = self->next_pipe;
            break;
        }
    if (self->own_fd)
        close (self->fd);
    for (size_t i = 0; i < self->nsock; i++)
        zsock_destroy (&self->sock[i]);
    free (self->buf);
    free (self);
}

//  One PUSH socket for one endpoint.
static zsock_t *
s_push_new (const char *endpoint, const frame_opts_t *opts, char *err)
{
    zsock_t *sock = zsock_new (ZMQ_PUSH);
    if (!sock) {
        errf (err, "cannot create a socket for '%s'", endpoint);
        return NULL;
    }
    zsock_set_sndhwm (sock, opts && opts->hwm ? opts->hwm : 1000);
    //  linger_ms: 0 = the default, -2 = drop at once, else milliseconds
    int linger = !opts || !opts->linger_ms ? FRAME_LINGER_DEFAULT_MS
               : opts->linger_ms == -2 ? 0 : opts->linger_ms;
    zsock_set_linger (sock, linger);
    if (frame_curve_apply (sock, opts, err)) {
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_attach (sock, endpoint, false)) {
        errf (err, "cannot attach to '%s': %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

frame_writer_t *
frame_writer_new (const char *endpoint, const frame_opts_t *opts, char *err)
{
    frame_writer_t *self = xcalloc (1, sizeof *self);
    self->fd = -1;
    if (err)
        *err = 0;
    if (!strcmp (endpoint, "-"))
        self->fd = 1;
    else if (!s_is_zmq (endpoint)) {
        self->fd = open (endpoint, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (self->fd < 0) {
            errf (err, "cannot open '%s': %s", endpoint, strerror (errno));
            goto fail;
        }
        self->own_fd = true;
        struct stat st;
        if (fstat (self->fd, &st) == 0 && S_ISDIR (st.st_mode)) {
            errf (err, "cannot read '%s': is a directory", endpoint);
            goto fail;
        }
    }
    else {
        //  "A;B;C": one socket per peer, frames balanced over them, one
        //  end-of-stream frame to each.  (CZMQ's "A,B" instead attaches one
        //  socket to several endpoints, which cannot address each peer.)
        char *list = xstrdup (endpoint), *save = NULL;
        for (char *ep = strtok_r (list, ";", &save); ep; ep = strtok_r (NULL, ";", &save)) {
            if (self->nsock == FRAME_MAX_FANOUT) {
                errf (err, "more than %d peers in '%s'", FRAME_MAX_FANOUT, endpoint);
                free (list);
                goto fail;
            }
            self->linger_ms = !opts || !opts->linger_ms ? FRAME_LINGER_DEFAULT_MS
                            : opts->linger_ms == -2 ? 0 : opts->linger_ms;
            self->sock[self->nsock] = s_push_new (ep, opts, err);
            if (!self->sock[self->nsock]) {
                free (list);
                goto fail;
            }
            self->nsock++;
        }
        free (list);
        if (!self->nsock) {
            errf (err, "no endpoint in '%s'", endpoint);
            goto fail;
        }
        return self;
    }
    self->cap = CHUNK;
    self->buf = xmalloc (self->cap);
    self->next_pipe = s_pipes;
    s_pipes = self;
    return self;
fail:
    s_writer_free (self);
    return NULL;
}

static int
s_write_all (frame_writer_t *self, const char *data, size_t size, char *err)
{
    while (size > 0) {
        ssize_t w = write (self->fd, data, size);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            self->failed = true;
            return errf (err, "write error: %s", strerror (errno));
        }
        data += w;
        size -= w;
    }
    return 0;
}

int
frame_writer_flush (frame_writer_t *self, char *err)
{
    if (self->failed)
        return errf (err, "earlier write failed");
    if (self->nsock || self->len == 0)
        return 0;
    int rc = s_write_all (self, self->buf, self->len, err);
    self->len = 0;
    return rc;
}

//  Send on socket i, blocking at the high-water mark; a signal never loses
//  the frame in hand.
static int
s_send_one (frame_writer_t *self, size_t i, const char *data, size_t size, char *err)
{
    void *handle = zsock_resolve (self->sock[i]);
    while (zmq_send (handle, data, size, 0) < 0) {
        if (zmq_errno () == EINTR)
            continue;
        self->failed = true;
        return errf (err, "send error: %s", zmq_strerror (zmq_errno ()));
    }
    self->sent[i]++;
    return 0;
}

//  Fan-out: the next socket in turn that has room; wait for one if none has.
static int
s_send_balanced (frame_writer_t *self, const char *data, size_t size, char *err)
{
    if (self->nsock == 1)
        return s_send_one (self, 0, data, size, err);
    while (true) {
        for (size_t k = 0; k < self->nsock; k++) {
            size_t i = (self->next + k) % self->nsock;
            if (zmq_send (zsock_resolve (self->sock[i]), data, size, ZMQ_DONTWAIT) >= 0) {
                self->sent[i]++;
                self->next = (i + 1) % self->nsock;
                return 0;
            }
            if (zmq_errno () != EAGAIN && zmq_errno () != EINTR) {
                self->failed = true;
                return errf (err, "send error: %s", zmq_strerror (zmq_errno ()));
            }
        }
        zmq_pollitem_t items[FRAME_MAX_FANOUT];
        for (size_t i = 0; i < self->nsock; i++)
            items[i] = (zmq_pollitem_t) {.socket = zsock_resolve (self->sock[i]), .events = ZMQ_POLLOUT};
        zmq_poll (items, (int) self->nsock, 1000);
    }
}

int
frame_writer_send (frame_writer_t *self, const char *data, size_t size, char *err)
{
    if (self->failed)
        return errf (err, "earlier write failed");
    self->count++;
    if (self->nsock)
        return s_send_balanced (self, data, size, err);
    if (self->len + size > self->cap && frame_writer_flush (self, err))
        return -1;
    if (size >= self->cap)
        return s_write_all (self, data, size, err);
    memcpy (self->buf + self->len, data, size);
    self->len += size;
    return 0;
}

uint64_t
frame_writer_count (frame_writer_t *self)
{
    return self->count;
}

int
frame_writer_close (frame_writer_t **self_p, char *err)
{
    if (!self_p || !*self_p)
        return 0;
    frame_writer_t *self = *self_p;
    int rc = 0;
    if (self->nsock) {
        //  {"_eos": n} on every socket, n = frames that socket carried
        for (size_t i = 0; i < self->nsock && !self->failed; i++) {
            char eos[16];
            size_t n = 0;
            eos[n++] = (char) 0x81;
            eos[n++] = (char) 0xa4;
            memcpy (eos + n, "_eos", 4);
            n += 4;
            eos[n++] = (char) 0xcf;
            for (int b = 7; b >= 0; b--)
                eos[n++] = (char) ((self->sent[i] >> (8 * b)) & 0xff);
            //  a peer that is gone (or stuck) must not hang the exit forever
            zmq_pollitem_t item = {.socket = zsock_resolve (self->sock[i]), .events = ZMQ_POLLOUT};
            if (zmq_poll (&item, 1, self->linger_ms) <= 0) {
                rc = errf (err, "peer %zu of %zu took no end of stream within the linger time; "
                           "frames queued for it are lost", i + 1, self->nsock);
                continue;
            }
            if (s_send_one (self, i, eos, n, err))
                rc = -1;
        }
        if (self->failed && !rc)
            rc = errf (err, "earlier send failed");
    }
    else {
        rc = frame_writer_flush (self, err);
        if (self->own_fd && close (self->fd) && !rc)
            rc = errf (err, "close error: %s", strerror (errno));
        self->own_fd = false;
    }
    s_writer_free (self);       //  sockets linger until delivered (--linger)
    *self_p = NULL;
    return rc;
}

void
frame_test (bool verbose)
{
    (void) verbose;
    //  scanner on hand-made encodings
    assert (frame_scan ("\x80", 1) == 1);
    assert (frame_scan ("\x81\xa1t\xcb", 4) == 0);
    assert (frame_scan ("\x81\xa1t\x05", 4) == 4);
    assert (frame_scan ("\xc1", 1) == -1);
    assert (frame_scan ("\xdd\xff\xff\xff\xff\xc0", 6) == 0);     //  huge claimed array
    assert (frame_scan ("\xc4\x03" "abc" "\x01", 6) == 5);
    assert (frame_scan ("\xc7\x02\x01" "ab", 5) == 5);          //  ext 8

    //  a pipe round trip through a file, then a truncated copy and garbage
    char path[] = "/tmp/vigil-frame-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    char err[ERRLEN];
    frame_writer_t *w = frame_writer_new (path, NULL, err);
    assert (w);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    for (int i = 0; i < 10000; i++) {
        sb.size = 0;
        msgpack_pack_map (&pk, 1);
        mp_pack_str (&pk, "seq");
        msgpack_pack_int (&pk, i);
        assert (frame_writer_send (w, sb.data, sb.size, err) == 0);
    }
    assert (frame_writer_count (w) == 10000);
    assert (frame_writer_close (&w, err) == 0 && !w);
    frame_reader_t *r = frame_reader_new (path, NULL, err);
    assert (r);
    const msgpack_object *obj;
    uint64_t seq;
    for (int i = 0; i < 10000; i++) {
        assert (frame_reader_next (r, &obj, err) == 1);
        assert (mp_get_u64 (obj, "seq", &seq) == 0 && seq == (uint64_t) i);
    }
    assert (frame_reader_next (r, &obj, err) == 0);
    frame_reader_destroy (&r);

    FILE *f = fopen (path, "r+b");
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    fclose (f);
    assert (truncate (path, size - 1) == 0);
    r = frame_reader_new (path, NULL, err);
    int rc, n = 0;
    while ((rc = frame_reader_next (r, &obj, err)) == 1)
        n++;
    assert (rc == -1 && strstr (err, "truncated") && n == 9999);
    frame_reader_destroy (&r);

    //  garbage: text is not a stream of maps; reserved byte; oversize frame
    f = fopen (path, "wb");
    fputs ("{\"t\": 1}\n", f);
    fclose (f);
    r = frame_reader_new (path, NULL, err);
    assert (frame_reader_next (r, &obj, err) == -1 && strstr (err, "JSON"));
    frame_reader_destroy (&r);
    f = fopen (path, "wb");
    fputs ("\x80\xc1", f);
    fclose (f);
    r = frame_reader_new (path, NULL, err);
    assert (frame_reader_next (r, &obj, err) == 1);
    assert (frame_reader_next (r, &obj, err) == -1 && strstr (err, "byte offset 1"));
    frame_reader_destroy (&r);
    f = fopen (path, "wb");
    fwrite ("\x81\xa1s\xc5\x10\x00", 1, 6, f);    //  a 4096-byte bin
    for (int i = 0; i < 4096; i++)
        fputc ('a', f);
    fclose (f);
    frame_opts_t small = {.max_frame = 1024};
    //  A directory given as a file is refused by name, not at the first read.
    assert (!frame_reader_new ("/tmp", NULL, err) && strstr (err, "'/tmp': is a directory"));
    r = frame_reader_new (path, &small, err);
    assert (frame_reader_next (r, &obj, err) == -1 && strstr (err, "frame 1") && strstr (err, "maximum"));
    frame_reader_destroy (&r);
    r = frame_reader_new (path, NULL, err);
    assert (frame_reader_next (r, &obj, err) == 1);
    frame_reader_destroy (&r);
    assert (!frame_reader_new ("/nonexistent/file", NULL, err) && strstr (err, "cannot open"));
    remove (path);

    //  ZeroMQ over inproc: two producers, EOS accounting
    frame_opts_t two = {.producers = 2};
    r = frame_reader_new ("@inproc://frame-test", &two, err);
    assert (r);
    frame_writer_t *w1 = frame_writer_new (">inproc://frame-test", NULL, err);
    frame_writer_t *w2 = frame_writer_new (">inproc://frame-test", NULL, err);
    assert (w1 && w2);
    sb.size = 0;
    msgpack_pack_map (&pk, 0);
    for (int i = 0; i < 3; i++)
        assert (frame_writer_send (w1, sb.data, sb.size, err) == 0);
    assert (frame_writer_send (w2, sb.data, sb.size, err) == 0);
    assert (frame_writer_close (&w1, err) == 0);
    assert (frame_writer_close (&w2, err) == 0);
    n = 0;
    while ((rc = frame_reader_next (r, &obj, err)) == 1)
        n++;
    assert (rc == 0 && n == 4 && frame_reader_announced (r) == 4);
    frame_reader_destroy (&r);
    msgpack_sbuffer_destroy (&sb);

    //  A pipe writer's buffered frame goes out before a reader waits: the
    //  child answers on the reader's pipe only after that frame arrived
    //  (without the flush the reader would see EOF after 5 s instead).
    int in_p[2], out_p[2];
    assert (pipe (in_p) == 0 && pipe (out_p) == 0);
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        close (in_p[0]);
        close (out_p[1]);
        struct pollfd pfd = {.fd = out_p[0], .events = POLLIN};
        if (poll (&pfd, 1, 5000) == 1 && write (in_p[1], "\x80", 1) != 1)
            _exit (1);
        _exit (0);
    }
    close (in_p[1]);
    close (out_p[0]);
    char ep[64];
    snprintf (ep, sizeof ep, "/dev/fd/%d", out_p[1]);
    w = frame_writer_new (ep, NULL, err);
    snprintf (ep, sizeof ep, "/dev/fd/%d", in_p[0]);
    r = frame_reader_new (ep, NULL, err);
    assert (w && r);
    assert (frame_writer_send (w, "\x80", 1, err) == 0);
    assert (frame_reader_next (r, &obj, err) == 1);
    assert (frame_reader_next (r, &obj, err) == 0);
    frame_reader_destroy (&r);
    assert (frame_writer_close (&w, err) == 0);
    close (in_p[0]);
    close (out_p[1]);
    assert (waitpid (pid, NULL, 0) == pid);
}

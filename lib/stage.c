/*  stage: see stage.h.  */
#include "stage.h"
#include "mp.h"
#include "seqcheck.h"

#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop_signal;

static void
s_on_signal (int sig)
{
    s_stop_signal = sig;
}

struct _stage_t {
    const cli_t *cli;
    frame_reader_t *in;
    frame_writer_t *out[CLI_MAX_OUT];
    size_t nout;
    msgpack_sbuffer sb;
    msgpack_unpacked unp;       //  stage_read_obj's frame
    seqcheck_t *seq;            //  --seq-check accounting, or NULL
    uint64_t nread, nwritten, nskipped;
    bool failed;            //  exit 1 at the end
    bool stop;              //  stop reading (strict error, output failure)
};

stage_t *
stage_new (const cli_t *cli, bool no_input)
{
    //  CZMQ's own SIGINT handler would swallow the signal; ours ends the
    //  stream at a frame boundary so the stage drains and closes cleanly.
    zsys_handler_set (NULL);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);

    stage_t *self = xcalloc (1, sizeof *self);
    self->cli = cli;
    msgpack_sbuffer_init (&self->sb);
    msgpack_unpacked_init (&self->unp);
    char err[ERRLEN];
    if (!no_input) {
        self->in = frame_reader_new (cli->in ? cli->in : "-", &cli->fopts, err);
        if (!self->in)
            cli_fatal (cli, "input: %s", err);
    }
    if (cli->seq_check)
        self->seq = seqcheck_new ();
    self->nout = cli->nout ? cli->nout : 1;
    for (size_t i = 0; i < self->nout; i++) {
        self->out[i] = frame_writer_new (cli_out (cli, i), &cli->fopts, err);
        if (!self->out[i])
            cli_fatal (cli, "output: %s", err);
    }
    return self;
}

uint64_t
stage_recno (const stage_t *self)
{
    return self->in ? frame_reader_count (self->in) : self->nwritten;
}

//  --seq-check: account the frame's id and seq (frames without seq are not
//  counted; a malformed one is the decoder's business, not this).
static void
s_seq_account (stage_t *self, const msgpack_object *obj)
{
    uint64_t seq;
    if (mp_get_u64 (obj, "seq", &seq))
        return;
    char id[REC_ID_MAX] = "";
    const msgpack_object *o = mp_get (obj, "id");
    if (o)
        mp_strcpy (o, id, sizeof id);
    seqcheck_add (self->seq, id, seq);
}

//  Next raw frame, with the stage's error handling.
static int
s_read_raw (stage_t *self, const char **data, size_t *size)
{
    char err[ERRLEN];
    while (true) {
        if (self->stop || !self->in)
            return self->stop ? -1 : 0;
        if (s_stop_signal)
            frame_reader_drain (self->in);
        int rc = frame_reader_next_raw (self->in, data, size, err);
        if (rc == 1) {
            self->nread++;
            return 1;
        }
        if (rc == 0)
            return 0;
        fprintf (stderr, "%s: %s\n", self->cli->prog, err);
        self->failed = true;
        if (rc == -2 && !self->cli->strict) {
            self->nskipped++;
            continue;
        }
        self->stop = true;
        return -1;
    }
}

int
stage_read_obj (stage_t *self, const msgpack_object **obj)
{
    const char *data;
    size_t size, off = 0;
    int rc;
    while ((rc = s_read_raw (self, &data, &size)) == 1) {
        //  framing was checked: only running out of memory can fail here
        if (msgpack_unpack_next (&self->unp, data, size, &off) != MSGPACK_UNPACK_SUCCESS) {
            stage_reject (self, "frame cannot be unpacked");
            continue;
        }
        *obj = &self->unp.data;
        if (self->seq)
            s_seq_account (self, *obj);
        return 1;
    }
    return rc;
}

int
stage_read (stage_t *self, record_t *rec)
{
    const char *data;
    size_t size;
    char err[ERRLEN];
    int rc;
    while ((rc = s_read_raw (self, &data, &size)) == 1) {
        if (record_decode_raw (rec, data, size, err) == 0) {
            if (self->seq && (rec->has & REC_SEQ))
                seqcheck_add (self->seq, rec->id, rec->seq);
            return 1;
        }
        stage_reject (self, "%s", err);
    }
    return rc;
}

const char *
stage_frame_data (stage_t *self, size_t *size)
{
    return frame_reader_data (self->in, size);
}

void
stage_reject (stage_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: record %llu: ", self->cli->prog, (unsigned long long) stage_recno (self));
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    self->nskipped++;
    self->failed = true;
    if (self->cli->strict)
        self->stop = true;
}

void
stage_reject_line (stage_t *self, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: line %llu: ", self->cli->prog, (unsigned long long) line);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    self->nskipped++;
    self->failed = true;
    if (self->cli->strict)
        self->stop = true;
}

void
stage_fail (stage_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: ", self->cli->prog);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    self->failed = true;
}

bool
stage_stopping (const stage_t *self)
{
    return self->stop || s_stop_signal;
}

int
stage_write_raw (stage_t *self, size_t out, const char *data, size_t size)
{
    char err[ERRLEN];
    if (out >= self->nout || !self->out[out])
        return -1;
    if (frame_writer_send (self->out[out], data, size, err)) {
        if (!self->stop)
            stage_fail (self, "output: %s", err);
        self->stop = true;
        return -1;
    }
    self->nwritten++;
    return 0;
}

int
stage_write_to (stage_t *self, size_t out, const record_t *rec)
{
    self->sb.size = 0;
    record_encode (rec, &self->sb);
    return stage_write_raw (self, out, self->sb.data, self->sb.size);
}

int
stage_write (stage_t *self, const record_t *rec)
{
    return stage_write_to (self, 0, rec);
}

int
stage_flush (stage_t *self)
{
    char err[ERRLEN];
    int rc = 0;
    for (size_t i = 0; i < self->nout; i++)
        if (self->out[i] && frame_writer_flush (self->out[i], err)) {
            if (!self->stop)
                stage_fail (self, "output: %s", err);
            self->stop = true;
            rc = -1;
        }
    return rc;
}

void *
stage_input_sock (stage_t *self)
{
    return self->in ? frame_reader_sock (self->in) : NULL;
}

int
stage_wait_input (stage_t *self, double timeout)
{
    if (!self->in || frame_reader_pending (self->in))
        return 1;
    const char *in = self->cli->in ? self->cli->in : "-";
    if (strcmp (in, "-") && !strstr (in, "://"))
        return 1;               //  a file is never idle
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    zsock_t *sock = frame_reader_sock (self->in);
    int ms = timeout < 0 ? -1 : (int) (timeout * 1000);
    if (sock) {
        zmq_pollitem_t item = {.socket = zsock_resolve (sock), .events = ZMQ_POLLIN};
        return zmq_poll (&item, 1, ms) > 0 ? 1 : 0;
    }
    //  On a pipe the frame reader may hold buffered bytes already: callers
    //  that flush on idle only lose a little latency by polling the fd.
    return poll (&pfd, 1, ms) > 0 ? 1 : 0;
}

void
stage_note_read (stage_t *self)
{
    self->nread++;
}

uint64_t
stage_nread (const stage_t *self)
{
    return self->nread;
}

uint64_t
stage_nwritten (const stage_t *self)
{
    return self->nwritten;
}

uint64_t
stage_nskipped (const stage_t *self)
{
    return self->nskipped;
}

int
stage_finish (stage_t **self_p)
{
    if (!self_p || !*self_p)
        return 0;
    stage_t *self = *self_p;
    char err[ERRLEN];
    for (size_t i = 0; i < self->nout; i++)
        if (frame_writer_close (&self->out[i], err))
            stage_fail (self, "output: %s", err);
    if (self->in) {
        uint64_t announced = frame_reader_announced (self->in);
        if (announced && announced != frame_reader_count (self->in) && !s_stop_signal)
            stage_fail (self, "input: producers sent %llu records, %llu arrived",
                        (unsigned long long) announced,
                        (unsigned long long) frame_reader_count (self->in));
    }
    if (self->seq) {
        char prefix[128];
        snprintf (prefix, sizeof prefix, "%s: input", self->cli->prog);
        uint64_t lost = seqcheck_report (self->seq, stderr, prefix);
        if (lost)
            stage_fail (self, "input: %llu records missing by sequence number",
                        (unsigned long long) lost);
        seqcheck_destroy (&self->seq);
    }
    if (self->cli->verbose)
        fprintf (stderr, "%s: %llu read, %llu written, %llu skipped%s\n", self->cli->prog,
                 (unsigned long long) self->nread, (unsigned long long) self->nwritten,
                 (unsigned long long) self->nskipped,
                 s_stop_signal ? " (stopped by signal)" : "");
    int rc = self->failed ? 1 : 0;
    frame_reader_destroy (&self->in);
    msgpack_sbuffer_destroy (&self->sb);
    msgpack_unpacked_destroy (&self->unp);
    free (self);
    *self_p = NULL;
    return rc;
}

void
stage_test (bool verbose)
{
    (void) verbose;
    //  a stage from a file of two frames (one bad) to another file
    char in[] = "/tmp/vigil-stage-in-XXXXXX", out[] = "/tmp/vigil-stage-out-XXXXXX";
    int fd = mkstemp (in);
    assert (fd >= 0);
    const char frames[] = "\x82\xa1t\x01\xa2id\xa2p1" "\x81\xa1t\xa1x";
    assert (write (fd, frames, sizeof frames - 1) == (ssize_t) sizeof frames - 1);
    close (fd);
    fd = mkstemp (out);
    close (fd);
    cli_t cli = {.prog = "stage-test", .usage = "usage: x\n", .in = in, .out = {out}, .nout = 1};
    stage_t *st = stage_new (&cli, false);
    record_t rec;
    record_init (&rec);
    FILE *saved = stderr;
    stderr = fopen ("/dev/null", "w");
    int n = 0;
    while (stage_read (st, &rec) == 1) {
        n++;
        assert (stage_write (st, &rec) == 0);
    }
    fclose (stderr);
    stderr = saved;
    assert (n == 1 && stage_nread (st) == 2 && stage_nskipped (st) == 1 && stage_nwritten (st) == 1);
    assert (stage_finish (&st) == 1 && !st);
    record_destroy (&rec);
    remove (in);
    remove (out);
}

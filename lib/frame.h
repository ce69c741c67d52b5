/*  frame: MessagePack frames on an endpoint.

    An endpoint is "-" (stdin for a reader, stdout for a writer), a file path
    for a reader or writer only when it starts with "/" or "./" and has no
    ZeroMQ prefix, or a ZeroMQ endpoint in CZMQ's syntax: "@tcp://0.0.0.0:5555"
    binds, ">tcp://127.0.0.1:5555" connects; ipc:// and inproc:// work too.
    The data path is PUSH (writer) / PULL (reader), blocking at the high-water
    mark, so nothing is dropped.  A writer endpoint "EP1;EP2;..." fans out:
    one PUSH socket per peer, each frame to the next peer with room, and one
    end-of-stream frame to every peer.

    On a pipe, frames are concatenated MessagePack maps and the stream ends at
    EOF.  On ZeroMQ, each message is one frame and a producer ends its stream
    with an end-of-stream frame {"_eos": N} (N = frames it sent); a reader with
    `producers` = P ends after P of them and checks the counts add up.  On
    SIGINT/SIGTERM a ZeroMQ reader drains what is already queued (until the
    input is quiet for `drain` seconds) before it reports the end.

    Framing is validated before anything is unpacked: a frame longer than
    `max_frame` bytes is an error naming the frame, never an allocation of the
    size the input claims; a top-level value that is not a map, a reserved
    byte, or a partial frame at EOF cannot be resynchronised and ends the
    stream with an error naming the byte offset.  */
#ifndef VIGIL_FRAME_H
#define VIGIL_FRAME_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define FRAME_MAX_DEFAULT (4u << 20)     //  4 MiB
#define FRAME_LINGER_DEFAULT_MS 30000    //  a writer waits 30 s at exit for a gone peer

typedef struct {
    size_t max_frame;           //  largest accepted frame, bytes (0 = default)
    int producers;              //  ZeroMQ reader: end after this many EOS (0 = 1)
    int hwm;                    //  ZeroMQ high-water mark (0 = 1000 frames)
    int linger_ms;              //  ZeroMQ writer: wait at close for delivery, ms
                                //  (0 = FRAME_LINGER_DEFAULT_MS, -2 = not at all)
    double drain;               //  ZeroMQ reader: after a signal, keep reading while
                                //  frames arrive within this many seconds (0 = 0.2)
    const char *curve_server;   //  CURVE: this side's secret cert file (server) or NULL
    const char *curve_client;   //  CURVE: this side's secret cert file (client) or NULL
    const char *curve_peer;     //  CURVE client: the server's public cert file
    const char *curve_allow;    //  CURVE server: directory of allowed public certs
} frame_opts_t;

typedef struct _frame_reader_t frame_reader_t;
typedef struct _frame_writer_t frame_writer_t;

//  Open a reader.  NULL + err on failure (bad endpoint, cannot bind, ...).
frame_reader_t *
    frame_reader_new (const char *endpoint, const frame_opts_t *opts, char *err);
//  Next frame: 1 and *obj set (valid until the next call), 0 at end of
//  stream, -1 on an error that ends the stream (err says why, with the frame
//  number or byte offset).  An oversized frame is skipped and reported as
//  -2 (err filled), after which reading may go on.
int
    frame_reader_next (frame_reader_t *self, const msgpack_object **obj, char *err);
//  Stop waiting for new input: return the frames already queued (pipe: in
//  the buffer; ZeroMQ: arriving within the drain time), then end.
void
    frame_reader_drain (frame_reader_t *self);
//  Next frame without unpacking it: 1 and *data/*size set (valid until the
//  next call; framing checked, top level is a map), else as frame_reader_next.
int
    frame_reader_next_raw (frame_reader_t *self, const char **data, size_t *size, char *err);
//  True if a frame can be read without waiting (already buffered/queued).
bool
    frame_reader_pending (frame_reader_t *self);
//  Raw bytes of the frame last returned (valid until the next call).
const char *
    frame_reader_data (frame_reader_t *self, size_t *size);
//  Frames returned so far (1-based number of the last one).
uint64_t
    frame_reader_count (frame_reader_t *self);
//  ZeroMQ: frames the producers said they sent (sum of EOS counts so far).
uint64_t
    frame_reader_announced (frame_reader_t *self);
//  The underlying zsock_t (NULL on a pipe) for pollers.
void *
    frame_reader_sock (frame_reader_t *self);
void
    frame_reader_destroy (frame_reader_t **self_p);

//  Open a writer.  NULL + err on failure.
frame_writer_t *
    frame_writer_new (const char *endpoint, const frame_opts_t *opts, char *err);
//  Send one packed frame.  0, or -1 + err on a write error.
int
    frame_writer_send (frame_writer_t *self, const char *data, size_t size, char *err);
//  Flush buffered output (pipes); 0 or -1 + err.
int
    frame_writer_flush (frame_writer_t *self, char *err);
uint64_t
    frame_writer_count (frame_writer_t *self);
//  Finish the stream: flush, send the EOS frame (ZeroMQ), wait for delivery
//  (linger).  0, or -1 + err if anything failed.  Then destroys.
int
    frame_writer_close (frame_writer_t **self_p, char *err);

//  Length of the first complete MessagePack object in buf: >0 its size, 0 if
//  more bytes are needed, -1 if the bytes are not MessagePack.  Never reads
//  past len and never allocates.
long
    frame_scan (const char *buf, size_t len);

void
    frame_test (bool verbose);

#endif

/*  stage: the read-records / write-records loop every filter shares.

    A stage opens the input and outputs named on its cli_t, hands out records
    one at a time, and writes records back.  Bad input is reported here, once,
    in one format ("prog: record N: reason"), counted and skipped; with
    --strict the stage stops at the first one.  stage_finish prints the -v
    summary (records read, written, skipped), ends every output stream
    (end-of-stream frames on ZeroMQ) and returns the exit status: 0, or 1 if
    any record was bad or any I/O failed.

    SIGINT/SIGTERM make stage_read return 0 (end of stream) at the next frame
    boundary, so a stage drains, ends its outputs and exits cleanly.  */
#ifndef VIGIL_STAGE_H
#define VIGIL_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "record.h"

typedef struct _stage_t stage_t;

//  Open cli->in (unless no_input) and every output.  On failure prints the
//  reason and exits 1.
stage_t *
    stage_new (const cli_t *cli, bool no_input);

//  Next record: 1 (rec filled), 0 end of stream, -1 input failed (reported).
//  Records that fail to decode are reported, counted and skipped.
int
    stage_read (stage_t *self, record_t *rec);
//  Next frame without decoding: 1 (*obj set, valid until the next read),
//  0 end, -1 failed.
int
    stage_read_obj (stage_t *self, const msgpack_object **obj);
//  Raw bytes of the frame last read.
const char *
    stage_frame_data (stage_t *self, size_t *size);
//  Number of the frame last read (1-based).
uint64_t
    stage_recno (const stage_t *self);

//  Report the current record as bad ("prog: record N: <msg>"), count it as
//  skipped; with --strict, the next stage_read returns -1.
void
    stage_reject (stage_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
//  The same for text input: "prog: line N: <msg>".
void
    stage_reject_line (stage_t *self, uint64_t line, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
//  Report a problem with no record attached and mark the run failed (exit 1).
void
    stage_fail (stage_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
//  True once the stage should stop (strict error, output failure, signal).
bool
    stage_stopping (const stage_t *self);

//  Write a record to output 0 / output i.  0, or -1 (reported; stage fails).
int
    stage_write (stage_t *self, const record_t *rec);
int
    stage_write_to (stage_t *self, size_t out, const record_t *rec);
//  Write raw frame bytes to output i.
int
    stage_write_raw (stage_t *self, size_t out, const char *data, size_t size);
//  Flush buffered output now (for stages that hold frames back, e.g. score).
int
    stage_flush (stage_t *self);
//  The input's ZeroMQ socket (NULL on a pipe), to poll with a timeout.
void *
    stage_input_sock (stage_t *self);
//  Wait up to timeout seconds for input to be readable: 1 ready, 0 timed out.
int
    stage_wait_input (stage_t *self, double timeout);

//  Count a record read from a source other than the frame input (text).
void
    stage_note_read (stage_t *self);
//  Counters.
uint64_t
    stage_nread (const stage_t *self);
uint64_t
    stage_nwritten (const stage_t *self);
uint64_t
    stage_nskipped (const stage_t *self);

//  End every output, print the -v summary, destroy.  Returns the exit code.
int
    stage_finish (stage_t **self_p);

void
    stage_test (bool verbose);

#endif

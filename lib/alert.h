/*  alert: from flagged windows to incidents a nurse or a security officer
    can act on.

    Consecutive flagged windows of one patient (`id`) form an incident: it
    opens at the first flag, is updated while flags go on, and closes once
    `quiet` seconds of stream time (`t`) pass without a flag for that patient
    (the same grouping vigil-thresh's alarm budget counts).  Stream time
    is the largest `t` seen so far, so a replayed or clock-skewed record is
    placed at the present rather than in its claimed past.  Messages are
    rate-limited: an update is sent only when the peak score rose and at least
    `rate_limit` seconds after the incident's previous message; opens and
    closes are always sent.  Each message carries the patient, the time, the
    duration, the peak score and the threshold, the top fields at the peak
    with observed vs expected values, the class (clinical when vital-sign
    fields carry most of the incident's error, technical when network or
    device fields do), and the model hash, so it can be reproduced.

    Memory: one entry per open incident; closed ones are dropped.  */
#ifndef VIGIL_ALERT_H
#define VIGIL_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "thresh.h"
#include "util.h"

#define ALERT_QUIET_DEFAULT THRESH_QUIET_DEFAULT
#define ALERT_RATE_DEFAULT  60.0

typedef enum { ALERT_OPEN, ALERT_UPDATE, ALERT_CLOSE } alert_event_t;

typedef struct {
    alert_event_t event;
    char id[REC_ID_MAX];        //  patient / device
    double t;                   //  stream time of the message
    double t_start, t_last;     //  first and last flagged window
    double peak, thr;           //  peak score, the threshold that flagged it
    uint64_t nflagged;          //  flagged windows so far
    uint64_t suppressed;        //  updates held back by the rate limit
    size_t ntop;
    record_top_t top[REC_TOP_MAX];  //  top fields of the peak window
    bool clinical;              //  vital signs dominate the incident's error
    double clinical_share;      //  their share of it, 0..1 (NaN: no `top`)
    char model[40];             //  model hash ("" if absent)
    char kind[REC_NAME_MAX];    //  ground-truth kind of the peak window, if the frames carry one
} alert_t;

typedef struct {
    double quiet;               //  seconds without a flag that close an incident
    double rate_limit;          //  least seconds between two messages of an incident
} alert_opts_t;

typedef struct _alert_mgr_t alert_mgr_t;

alert_mgr_t *
    alert_mgr_new (const alert_opts_t *opts);
void
    alert_mgr_destroy (alert_mgr_t **self_p);
//  Feed one record (needs `id`, `t`, `anomaly`; a flagged one needs
//  `score`).  Queues the messages it causes.  0, or -1 + err for a record
//  that lacks a key (nothing queued).
int
    alert_mgr_feed (alert_mgr_t *self, const record_t *rec, char *err);
//  End of stream: close every open incident.
void
    alert_mgr_flush (alert_mgr_t *self);
//  Next queued message: 1 and *out filled, 0 when none.
int
    alert_mgr_next (alert_mgr_t *self, alert_t *out);
//  Counters: incidents opened, messages sent, updates suppressed.
void
    alert_mgr_counts (const alert_mgr_t *self, uint64_t *incidents, uint64_t *messages,
                      uint64_t *suppressed);

//  True for vital-sign fields (hr sys dia spo2 temp rr and the WUSTL-EHMS
//  Temp SpO2 Pulse_Rate SYS DIA Heart_rate Resp_Rate ST).
bool
    alert_field_clinical (const char *name);

//  One line, no newline, into buf.
void
    alert_format_text (const alert_t *a, char *buf, size_t size);
//  One JSON object, no newline.  Caller owns.
char *
    alert_format_json (const alert_t *a);
//  Send to syslog (LOG_USER; LOG_ALERT for clinical, LOG_WARNING for
//  technical, LOG_NOTICE for closes).
void
    alert_syslog (const alert_t *a);

//  A ZeroMQ PUB socket for dashboards (CZMQ endpoint syntax, e.g.
//  "@tcp://*:5570").  Each message is one frame: a JSON alert.
typedef struct _alert_pub_t alert_pub_t;
alert_pub_t *
    alert_pub_new (const char *endpoint, char *err);
int
    alert_pub_send (alert_pub_t *self, const char *text, char *err);
void
    alert_pub_destroy (alert_pub_t **self_p);

void
    alert_test (bool verbose);

#endif

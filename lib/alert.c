/*  alert: see alert.h.

    Invariants: `inc` holds exactly the open incidents (one per id); the
    queue holds messages not yet taken by alert_mgr_next, in the order they
    happened.  Time is the stream clock (the largest `t` seen so far), never
    the wall clock, so re-running a stream gives the same alerts, and a
    record whose own `t` is out of line (replay, clock skew) is placed at the
    stream's present.  */
#include "alert.h"

#include <assert.h>
#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

typedef struct {
    alert_t a;                  //  the incident as the next message will show it
    double last_msg;            //  t of its last message
    bool dirty;                 //  peak rose since the last message
    double clin, tech;          //  error carried by vital-sign / other fields
} incident_t;

struct _alert_mgr_t {
    alert_opts_t o;
    incident_t *inc;            //  (ninc) open incidents
    size_t ninc, inc_cap;
    alert_t *q;                 //  (nq) queued messages, taken from qhead
    size_t nq, qhead, q_cap;
    uint64_t incidents, messages, suppressed;
    double now;                 //  stream clock: the largest t seen so far
};

static const char *s_clinical[] = {
    "hr", "sys", "dia", "spo2", "temp", "rr",
    "Temp", "SpO2", "Pulse_Rate", "SYS", "DIA", "Heart_rate", "Resp_Rate", "ST",
};

//  Derived fields name their source: "hr@id" is heart rate against the
//  patient's own baseline (clinical if hr is); "hr:run" counts unchanged
//  readings of the sensor, which is the device's behaviour (technical).
bool
alert_field_clinical (const char *name)
{
    if (strchr (name, ':'))
        return false;
    size_t n = strcspn (name, "@");
    for (size_t i = 0; i < sizeof s_clinical / sizeof *s_clinical; i++)
        if (strlen (s_clinical[i]) == n && !strncmp (name, s_clinical[i], n))
            return true;
    return false;
}

alert_mgr_t *
alert_mgr_new (const alert_opts_t *opts)
{
    alert_mgr_t *self = xcalloc (1, sizeof *self);
    self->o = *opts;
    self->now = -INFINITY;
    return self;
}

void
alert_mgr_destroy (alert_mgr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->inc);
    free ((*self_p)->q);
    free (*self_p);
    *self_p = NULL;
}

static void
s_emit (alert_mgr_t *self, incident_t *in, alert_event_t ev, double t)
{
    in->a.event = ev;
    in->a.t = t;
    double tot = in->clin + in->tech;
    in->a.clinical_share = tot > 0 ? in->clin / tot : NAN;
    in->a.clinical = tot > 0 && in->clin >= in->tech;
    if (self->qhead == self->nq)
        self->qhead = self->nq = 0;
    xgrow ((void **) &self->q, &self->q_cap, self->nq + 1, sizeof *self->q);
    self->q[self->nq++] = in->a;
    in->last_msg = t;
    in->dirty = false;
    self->messages++;
}

static void
s_close (alert_mgr_t *self, size_t i, double t)
{
    incident_t *in = &self->inc[i];
    s_emit (self, in, ALERT_CLOSE, t);
    self->inc[i] = self->inc[--self->ninc];
}

int
alert_mgr_feed (alert_mgr_t *self, const record_t *rec, char *err)
{
    if (!(rec->has & REC_ID))
        return errf (err, "key 'id': missing");
    if (!(rec->has & REC_T) || !isfinite (rec->t))
        return errf (err, "key 't': missing");
    if (!(rec->has & REC_ANOMALY))
        return errf (err, "key 'anomaly': missing (run vigil-thresh apply first)");
    if (rec->anomaly && (!(rec->has & REC_SCORE) || !isfinite (rec->score)))
        return errf (err, "key 'score': missing or not a number");
    //  Time is the stream clock, not the record's own t: a replayed or
    //  clock-skewed device (both are attacks this must report) sends times
    //  out of line, and must neither reopen nor close incidents by it.
    if (!(rec->t <= self->now))
        self->now = rec->t;
    double t = self->now;
    //  close the incidents that went quiet (any patient's)
    for (size_t i = 0; i < self->ninc;)
        if (t - self->inc[i].a.t_last > self->o.quiet)
            s_close (self, i, self->inc[i].a.t_last + self->o.quiet);
        else
            i++;
    if (!rec->anomaly)
        return 0;
    incident_t *in = NULL;
    for (size_t i = 0; i < self->ninc && !in; i++)
        if (!strcmp (self->inc[i].a.id, rec->id))
            in = &self->inc[i];
    double thr = NAN;
    record_extra_double (rec, "thr", &thr);
    bool opened = !in;
    if (opened) {
        xgrow ((void **) &self->inc, &self->inc_cap, self->ninc + 1, sizeof *self->inc);
        in = &self->inc[self->ninc++];
        memset (in, 0, sizeof *in);
        snprintf (in->a.id, sizeof in->a.id, "%s", rec->id);
        in->a.t_start = t;
        in->a.peak = -INFINITY;
        self->incidents++;
    }
    in->a.t_last = t;
    in->a.nflagged++;
    for (size_t k = 0; k < rec->ntop; k++)
        *(alert_field_clinical (rec->top[k].field) ? &in->clin : &in->tech) += rec->top[k].contrib;
    if (rec->score > in->a.peak) {
        in->a.peak = rec->score;
        in->a.thr = thr;
        in->a.ntop = rec->ntop;
        memcpy (in->a.top, rec->top, rec->ntop * sizeof *rec->top);
        in->a.kind[0] = 0;
        if (rec->has & REC_KIND)
            snprintf (in->a.kind, sizeof in->a.kind, "%s", rec->kind);
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        in->a.model[0] = 0;
        if (record_extra_unpack (rec, "model", &u) == 0 && u.data.type == MSGPACK_OBJECT_STR) {
            size_t n = u.data.via.str.size < sizeof in->a.model - 1 ? u.data.via.str.size
                                                                     : sizeof in->a.model - 1;
            memcpy (in->a.model, u.data.via.str.ptr, n);
            in->a.model[n] = 0;
        }
        msgpack_unpacked_destroy (&u);
        in->dirty = true;
    }
    if (opened)
        s_emit (self, in, ALERT_OPEN, t);
    else
    if (in->dirty) {
        if (t - in->last_msg >= self->o.rate_limit)
            s_emit (self, in, ALERT_UPDATE, t);
        else
            in->a.suppressed++, self->suppressed++;
    }
    return 0;
}

void
alert_mgr_flush (alert_mgr_t *self)
{
    while (self->ninc)
        s_close (self, self->ninc - 1, self->inc[self->ninc - 1].a.t_last);
}

int
alert_mgr_next (alert_mgr_t *self, alert_t *out)
{
    if (self->qhead == self->nq)
        return 0;
    *out = self->q[self->qhead++];
    return 1;
}

void
alert_mgr_counts (const alert_mgr_t *self, uint64_t *incidents, uint64_t *messages,
                  uint64_t *suppressed)
{
    *incidents = self->incidents;
    *messages = self->messages;
    *suppressed = self->suppressed;
}

//  --------------------------------------------------------------------------

static const char *s_event[] = {"OPEN", "UPDATE", "CLOSE"};

static void
s_time (double t, char *buf, size_t size)
{
    time_t s = (time_t) floor (t);
    struct tm tm;
    gmtime_r (&s, &tm);
    strftime (buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
s_duration (double d, char *buf, size_t size)
{
    long s = lround (d);
    if (s >= 3600)
        snprintf (buf, size, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
    else
    if (s >= 60)
        snprintf (buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf (buf, size, "%lds", s);
}

//  A reading the way a monitor shows it: integers for whole-unit fields.
static void
s_value (double v, char *buf, size_t size)
{
    if (!isfinite (v))
        snprintf (buf, size, "missing");
    else
    if (fabs (v) >= 100 || fabs (v - round (v)) < 1e-6)
        snprintf (buf, size, "%.0f", v);
    else
        snprintf (buf, size, "%.3g", v);
}

void
alert_format_text (const alert_t *a, char *buf, size_t size)
{
    char ts[32], dur[32];
    s_time (a->t, ts, sizeof ts);
    s_duration (a->t_last - a->t_start, dur, sizeof dur);
    const char *cls = isnan (a->clinical_share) ? "unclassified"
                      : a->clinical ? "clinical" : "technical";
    int n = snprintf (buf, size, "%s %-6s %s %s", ts, s_event[a->event], a->id, cls);
    if (a->event == ALERT_OPEN)
        n += snprintf (buf + n, size > (size_t) n ? size - n : 0, " score %.4g > thr %.4g:",
                       a->peak, a->thr);
    else
        n += snprintf (buf + n, size > (size_t) n ? size - n : 0,
                       " for %s, %llu windows flagged, peak %.4g (thr %.4g):", dur,
                       (unsigned long long) a->nflagged, a->peak, a->thr);
    for (size_t k = 0; k < a->ntop && (size_t) n < size; k++) {
        char ob[32], ex[32];
        s_value (a->top[k].observed, ob, sizeof ob);
        s_value (a->top[k].expected, ex, sizeof ex);
        n += snprintf (buf + n, size - n, "%s %s %s (expected %s)", k ? "," : "", a->top[k].field,
                       ob, ex);
    }
    if ((size_t) n < size && a->suppressed && a->event == ALERT_CLOSE)
        n += snprintf (buf + n, size - n, "; %llu updates rate-limited",
                       (unsigned long long) a->suppressed);
    if ((size_t) n < size && *a->kind)
        n += snprintf (buf + n, size - n, " [truth: %s]", a->kind);
    if ((size_t) n < size)
        snprintf (buf + n, size - n, " model %s", *a->model ? a->model : "-");
}

static json_t *
s_jnum (double v)
{
    return isfinite (v) ? json_real (v) : json_null ();
}

char *
alert_format_json (const alert_t *a)
{
    char ts[32];
    s_time (a->t, ts, sizeof ts);
    json_t *top = json_array ();
    for (size_t k = 0; k < a->ntop; k++)
        json_array_append_new (top, json_pack ("{s:s,s:o,s:o,s:o}", "field", a->top[k].field,
                                               "contribution", s_jnum (a->top[k].contrib),
                                               "observed", s_jnum (a->top[k].observed),
                                               "expected", s_jnum (a->top[k].expected)));
    const char *cls = isnan (a->clinical_share) ? "unclassified"
                      : a->clinical ? "clinical" : "technical";
    json_t *j = json_pack ("{s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:o,s:o,s:I,s:I,s:s,s:o,s:o,s:s}",
                           "event", s_event[a->event], "time", ts, "id", a->id, "t", a->t,
                           "start", a->t_start, "last", a->t_last, "duration", a->t_last - a->t_start,
                           "peak", s_jnum (a->peak), "thr", s_jnum (a->thr),
                           "flagged", (json_int_t) a->nflagged,
                           "suppressed", (json_int_t) a->suppressed, "class", cls,
                           "clinical_share", s_jnum (a->clinical_share), "top", top,
                           "model", a->model);
    if (*a->kind)
        json_object_set_new (j, "truth", json_string (a->kind));
    char *s = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (j);
    return s;
}

void
alert_syslog (const alert_t *a)
{
    char buf[1024];
    alert_format_text (a, buf, sizeof buf);
    int pri = a->event == ALERT_CLOSE ? LOG_NOTICE : a->clinical ? LOG_ALERT : LOG_WARNING;
    syslog (LOG_USER | pri, "%s", buf);
}

struct _alert_pub_t {
    zsock_t *sock;
};

alert_pub_t *
alert_pub_new (const char *endpoint, char *err)
{
    zsys_handler_set (NULL);
    zsock_t *s = zsock_new_pub (endpoint);
    if (!s) {
        errf (err, "'%s': cannot open a PUB socket there", endpoint);
        return NULL;
    }
    alert_pub_t *self = xcalloc (1, sizeof *self);
    self->sock = s;
    return self;
}

int
alert_pub_send (alert_pub_t *self, const char *text, char *err)
{
    if (zstr_send (self->sock, text))
        return errf (err, "publish failed: %s", zmq_strerror (zmq_errno ()));
    return 0;
}

void
alert_pub_destroy (alert_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_set_linger ((*self_p)->sock, 500);
    zsock_destroy (&(*self_p)->sock);
    free (*self_p);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------

static void
s_rec (record_t *r, const char *id, double t, bool flag, double score, const char *f1, double c1,
       const char *f2, double c2)
{
    record_clear (r);
    record_set_id (r, id);
    r->t = t;
    r->anomaly = flag;
    r->score = score;
    r->has |= REC_T | REC_ANOMALY | REC_SCORE;
    r->ntop = 2;
    snprintf (r->top[0].field, REC_NAME_MAX, "%s", f1);
    r->top[0].contrib = c1, r->top[0].observed = 84, r->top[0].expected = 97;
    snprintf (r->top[1].field, REC_NAME_MAX, "%s", f2);
    r->top[1].contrib = c2, r->top[1].observed = 0.25, r->top[1].expected = 0.01;
    r->has |= REC_TOP;
    record_extra_set_double (r, "thr", 5);
    record_extra_set_str (r, "model", "0123456789abcdef");
}

void
alert_test (bool verbose)
{
    char err[ERRLEN], buf[1024];
    assert (alert_field_clinical ("spo2") && alert_field_clinical ("Heart_rate"));
    assert (!alert_field_clinical ("latency"));
    assert (alert_field_clinical ("temp@id") && !alert_field_clinical ("hr:run"));
    assert (!alert_field_clinical ("latency@id") && !alert_field_clinical ("h"));
    alert_opts_t o = {.quiet = 60, .rate_limit = 30};
    alert_mgr_t *m = alert_mgr_new (&o);
    record_t r;
    record_init (&r);
    assert (alert_mgr_feed (m, &r, err) == -1 && strstr (err, "'id'"));
    //  p1: flags at 100..110 (rising score), quiet, a flag again at 300
    //  p2: one technical flag at 105
    alert_t a;
    for (int i = 0; i <= 10; i++) {
        s_rec (&r, "p1", 100 + i, true, 6 + i, "spo2", 9, "loss", 1);
        assert (alert_mgr_feed (m, &r, err) == 0);
        if (i == 5) {
            s_rec (&r, "p2", 105, true, 7, "spo2", 1, "loss", 9);
            assert (alert_mgr_feed (m, &r, err) == 0);
        }
    }
    s_rec (&r, "p1", 5, true, 6, "spo2", 9, "loss", 1);        //  replayed old t: same incident
    alert_mgr_feed (m, &r, err);
    s_rec (&r, "p1", 140, true, 20, "spo2", 9, "loss", 1);     //  update: 30 s after open
    alert_mgr_feed (m, &r, err);
    s_rec (&r, "p3", 250, false, 1, "hr", 1, "loss", 1);        //  closes p1 (140+60) and p2
    alert_mgr_feed (m, &r, err);
    s_rec (&r, "p1", 300, true, 8, "spo2", 9, "loss", 1);       //  a new incident
    alert_mgr_feed (m, &r, err);
    alert_mgr_flush (m);
    alert_event_t want_ev[] = {ALERT_OPEN, ALERT_OPEN, ALERT_UPDATE, ALERT_CLOSE, ALERT_CLOSE,
                               ALERT_OPEN, ALERT_CLOSE};
    const char *want_id[] = {"p1", "p2", "p1", "p1", "p2", "p1", "p1"};
    int n = 0;
    while (alert_mgr_next (m, &a) == 1) {
        alert_format_text (&a, buf, sizeof buf);
        if (verbose)
            printf ("%s\n", buf);
        assert (n < 7 && a.event == want_ev[n] && !strcmp (a.id, want_id[n]));
        if (n == 2)
            assert (a.peak == 20 && a.suppressed == 11 && a.t == 140);
        if (n == 3) {
            assert (a.clinical && a.nflagged == 13 && a.t_last - a.t_start == 40 && a.t == 200);
            assert (strstr (buf, "spo2 84 (expected 97)") && strstr (buf, "clinical"));
            assert (strstr (buf, "0123456789abcdef") && strstr (buf, "thr 5"));
            char *js = alert_format_json (&a);
            json_t *j = json_loads (js, 0, NULL);
            assert (j && !strcmp (json_string_value (json_object_get (j, "class")), "clinical"));
            assert (json_real_value (json_object_get (j, "peak")) == 20);
            json_decref (j);
            free (js);
        }
        if (n == 4)
            assert (!a.clinical && strstr (buf, "technical"));
        n++;
    }
    assert (n == 7);
    uint64_t inc, msg, sup;
    alert_mgr_counts (m, &inc, &msg, &sup);
    assert (inc == 3 && msg == 7 && sup == 11);
    record_destroy (&r);
    alert_mgr_destroy (&m);
    //  publisher: a subscriber receives the alert
    alert_pub_t *pub = alert_pub_new ("@inproc://alert-test", err);
    assert (pub);
    zsock_t *sub = zsock_new_sub (">inproc://alert-test", "");
    assert (sub);
    zclock_sleep (50);
    assert (alert_pub_send (pub, "{\"event\":\"OPEN\"}", err) == 0);
    zsock_set_rcvtimeo (sub, 2000);
    char *got = zstr_recv (sub);
    assert (got && !strcmp (got, "{\"event\":\"OPEN\"}"));
    zstr_free (&got);
    zsock_destroy (&sub);
    alert_pub_destroy (&pub);
    assert (alert_pub_new ("@nonsense://x", err) == NULL);
}

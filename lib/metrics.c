/*  metrics: see metrics.h.

    Invariants: the sample arrays hold min(nscored, cap) pairs; after
    metrics_finish they are sorted by score, highest first, and `finished`
    refuses further input.  Per-id state lives in an open-addressing table
    that doubles when half full, so memory grows with the number of ids,
    never with the length of the stream.  */
#include "metrics.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"

#define ID_MAX 64

typedef struct {
    char id[ID_MAX];
    bool used;
    //  event in progress
    bool in_event, ev_detected;
    double ev_t0;               //  t of the event's first record
    uint64_t ev_nrec;           //  records of the event so far
    int ev_kind;                //  kind index of the event (first labelled kind), -1 none
    //  alarm run in progress
    bool in_alarm, alarm_true;
} id_state_t;

typedef struct {
    char name[48];
    uint64_t n, tp;
    uint64_t events, detected;
    double delay_sum;
    uint64_t delay_n;
} kind_state_t;

struct _metrics_t {
    size_t cap;
    rng_t rng;
    bool finished;
    double *score;              //  (cap) sampled scores
    uint8_t *label;             //  (cap) their labels
    size_t n;                   //  pairs held
    size_t alloc;               //  pairs allocated (<= cap)
    uint64_t seen;              //  scored labelled pairs offered to the reservoir
    id_state_t *ids;            //  (ids_cap) open addressing
    size_t ids_cap, ids_n;
    kind_state_t kinds[METRICS_MAX_KINDS];
    size_t nkinds;
    metrics_summary_t s;        //  counters accumulate here
    double delay_sum_s, delay_sum_rec;
    uint64_t delay_n, delay_n_s;
};

metrics_t *
metrics_new (size_t cap, uint64_t seed)
{
    metrics_t *self = xcalloc (1, sizeof *self);
    self->cap = cap ? cap : METRICS_CAP_DEFAULT;
    rng_init (&self->rng, seed, 0x6d657472);
    self->ids_cap = 64;
    self->ids = xcalloc (self->ids_cap, sizeof *self->ids);
    self->s.delay_max_s = NAN;
    return self;
}

void
metrics_destroy (metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    free (self->score);
    free (self->label);
    free (self->ids);
    free (self);
    *self_p = NULL;
}

static id_state_t *
s_id_slot (id_state_t *tab, size_t cap, const char *id)
{
    size_t i = hash64 (id, strlen (id)) & (cap - 1);
    while (tab[i].used && strcmp (tab[i].id, id))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static id_state_t *
s_id (metrics_t *self, const char *id)
{
    char key[ID_MAX];
    snprintf (key, sizeof key, "%s", id ? id : "");
    id_state_t *st = s_id_slot (self->ids, self->ids_cap, key);
    if (st->used)
        return st;
    if (2 * (self->ids_n + 1) > self->ids_cap) {
        size_t ncap = self->ids_cap * 2;
        id_state_t *nt = xcalloc (ncap, sizeof *nt);
        for (size_t i = 0; i < self->ids_cap; i++)
            if (self->ids[i].used)
                *s_id_slot (nt, ncap, self->ids[i].id) = self->ids[i];
        free (self->ids);
        self->ids = nt;
        self->ids_cap = ncap;
        st = s_id_slot (self->ids, self->ids_cap, key);
    }
    memset (st, 0, sizeof *st);
    st->used = true;
    st->ev_kind = -1;
    memcpy (st->id, key, sizeof key);
    self->ids_n++;
    return st;
}

//  Kind index; kinds beyond METRICS_MAX_KINDS share the last slot "(other)".
static int
s_kind (metrics_t *self, const char *kind)
{
    const char *k = kind && *kind ? kind : "(none)";
    for (size_t i = 0; i < self->nkinds; i++)
        if (!strcmp (self->kinds[i].name, k))
            return (int) i;
    if (self->nkinds == METRICS_MAX_KINDS) {
        snprintf (self->kinds[METRICS_MAX_KINDS - 1].name, 48, "(other)");
        return METRICS_MAX_KINDS - 1;
    }
    kind_state_t *ks = &self->kinds[self->nkinds];
    memset (ks, 0, sizeof *ks);
    snprintf (ks->name, sizeof ks->name, "%s", k);
    return (int) self->nkinds++;
}

static void
s_event_close (metrics_t *self, id_state_t *st)
{
    if (!st->in_event)
        return;
    st->in_event = false;
    self->s.events++;
    if (st->ev_kind >= 0)
        self->kinds[st->ev_kind].events++;
    if (st->ev_detected) {
        self->s.events_detected++;
        if (st->ev_kind >= 0)
            self->kinds[st->ev_kind].detected++;
    }
}

static void
s_alarm_close (metrics_t *self, id_state_t *st)
{
    if (!st->in_alarm)
        return;
    st->in_alarm = false;
    self->s.alarm_runs++;
    if (!st->alarm_true)
        self->s.false_alarm_runs++;
}

static void
s_sample (metrics_t *self, double score, uint8_t label)
{
    self->seen++;
    size_t slot;
    if (self->n < self->cap) {
        if (self->n == self->alloc) {
            size_t want = self->alloc ? self->alloc * 2 : 4096;
            if (want > self->cap)
                want = self->cap;
            self->score = xrealloc (self->score, want * sizeof (double));
            self->label = xrealloc (self->label, want * sizeof (uint8_t));
            self->alloc = want;
        }
        slot = self->n++;
    }
    else {
        //  Algorithm R: keep the new pair with probability cap / seen.
        uint64_t j = rng_below (&self->rng, self->seen);
        if (j >= self->cap)
            return;
        slot = (size_t) j;
    }
    self->score[slot] = score;
    self->label[slot] = label;
}

int
metrics_add (metrics_t *self, const char *id, double t, int label, const char *kind,
             bool has_score, double score, bool has_flag, bool flag, char *err)
{
    assert (self && !self->finished);
    if (has_score && !isfinite (score))
        return errf (err, "key 'score': not a finite number");
    self->s.nrecords++;
    if (label != 0 && label != 1)
        return 0;
    self->s.nlabelled++;
    if (has_flag) {
        self->s.ndecided++;
        if (label)
            flag ? self->s.tp++ : self->s.fn++;
        else
            flag ? self->s.fp++ : self->s.tn++;
    }
    if (has_score) {
        self->s.nscored++;
        label ? self->s.npos++ : self->s.nneg++;
        s_sample (self, score, (uint8_t) label);
    }
    int k = -1;
    if (label) {
        k = s_kind (self, kind);
        self->kinds[k].n++;
        if (has_flag && flag)
            self->kinds[k].tp++;
    }
    //  event-level state of this id
    id_state_t *st = s_id (self, id);
    if (label && !st->in_event) {
        st->in_event = true;
        st->ev_detected = false;
        st->ev_t0 = t;
        st->ev_nrec = 0;
        st->ev_kind = k;
    }
    else
    if (!label)
        s_event_close (self, st);
    if (label) {
        if (has_flag && flag && !st->ev_detected) {
            st->ev_detected = true;
            self->delay_sum_rec += (double) st->ev_nrec;
            self->delay_n++;
            double d = t - st->ev_t0;
            if (isfinite (d)) {
                self->delay_sum_s += d;
                self->delay_n_s++;
                if (st->ev_kind >= 0) {
                    self->kinds[st->ev_kind].delay_sum += d;
                    self->kinds[st->ev_kind].delay_n++;
                }
                if (!(d <= self->s.delay_max_s))
                    self->s.delay_max_s = d;
            }
        }
        st->ev_nrec++;
    }
    if (has_flag) {
        if (flag) {
            if (!st->in_alarm) {
                st->in_alarm = true;
                st->alarm_true = false;
            }
            if (label)
                st->alarm_true = true;
        }
        else
            s_alarm_close (self, st);
    }
    return 0;
}

typedef struct {
    double s;
    uint8_t l;
} pair_t;

static int
s_pair_desc (const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    return (x->s < y->s) - (x->s > y->s);
}

//  Sort (score, label) together, highest score first.
static void
s_sort (double *score, uint8_t *label, size_t n)
{
    pair_t *p = xmalloc ((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (pair_t) {score[i], label[i]};
    qsort (p, n, sizeof *p, s_pair_desc);
    for (size_t i = 0; i < n; i++)
        score[i] = p[i].s, label[i] = p[i].l;
    free (p);
}

//  On a sorted (descending) array: AUC with ties as halves, and AP.
static void
s_rank_figures (const double *score, const uint8_t *label, size_t n, double *auc, double *ap)
{
    uint64_t P = 0, N = 0;
    for (size_t i = 0; i < n; i++)
        label[i] ? P++ : N++;
    if (!P || !N) {
        *auc = NAN;
        *ap = P ? 1.0 : NAN;
        if (!P)
            return;
    }
    double pairs = 0, apsum = 0;
    uint64_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t gp = 0, gn = 0;
        while (j < n && score[j] == score[i])
            label[j++] ? gp++ : gn++;
        //  negatives in this group rank below every positive above it and
        //  tie with the group's positives
        pairs += (double) gn * ((double) tp + 0.5 * (double) gp);
        tp += gp;
        fp += gn;
        if (gp)
            apsum += ((double) gp / (double) P) * ((double) tp / (double) (tp + fp));
        i = j;
    }
    if (P && N)
        *auc = pairs / ((double) P * (double) N);
    *ap = apsum;
}

//  ROC AUC and average precision of a copy of the scores, sorted.
static void
s_figures (const double *score, const uint8_t *label, size_t n, double *auc, double *ap)
{
    double *s = xmalloc ((n ? n : 1) * sizeof *s);
    uint8_t *l = xmalloc (n ? n : 1);
    if (n) {
        memcpy (s, score, n * sizeof *s);
        memcpy (l, label, n);
    }
    s_sort (s, l, n);
    s_rank_figures (s, l, n, auc, ap);
    free (s);
    free (l);
}

double
metrics_roc_auc (const double *score, const uint8_t *label, size_t n)
{
    double auc, ap;
    s_figures (score, label, n, &auc, &ap);
    return auc;
}

double
metrics_avg_precision (const double *score, const uint8_t *label, size_t n)
{
    double auc, ap;
    s_figures (score, label, n, &auc, &ap);
    return ap;
}

static double
s_div (double a, double b)
{
    return b > 0 ? a / b : NAN;
}

void
metrics_finish (metrics_t *self, metrics_summary_t *out)
{
    assert (self);
    if (!self->finished) {
        self->finished = true;
        for (size_t i = 0; i < self->ids_cap; i++)
            if (self->ids[i].used) {
                s_event_close (self, &self->ids[i]);
                s_alarm_close (self, &self->ids[i]);
            }
        s_sort (self->score, self->label, self->n);
        metrics_summary_t *s = &self->s;
        double tp = (double) s->tp, fp = (double) s->fp, tn = (double) s->tn, fn = (double) s->fn;
        s->accuracy = s_div (tp + tn, tp + tn + fp + fn);
        s->precision = s_div (tp, tp + fp);
        s->recall = s_div (tp, tp + fn);
        s->specificity = s_div (tn, tn + fp);
        s->fpr = s_div (fp, tn + fp);
        s->f1 = s_div (2 * tp, 2 * tp + fp + fn);
        s->auc_exact = self->seen <= self->cap;
        s->sample_n = self->n;
        s_rank_figures (self->score, self->label, self->n, &s->roc_auc, &s->pr_auc);
        if (!s->npos)
            s->pr_auc = NAN;
        s->event_recall = s_div ((double) s->events_detected, (double) s->events);
        s->event_precision = s_div ((double) (s->alarm_runs - s->false_alarm_runs),
                                    (double) s->alarm_runs);
        s->delay_mean_s = s_div (self->delay_sum_s, (double) self->delay_n_s);
        s->delay_mean_records = s_div (self->delay_sum_rec, (double) self->delay_n);
    }
    if (out)
        *out = self->s;
}

size_t
metrics_nkinds (const metrics_t *self)
{
    return self->nkinds;
}

void
metrics_kind (const metrics_t *self, size_t i, metrics_kind_t *out)
{
    assert (i < self->nkinds);
    const kind_state_t *k = &self->kinds[i];
    out->kind = k->name;
    out->n = k->n;
    out->tp = k->tp;
    out->recall = s_div ((double) k->tp, (double) k->n);
    out->events = k->events;
    out->detected = k->detected;
    out->delay_mean_s = s_div (k->delay_sum, (double) k->delay_n);
}

metrics_point_t *
metrics_curve (const metrics_t *self, size_t max_points, size_t *n)
{
    assert (self->finished);
    *n = 0;
    if (!self->n)
        return NULL;
    uint64_t P = 0, N = 0;
    for (size_t i = 0; i < self->n; i++)
        self->label[i] ? P++ : N++;
    //  count distinct scores
    size_t groups = 0;
    for (size_t i = 0; i < self->n; i++)
        if (i == 0 || self->score[i] != self->score[i - 1])
            groups++;
    size_t keep = max_points && max_points < groups + 1 ? max_points : groups + 1;
    if (keep < 2)
        keep = 2;
    metrics_point_t *pt = xmalloc (keep * sizeof *pt);
    //  point 0: nothing flagged
    pt[0] = (metrics_point_t) {self->score[0], 0, 0, 1.0};
    size_t np = 1, g = 0;
    uint64_t tp = 0, fp = 0;
    for (size_t i = 0; i < self->n;) {
        size_t j = i;
        while (j < self->n && self->score[j] == self->score[i])
            self->label[j++] ? tp++ : fp++;
        g++;
        //  keep group g when it falls on the thinning grid, and always the last
        bool last = j == self->n;
        size_t want = (size_t) ((double) g * (double) (keep - 1) / (double) groups);
        if (last || (want >= np && np < keep - 1)) {
            pt[np].thr = self->score[i];
            pt[np].fpr = N ? (double) fp / (double) N : NAN;
            pt[np].tpr = P ? (double) tp / (double) P : NAN;
            pt[np].precision = (double) tp / (double) (tp + fp);
            np++;
        }
        i = j;
    }
    *n = np;
    return pt;
}

size_t
metrics_sample (const metrics_t *self, const double **score, const uint8_t **label)
{
    *score = self->score;
    *label = self->label;
    return self->n;
}

double
metrics_best_f1 (const metrics_t *self, double *thr)
{
    assert (self->finished);
    uint64_t P = 0;
    for (size_t i = 0; i < self->n; i++)
        P += self->label[i];
    *thr = NAN;
    if (!P)
        return NAN;
    double best = -1;
    uint64_t tp = 0, fp = 0;
    for (size_t i = 0; i < self->n;) {
        size_t j = i;
        while (j < self->n && self->score[j] == self->score[i])
            self->label[j++] ? tp++ : fp++;
        double f1 = 2.0 * (double) tp / (double) (2 * tp + fp + (P - tp));
        if (f1 > best) {
            best = f1;
            *thr = j < self->n ? 0.5 * (self->score[i] + self->score[j])
                               : self->score[i] - fabs (self->score[i]) * 1e-9 - 1e-300;
        }
        i = j;
    }
    return best;
}

//  --------------------------------------------------------------------------
//  Reports

const double metrics_paper[6] = {0.95, 0.95, 0.75, 0.98, 0.8382, 0.92};
static const char *s_keys[6] = {"accuracy", "precision", "recall", "specificity", "f1", "roc_auc"};

static void
s_num (FILE *f, double v)
{
    if (isfinite (v))
        fprintf (f, "%9.4f", v);
    else
        fprintf (f, "%9s", "n/a");
}

char *
metrics_report_text (const metrics_t *self, bool paper, double thr)
{
    assert (self->finished);
    const metrics_summary_t *s = &self->s;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    fprintf (f, "records %llu, labelled %llu (%llu anomalous, %llu normal), decided %llu",
             (unsigned long long) s->nrecords, (unsigned long long) s->nlabelled,
             (unsigned long long) s->npos, (unsigned long long) s->nneg,
             (unsigned long long) s->ndecided);
    if (isfinite (thr))
        fprintf (f, ", threshold %.6g", thr);
    fprintf (f, "\n\nPointwise (one decision per window against its own label; not point-adjusted)\n");
    if (s->ndecided) {
        fprintf (f, "  confusion matrix        predicted normal  predicted anomalous\n");
        fprintf (f, "    true normal           %16llu  %19llu\n", (unsigned long long) s->tn,
                 (unsigned long long) s->fp);
        fprintf (f, "    true anomalous        %16llu  %19llu\n", (unsigned long long) s->fn,
                 (unsigned long long) s->tp);
    }
    else
        fprintf (f, "  no decisions (no 'anomaly' key and no --thr): ranking figures only\n");
    fprintf (f, "\n  %-28s%9s%s\n", "metric", "vigil", paper ? "    paper" : "");
    const char *names[6] = {"accuracy", "precision", "recall (sensitivity)", "specificity",
                            "F1", "ROC AUC"};
    double ours[6] = {s->accuracy, s->precision, s->recall, s->specificity, s->f1, s->roc_auc};
    for (int k = 0; k < 6; k++) {
        fprintf (f, "  %-28s", names[k]);
        s_num (f, ours[k]);
        if (paper)
            s_num (f, metrics_paper[k]);
        fprintf (f, "\n");
    }
    fprintf (f, "  %-28s", "PR AUC (average precision)");
    s_num (f, s->pr_auc);
    fprintf (f, "%s\n", paper ? "      n/a" : "");
    fprintf (f, "  (AUCs %s on %zu scored records)\n",
             s->auc_exact ? "exact" : "estimated from a uniform sample", s->sample_n);
    if (self->nkinds) {
        fprintf (f, "\nPer kind: pointwise recall; event-level detection and mean delay\n");
        fprintf (f, "  %-22s%9s%9s%10s%12s\n", "kind", "windows", "recall", "events", "delay (s)");
        for (size_t i = 0; i < self->nkinds; i++) {
            metrics_kind_t k;
            metrics_kind (self, i, &k);
            char ev[32];
            snprintf (ev, sizeof ev, "%llu/%llu", (unsigned long long) k.detected,
                      (unsigned long long) k.events);
            fprintf (f, "  %-22s%9llu", k.kind, (unsigned long long) k.n);
            s_num (f, k.recall);
            fprintf (f, "%10s", ev);
            isfinite (k.delay_mean_s) ? fprintf (f, "%12.1f\n", k.delay_mean_s)
                                      : fprintf (f, "%12s\n", "-");
        }
    }
    if (s->ndecided) {
        fprintf (f, "\nEvent-level (an event = a run of anomalous windows of one id; NOT pointwise)\n");
        fprintf (f, "  events detected         %llu of %llu (event recall %.4f)\n",
                 (unsigned long long) s->events_detected, (unsigned long long) s->events,
                 s->event_recall);
        fprintf (f, "  alarm runs              %llu, of which false %llu (event precision %.4f)\n",
                 (unsigned long long) s->alarm_runs, (unsigned long long) s->false_alarm_runs,
                 s->event_precision);
        if (isfinite (s->delay_mean_s))
            fprintf (f, "  mean detection delay    %.1f s (%.1f windows after the first), max %.1f s\n",
                     s->delay_mean_s, s->delay_mean_records, s->delay_max_s);
        else
        if (isfinite (s->delay_mean_records))
            fprintf (f, "  mean detection delay    %.1f windows after the first\n", s->delay_mean_records);
    }
    fclose (f);
    return buf;
}

static json_t *
s_jnum (double v)
{
    return isfinite (v) ? json_real (v) : json_null ();
}

char *
metrics_report_json (const metrics_t *self, const char *name, double thr)
{
    assert (self->finished);
    const metrics_summary_t *s = &self->s;
    json_t *pw = json_pack ("{s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:I}",
                            "tp", (json_int_t) s->tp, "fp", (json_int_t) s->fp,
                            "tn", (json_int_t) s->tn, "fn", (json_int_t) s->fn,
                            "accuracy", s_jnum (s->accuracy), "precision", s_jnum (s->precision),
                            "recall", s_jnum (s->recall), "specificity", s_jnum (s->specificity),
                            "f1", s_jnum (s->f1), "fpr", s_jnum (s->fpr),
                            "roc_auc", s_jnum (s->roc_auc), "pr_auc", s_jnum (s->pr_auc),
                            "auc_exact", s->auc_exact, "auc_sample", (json_int_t) s->sample_n,
                            "positives", (json_int_t) s->npos, "negatives", (json_int_t) s->nneg);
    json_t *ev = json_pack ("{s:I,s:I,s:o,s:I,s:I,s:o,s:o,s:o,s:o}",
                            "events", (json_int_t) s->events,
                            "detected", (json_int_t) s->events_detected,
                            "event_recall", s_jnum (s->event_recall),
                            "alarm_runs", (json_int_t) s->alarm_runs,
                            "false_alarm_runs", (json_int_t) s->false_alarm_runs,
                            "event_precision", s_jnum (s->event_precision),
                            "delay_mean_s", s_jnum (s->delay_mean_s),
                            "delay_mean_windows", s_jnum (s->delay_mean_records),
                            "delay_max_s", s_jnum (s->delay_max_s));
    json_t *kinds = json_array ();
    for (size_t i = 0; i < self->nkinds; i++) {
        metrics_kind_t k;
        metrics_kind (self, i, &k);
        json_array_append_new (kinds, json_pack ("{s:s,s:I,s:I,s:o,s:I,s:I,s:o}", "kind", k.kind,
                                                 "windows", (json_int_t) k.n, "tp", (json_int_t) k.tp,
                                                 "recall", s_jnum (k.recall),
                                                 "events", (json_int_t) k.events,
                                                 "detected", (json_int_t) k.detected,
                                                 "delay_mean_s", s_jnum (k.delay_mean_s)));
    }
    json_t *paper = json_object ();
    for (int k = 0; k < 6; k++)
        json_object_set_new (paper, s_keys[k], json_real (metrics_paper[k]));
    json_t *root = json_pack ("{s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "name", name ? name : "",
                              "records", (json_int_t) s->nrecords,
                              "labelled", (json_int_t) s->nlabelled, "threshold", s_jnum (thr),
                              "pointwise", pw, "per_kind", kinds, "event_level", ev,
                              "paper", paper);
    char *out = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (10));
    json_decref (root);
    return out;
}

char *
metrics_compare_text (const char *const *reports, size_t n, bool paper, char *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    json_t **j = xcalloc (n ? n : 1, sizeof *j);
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        j[i] = json_load_file (reports[i], 0, &je);
        if (!j[i] || !json_is_object (json_object_get (j[i], "pointwise"))) {
            errf (err, "%s: not a vigil-eval JSON report%s%s", reports[i], j[i] ? "" : ": ",
                  j[i] ? "" : je.text);
            for (size_t k = 0; k <= i; k++)
                json_decref (j[k]);
            free (j);
            fclose (f);
            free (buf);
            return NULL;
        }
    }
    fprintf (f, "%-14s", "metric");
    for (size_t i = 0; i < n; i++) {
        const char *nm = json_string_value (json_object_get (j[i], "name"));
        const char *base = strrchr (reports[i], '/');
        fprintf (f, " %12.12s", nm && *nm ? nm : base ? base + 1 : reports[i]);
    }
    fprintf (f, "%s\n", paper ? "  paper's VAE" : "");
    const char *rows[7] = {"accuracy", "precision", "recall", "specificity", "f1", "roc_auc", "pr_auc"};
    for (int r = 0; r < 7; r++) {
        fprintf (f, "%-14s", rows[r]);
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_object_get (json_object_get (j[i], "pointwise"), rows[r]);
            json_is_number (v) ? fprintf (f, " %12.4f", json_number_value (v))
                               : fprintf (f, " %12s", "n/a");
        }
        if (paper)
            r < 6 ? fprintf (f, " %12.4f", metrics_paper[r]) : fprintf (f, " %12s", "n/a");
        fprintf (f, "\n");
    }
    for (size_t i = 0; i < n; i++)
        json_decref (j[i]);
    free (j);
    fclose (f);
    return buf;
}

//  --------------------------------------------------------------------------
//  Self test: hand-computed values.

void
metrics_test (bool verbose)
{
    char err[ERRLEN];
    //  AUC with ties, by hand: pos {3, 2, 2}, neg {2, 1}
    //  pairs: (3>2)(3>1)(2=2 half)(2>1)(2=2 half)(2>1) = 5 / 6
    double s1[] = {3, 2, 2, 2, 1};
    uint8_t l1[] = {1, 1, 1, 0, 0};
    double auc = metrics_roc_auc (s1, l1, 5);
    assert (fabs (auc - 5.0 / 6.0) < 1e-12);
    //  AP: group 3 -> tp1 fp0 (P=1, R=1/3); group 2 -> tp3 fp1 (P=3/4, R=1)
    //  AP = 1/3*1 + 2/3*3/4 = 5/6
    double ap = metrics_avg_precision (s1, l1, 5);
    assert (fabs (ap - 5.0 / 6.0) < 1e-12);
    //  perfect and inverted rankings
    double s2[] = {0.1, 0.2, 0.9, 0.8};
    uint8_t l2[] = {0, 0, 1, 1};
    assert (metrics_roc_auc (s2, l2, 4) == 1.0);
    uint8_t l3[] = {1, 1, 0, 0};
    assert (metrics_roc_auc (s2, l3, 4) == 0.0);
    assert (isnan (metrics_roc_auc (s2, l2, 2)));

    //  a stream of two patients: events, alarm runs, delays
    metrics_t *m = metrics_new (0, 1);
    //  id a: 0 0 [1 1 1] 0 0 ; flags: 0 1 [0 1 1] 0 0 -> event detected after 1 rec
    int la[] = {0, 0, 1, 1, 1, 0, 0};
    int fa[] = {0, 1, 0, 1, 1, 0, 0};
    double sa[] = {0.1, 0.6, 0.4, 0.7, 0.9, 0.2, 0.1};
    for (int i = 0; i < 7; i++)
        assert (metrics_add (m, "a", 100 + i * 10, la[i], la[i] ? "fever" : NULL,
                             true, sa[i], true, fa[i], err) == 0);
    //  id b: [1 1] 0 ; never flagged -> missed event
    for (int i = 0; i < 3; i++)
        assert (metrics_add (m, "b", 200 + i, i < 2, i < 2 ? "replay" : "", true, 0.3,
                             true, false, err) == 0);
    assert (metrics_add (m, "b", 1, 0, NULL, true, NAN, true, false, err) == -1);
    assert (strstr (err, "score"));
    metrics_add (m, "c", NAN, -1, NULL, false, 0, false, false, err);   //  unlabelled
    metrics_summary_t s;
    metrics_finish (m, &s);
    assert (s.nrecords == 11 && s.nlabelled == 10);
    assert (s.tp == 2 && s.fn == 3 && s.fp == 1 && s.tn == 4);
    assert (fabs (s.accuracy - 0.6) < 1e-12);
    assert (fabs (s.precision - 2.0 / 3) < 1e-12);
    assert (fabs (s.recall - 0.4) < 1e-12);
    assert (fabs (s.specificity - 0.8) < 1e-12);
    assert (fabs (s.f1 - 4.0 / 8) < 1e-12);
    assert (s.events == 2 && s.events_detected == 1 && s.event_recall == 0.5);
    assert (s.alarm_runs == 2 && s.false_alarm_runs == 1);
    assert (fabs (s.delay_mean_s - 10) < 1e-12 && s.delay_mean_records == 1);
    assert (s.auc_exact && s.sample_n == 10);
    //  AUC against a brute-force pair count
    {
        double sc[] = {0.1, 0.6, 0.4, 0.7, 0.9, 0.2, 0.1, 0.3, 0.3, 0.3};
        uint8_t lb[] = {0, 0, 1, 1, 1, 0, 0, 1, 1, 0};
        double pairs = 0, np = 0;
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                if (lb[i] && !lb[j]) {
                    np++;
                    pairs += sc[i] > sc[j] ? 1 : sc[i] == sc[j] ? 0.5 : 0;
                }
        assert (fabs (s.roc_auc - pairs / np) < 1e-12);
    }
    assert (metrics_nkinds (m) == 2);
    metrics_kind_t k;
    metrics_kind (m, 0, &k);
    assert (!strcmp (k.kind, "fever") && k.n == 3 && k.tp == 2 && k.events == 1 && k.detected == 1);
    metrics_kind (m, 1, &k);
    assert (!strcmp (k.kind, "replay") && k.recall == 0 && k.events == 1 && k.detected == 0);
    size_t np;
    metrics_point_t *pt = metrics_curve (m, 0, &np);
    assert (pt && np == 8);     //  7 distinct scores + the origin
    assert (pt[np - 1].fpr == 1.0 && pt[np - 1].tpr == 1.0);
    free (pt);
    pt = metrics_curve (m, 4, &np);
    assert (np == 4 && pt[3].fpr == 1.0);
    free (pt);
    double thr;
    double f1 = metrics_best_f1 (m, &thr);
    //  best F1 brute force
    {
        const double *sc;
        const uint8_t *lb;
        size_t n = metrics_sample (m, &sc, &lb);
        double bf = -1;
        for (size_t i = 0; i < n; i++) {
            double tp = 0, fp = 0, fn = 0;
            for (size_t j = 0; j < n; j++) {
                bool fl = sc[j] >= sc[i];
                tp += fl && lb[j], fp += fl && !lb[j], fn += !fl && lb[j];
            }
            double f = 2 * tp / (2 * tp + fp + fn);
            if (f > bf)
                bf = f;
        }
        assert (fabs (f1 - bf) < 1e-12);
        double tp = 0, fp = 0, fn = 0;
        for (size_t j = 0; j < n; j++) {
            bool fl = sc[j] > thr;
            tp += fl && lb[j], fp += fl && !lb[j], fn += !fl && lb[j];
        }
        assert (fabs (2 * tp / (2 * tp + fp + fn) - bf) < 1e-12);
    }
    char *txt = metrics_report_text (m, true, 0.5);
    assert (strstr (txt, "0.6000") && strstr (txt, "0.8382") && strstr (txt, "Event-level"));
    assert (strstr (txt, "fever") && strstr (txt, "1/1"));
    free (txt);
    char *js = metrics_report_json (m, "t", 0.5);
    json_error_t je;
    json_t *j = json_loads (js, 0, &je);
    assert (j);
    assert (json_real_value (json_object_get (json_object_get (j, "pointwise"), "recall")) == 0.4);
    assert (json_integer_value (json_object_get (json_object_get (j, "event_level"), "events")) == 2);
    json_decref (j);
    char path[] = "/tmp/vigil-metrics-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0 && write (fd, js, strlen (js)) == (ssize_t) strlen (js));
    close (fd);
    free (js);
    const char *reps[] = {path};
    char *cmp = metrics_compare_text (reps, 1, true, err);
    assert (cmp && strstr (cmp, "0.4000") && strstr (cmp, "0.8382"));
    free (cmp);
    const char *bad[] = {"/nonexistent"};
    assert (metrics_compare_text (bad, 1, false, err) == NULL && strstr (err, "nonexistent"));
    unlink (path);
    metrics_destroy (&m);
    assert (m == NULL);
    metrics_destroy (&m);

    //  reservoir: cap 1000 over 100000 records keeps 1000, AUC is an estimate
    m = metrics_new (1000, 7);
    rng_t r;
    rng_init (&r, 3, 0);
    for (int i = 0; i < 100000; i++) {
        int l = rng_uniform (&r) < 0.1;
        metrics_add (m, "x", i, l, "k", true, rng_normal (&r) + 2.0 * l, true, false, err);
    }
    metrics_finish (m, &s);
    assert (!s.auc_exact && s.sample_n == 1000);
    //  true AUC of N(2,1) vs N(0,1) is Phi(2/sqrt 2) = 0.9214
    if (verbose)
        printf ("reservoir auc %.4f (true 0.9214)\n", s.roc_auc);
    assert (fabs (s.roc_auc - 0.9214) < 0.03);
    metrics_destroy (&m);
}

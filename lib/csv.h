/*  csv: CSV in and out, the way real datasets come in and the way a person
    reads a stream in a spreadsheet.

    In: the header row names the columns; chosen columns become `t`, `id`,
    `seq`, `label` and `kind`; every other cell that parses as a number
    becomes a `v` reading named by its column, an empty cell a missing (nil)
    reading; other cells are dropped, or kept as string keys named by their
    column (keep_strings).  Cells and names are trimmed of spaces; quoted
    cells ("a,b", "say ""hi""") follow RFC 4180.  `kind` is kept only on rows
    whose label is 1.  A row with the wrong number of cells is an error
    naming its line, and is skipped.

    Out: a header and one row per frame.  Columns are fixed by the first
    frame: its top-level keys in order, with the readings of `v` expanded
    into one column each (named by the reading), and a `kind` column
    whenever there is a `label` one; arrays and maps are written
    as JSON text in one cell.  A later frame with a key outside the header
    is an error naming it.  */
#ifndef VIGIL_CSV_H
#define VIGIL_CSV_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>

#include "record.h"

typedef struct {
    const char *t_col;          //  column for `t`   (default "t" if present)
    const char *id_col;         //  column for `id`  (default "id" if present)
    const char *seq_col;        //  column for `seq` (default "seq" if present)
    const char *label_col;      //  column for `label` (default "label" if present)
    const char *kind_col;       //  column for `kind` (default "kind" if present)
    const char *drop;           //  comma-separated columns to leave out
    bool keep_strings;          //  keep non-numeric cells as string keys
    char delim;                 //  field separator (default ',')
} csv_opts_t;

typedef struct _csv_reader_t csv_reader_t;

//  Read the header from f (not owned).  NULL + err if the header is missing
//  or a named column is not in it.
csv_reader_t *
    csv_reader_new (FILE *f, const csv_opts_t *opts, char *err);
//  Next row into rec: 1, 0 at the end, -1 for a bad row (err says why; the
//  caller reports it with csv_reader_line and goes on), -2 on a read error.
int
    csv_reader_next (csv_reader_t *self, record_t *rec, char *err);
//  Line number of the row last read (1 = the header).
uint64_t
    csv_reader_line (const csv_reader_t *self);
void
    csv_reader_destroy (csv_reader_t **self_p);

typedef struct _csv_writer_t csv_writer_t;

csv_writer_t *
    csv_writer_new (char delim);
//  Append the CSV of obj (and the header, before the first row) to out.
//  0, or -1 + err if obj has a key outside the header.
int
    csv_writer_row (csv_writer_t *self, const msgpack_object *obj, msgpack_sbuffer *out, char *err);
void
    csv_writer_destroy (csv_writer_t **self_p);

void
    csv_test (bool verbose);

#endif

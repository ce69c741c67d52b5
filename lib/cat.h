/*  cat: the conversion loop behind vigil-cat — frames, JSON lines and CSV in
    any direction, one record at a time, in constant memory.  */
#ifndef VIGIL_CAT_H
#define VIGIL_CAT_H

#include <stdbool.h>

#include "csv.h"
#include "stage.h"

typedef enum { CAT_MP, CAT_JSON, CAT_CSV } cat_format_t;

typedef struct {
    cat_format_t from, to;
    csv_opts_t csv;             //  CSV input options; csv.delim also for output
} cat_opts_t;

//  Parse "mp" / "msgpack" / "json" / "jsonl" / "csv"; -1 if unknown.
int
    cat_format (const char *name);

//  Run the conversion: frames come from the stage's input, text from
//  `text_in` (a path or "-"); everything goes to the stage's output.  Bad
//  records are reported through the stage.  Returns 0, or -1 if the input
//  could not be opened or read (reported).
int
    cat_run (stage_t *st, const char *text_in, const cat_opts_t *opts);

#endif

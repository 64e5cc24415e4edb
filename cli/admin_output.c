/*
 * admin_output.c — how the admin commands print answers: aligned tables,
 * "key: value" blocks, UTC dates, or the raw JSON with --json.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"

#define CELL_MAX 256

void admin_print_json(const json_t *j)
{
    if (!j) {
        printf("{}\n");
        return;
    }
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
}

const char *admin_cell(const json_t *v, char *buf, size_t size)
{
    if (!v || json_is_null(v))
        snprintf(buf, size, "-");
    else if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, size, "yes");
    else if (json_is_false(v))
        snprintf(buf, size, "no");
    else {
        char *d = json_dumps(v, JSON_COMPACT);
        snprintf(buf, size, "%s", d ? d : "?");
        free(d);
    }
    /* Keep tables on one line per row whatever the server sent. */
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return buf;
}

const char *admin_time(const json_t *v, char *buf, size_t size)
{
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return admin_cell(v, buf, size);
    time_t t = (time_t)json_integer_value(v);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
        return admin_cell(v, buf, size);
    return buf;
}

static const char *col_text(const json_t *row, const struct admin_col *col, char *buf, size_t size)
{
    const json_t *v = json_object_get(row, col->key);
    return col->is_time ? admin_time(v, buf, size) : admin_cell(v, buf, size);
}

void admin_print_table(const json_t *rows, const struct admin_col *cols, size_t ncols,
                       const char *empty_msg)
{
    if (!json_is_array(rows) || json_array_size(rows) == 0) {
        printf("%s\n", empty_msg);
        return;
    }
    size_t *width = calloc(ncols, sizeof *width);
    if (!width)
        return;
    char buf[CELL_MAX];
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c].header);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            size_t w = strlen(col_text(row, &cols[c], buf, sizeof buf));
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].header,
               c + 1 < ncols ? "  " : "\n");
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++)
            printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0,
                   col_text(row, &cols[c], buf, sizeof buf), c + 1 < ncols ? "  " : "\n");
    }
    free(width);
}

void admin_print_fields(const json_t *obj, const struct admin_col *cols, size_t ncols)
{
    size_t w = 0;
    for (size_t c = 0; c < ncols; c++)
        if (strlen(cols[c].header) > w)
            w = strlen(cols[c].header);
    char buf[CELL_MAX];
    char label[CELL_MAX];
    for (size_t c = 0; c < ncols; c++) {
        snprintf(label, sizeof label, "%s:", cols[c].header);
        printf("%-*s %s\n", (int)w + 1, label, col_text(obj, &cols[c], buf, sizeof buf));
    }
}

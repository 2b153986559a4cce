/* Placeholder until the statement scanner lands: no statement names a file. */
#include "infile.h"

long myl_sql_infile_name(const char *sql, size_t len, int no_backslash, char *out, size_t cap)
{
    (void)sql, (void)len, (void)no_backslash, (void)out, (void)cap;
    return -1;
}

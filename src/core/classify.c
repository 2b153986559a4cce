#include "classify.h"


const char *myl_wait_name(myl_wait wait)
{
    switch (wait) {
    case MYL_WAIT_GREETING: return "server greeting";
    case MYL_WAIT_AUTH: return "authentication reply";
    case MYL_WAIT_OK: return "OK packet";
    case MYL_WAIT_RESULT: return "result head";
    case MYL_WAIT_COLUMN: return "column definition";
    case MYL_WAIT_COLUMNS_END: return "end of column definitions";
    case MYL_WAIT_ROW: return "text row";
    case MYL_WAIT_INFILE_DONE: return "reply to LOCAL INFILE data";
    case MYL_WAIT_PREPARE: return "reply to a prepare";
    }
    return "packet";
}

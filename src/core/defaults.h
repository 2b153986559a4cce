/* Which option files a client reads, in which order, and which of their
 * groups, as MariaDB 10.11's mysys/my_default.c has it for the mariadb
 * client:
 *
 *   /etc/my.cnf, /etc/mysql/my.cnf, $MARIADB_HOME/my.cnf (or
 *   $MYSQL_HOME/my.cnf when MARIADB_HOME is unset), the
 *   --defaults-extra-file, ~/.my.cnf
 *
 * A directory named twice is read once, at its later place.  A missing
 * file is skipped, a world-writable one is skipped with a warning; a
 * missing --defaults-file or --defaults-extra-file is an error.  With
 * --defaults-file only that file is read; with --no-defaults none.  The
 * login path file (login_reader) is read last, in every case, as MySQL's
 * clients read it.  The
 * groups are compared without regard to case; with a group suffix S
 * (--defaults-group-suffix, else $MYSQL_GROUP_SUFFIX) each group G is read
 * as G and as GS.  Options reach the callback in the order of the files
 * and of their lines (the last of an option given twice is the one that
 * counts, as with the mariadb client). */
#ifndef MYL_DEFAULTS_H
#define MYL_DEFAULTS_H

#include "error.h"
#include "optfile.h"

typedef struct myl_defaults {
    int no_defaults;
    const char *defaults_file; /* only this file */
    const char *extra_file;    /* read before ~/.my.cnf */
    const char *group_suffix;  /* NULL: $MYSQL_GROUP_SUFFIX */
    const char *login_path;    /* --login-path: the group of ~/.mylogin.cnf (NULL: "client") */
    const char *const *groups; /* the groups shared with other programs, NULL-terminated */
    const char *own_group;     /* the program's own group (or NULL) */
    /* An option of a group read: own is 1 for own_group (and its suffixed
     * form).  Non-zero stops the reading (the callback sets err). */
    int (*option)(void *ud, const char *key, const char *value, const char *file,
                  unsigned line, int own, myl_error *err);
    /* The reader of MySQL's login path file (~/.mylogin.cnf, or
     * $MYSQL_TEST_LOGIN_FILE), read last with the groups [client],
     * [mysql], own_group and login_path's; NULL: not read.  The contract
     * of myl_mylogin_read (mylogin.h): a file open to others is skipped
     * with a warning. */
    int (*login_reader)(const char *path, const myl_optfile_hooks *h, myl_error *err);
    /* A warning (a file skipped); NULL: none shown. */
    void (*warn)(void *ud, const char *message);
    void *ud;
} myl_defaults;

/* The groups the mariadb client reads (client/mysql.cc). */
extern const char *const myl_defaults_client_groups[];

/* Reads the files d names.  0, or -1 with err. */
int myl_defaults_read(const myl_defaults *d, myl_error *err);

#endif

/* The version of mylua, reported in connection attributes and by the host. */
#ifndef MYL_VERSION_H
#define MYL_VERSION_H

#define MYL_VERSION "0.1.0"

#endif

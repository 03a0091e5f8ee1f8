#ifndef LIENTHONG_CLIBPQ_SHIM_H
#define LIENTHONG_CLIBPQ_SHIM_H

#include <libpq-fe.h>

#endif

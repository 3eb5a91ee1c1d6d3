#ifndef JUNCTION_CLIBPQ_SHIM_H
#define JUNCTION_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif

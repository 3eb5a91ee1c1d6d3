#ifndef JUNCTION_CHIREDIS_SHIM_H
#define JUNCTION_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif

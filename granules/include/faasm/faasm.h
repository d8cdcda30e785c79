/* Everything a Faasm function needs: the host interface and the C API. */
#ifndef FAASM_FAASM_H
#define FAASM_FAASM_H

#include "faasm/host_interface.h"
#include "faasm/core.h"

#endif /* FAASM_FAASM_H */

/* Lets functions write either #include "faasm.h" or #include <faasm/faasm.h>. */
#ifndef FAASM_H
#define FAASM_H

#include <faasm/faasm.h>

#endif /* FAASM_H */

/*
 * Input/output helpers (faasm/cpp:libfaasm/faasm/input.h).
 *
 * In C++ they live in namespace faasm, as in Faasm (faasm::getStringInput);
 * in C they are plain functions (getStringInput).
 */
#ifndef FAASM_INPUT_H
#define FAASM_INPUT_H

#include <stdlib.h>
#include <string.h>

#include "faasm/core.h"

#ifdef __cplusplus
namespace faasm {
#endif

/* The input as a NUL-terminated string (malloc'd), or defaultValue if there is none. */
static inline const char* getStringInput(const char* defaultValue)
{
    long inputSize = faasmGetInputSize();
    if (inputSize == 0) {
        return defaultValue;
    }
    char* buffer = (char*)malloc((size_t)inputSize + 1);
    faasmGetInput(buffer, inputSize);
    buffer[inputSize] = 0;
    return buffer;
}

/* Sets a NUL-terminated string as the output. */
static inline void setStringOutput(const char* val)
{
    faasmSetOutput(val, (long)strlen(val));
}

/* The input parsed as a decimal integer (0 if there is none). */
static inline int getIntInput(void)
{
    return atoi(getStringInput("0"));
}

/* Parses nInts space-separated integers (malloc'd array). */
static inline int* parseStringToIntArray(const char* inStr, int nInts)
{
    int* result = (int*)calloc((size_t)nInts, sizeof(int));
    const char* cursor = inStr;
    for (int i = 0; i < nInts && *cursor; i++) {
        char* end;
        result[i] = (int)strtol(cursor, &end, 10);
        if (end == cursor) {
            break;
        }
        cursor = end;
    }
    return result;
}

#ifdef __cplusplus
/* The input reinterpreted as a T, or defaultValue if there is none. */
template<typename T>
T getTypedInput(T defaultValue)
{
    if (faasmGetInputSize() == 0) {
        return defaultValue;
    }
    T value;
    faasmGetInput(BYTES(&value), sizeof(T));
    return value;
}
} /* namespace faasm */
#endif

#endif /* FAASM_INPUT_H */

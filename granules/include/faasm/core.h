/*
 * The user-level Faasm C API (faasm/cpp:libfaasm/faasm/core.h).
 *
 * Faasm ships these as a library (libfaasm); here they are static inline
 * wrappers over the host interface, so a function needs nothing but this
 * header. Semantics follow libfaasm's core.cpp.
 */
#ifndef FAASMC_CORE_H
#define FAASMC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faasm/host_interface.h"

#ifdef __cplusplus
#define BYTES(arr) reinterpret_cast<uint8_t*>(arr)
#define BYTES_CONST(arr) reinterpret_cast<const uint8_t*>(arr)
extern "C" {
#else
#define BYTES(arr) ((uint8_t*)(arr))
#define BYTES_CONST(arr) ((const uint8_t*)(arr))
#endif

/* A function of this module that can be chained: called with no arguments. */
typedef int (*FaasmFuncPtr)(void);

/* ---- State ---- */

/* Size in bytes of the value at key. */
static inline size_t faasmReadStateSize(const char* key)
{
    return (size_t)__faasm_read_state(key, NULL, 0);
}

/* Copies the whole value at key into buffer. */
static inline long faasmReadState(const char* key, uint8_t* buffer, long bufferLen)
{
    return __faasm_read_state(key, buffer, bufferLen);
}

static inline void faasmReadAppendedState(const char* key,
                                          uint8_t* buffer,
                                          long bufferLen,
                                          long nElems)
{
    __faasm_read_appended_state(key, buffer, bufferLen, nElems);
}

/* The whole value, mapped into this granule's memory (shared with co-located calls). */
static inline uint8_t* faasmReadStatePtr(const char* key, long totalLen)
{
    return __faasm_read_state_ptr(key, totalLen);
}

static inline void faasmReadStateOffset(const char* key,
                                        long totalLen,
                                        long offset,
                                        uint8_t* buffer,
                                        long bufferLen)
{
    __faasm_read_state_offset(key, totalLen, offset, buffer, bufferLen);
}

static inline uint8_t* faasmReadStateOffsetPtr(const char* key,
                                               long totalLen,
                                               long offset,
                                               long len)
{
    return __faasm_read_state_offset_ptr(key, totalLen, offset, len);
}

/* Overwrites the value at key (locally; push to make it global). */
static inline void faasmWriteState(const char* key, const uint8_t* data, long dataLen)
{
    __faasm_write_state(key, data, dataLen);
}

static inline void faasmAppendState(const char* key, const uint8_t* data, long dataLen)
{
    __faasm_append_state(key, data, dataLen);
}

static inline void faasmClearAppendedState(const char* key)
{
    __faasm_clear_appended_state(key);
}

static inline void faasmWriteStateOffset(const char* key,
                                         long totalLen,
                                         long offset,
                                         const uint8_t* data,
                                         long dataLen)
{
    __faasm_write_state_offset(key, totalLen, offset, data, dataLen);
}

static inline unsigned long faasmWriteStateFromFile(const char* key, const char* filePath)
{
    return (unsigned long)__faasm_write_state_from_file(key, filePath);
}

static inline void faasmFlagStateDirty(const char* key, long totalLen)
{
    __faasm_flag_state_dirty(key, totalLen);
}

static inline void faasmFlagStateOffsetDirty(const char* key,
                                             long totalLen,
                                             long offset,
                                             long len)
{
    __faasm_flag_state_offset_dirty(key, totalLen, offset, len);
}

static inline void faasmPushState(const char* key)
{
    __faasm_push_state(key);
}

static inline void faasmPushStatePartial(const char* key)
{
    __faasm_push_state_partial(key);
}

static inline void faasmPushStatePartialMask(const char* key, const char* maskKey)
{
    __faasm_push_state_partial_mask(key, maskKey);
}

static inline void faasmPullState(const char* key, long stateLen)
{
    __faasm_pull_state(key, stateLen);
}

static inline void faasmLockStateRead(const char* key)
{
    __faasm_lock_state_read(key);
}

static inline void faasmUnlockStateRead(const char* key)
{
    __faasm_unlock_state_read(key);
}

static inline void faasmLockStateWrite(const char* key)
{
    __faasm_lock_state_write(key);
}

static inline void faasmUnlockStateWrite(const char* key)
{
    __faasm_unlock_state_write(key);
}

/* ---- Input and output ---- */

/* Size of this call's input in bytes (0 if none). */
static inline long faasmGetInputSize(void)
{
    uint8_t buf[1];
    return __faasm_read_input(buf, 0);
}

/* Copies up to bufferLen bytes of this call's input into buffer. */
static inline void faasmGetInput(void* buffer, long bufferLen)
{
    __faasm_read_input((unsigned char*)buffer, bufferLen);
}

/* Sets this call's output (bytes or text). */
static inline void faasmSetOutput(const void* newOutput, long outputLen)
{
    __faasm_write_output((const char*)newOutput, outputLen);
}

/* ---- Chaining ---- */

/* Calls function `name` (same user) with the given input; returns a call id. */
static inline unsigned int faasmChainNamed(const char* name,
                                           const uint8_t* inputData,
                                           long inputDataSize)
{
    return __faasm_chain_name(name, inputData, inputDataSize);
}

/* Calls funcPtr, a function of this module, in a new granule; returns a call id. */
static inline unsigned int faasmChain(FaasmFuncPtr funcPtr,
                                      const uint8_t* inputData,
                                      long inputDataSize)
{
    return __faasm_chain_ptr(funcPtr, inputData, inputDataSize);
}

/* Waits for a chained call and returns its return value. */
static inline unsigned int faasmAwaitCall(unsigned int callId)
{
    return (unsigned int)__faasm_await_call(callId);
}

/* Waits for a chained call; *output points to a copy of its output, *outputLen its size. */
static inline unsigned int faasmAwaitCallOutput(unsigned int messageId,
                                                char** output,
                                                int* outputLen)
{
    return (unsigned int)__faasm_await_call_output(messageId, output, outputLen);
}

/* Chains funcPtr nFuncs times with the string as input, awaits all: 0 if all returned 0. */
static inline unsigned int faasmChainBatch(FaasmFuncPtr funcPtr,
                                           const char* inputData,
                                           int nFuncs)
{
    long inputDataSize = (long)strlen(inputData);
    unsigned int* callIds = (unsigned int*)malloc(sizeof(unsigned int) * (size_t)nFuncs);
    bool failed = false;
    for (int i = 0; i < nFuncs; i++) {
        callIds[i] = faasmChain(funcPtr, (const uint8_t*)inputData, inputDataSize);
    }
    for (int i = 0; i < nFuncs; i++) {
        if (faasmAwaitCall(callIds[i]) != 0) {
            failed = true;
        }
    }
    free(callIds);
    return failed ? 1 : 0;
}

/* ---- Python, configuration, debugging ---- */

/* The Python user/function/entry of this call, in newly malloc'd strings. */
static inline char* faasmGetPythonUser(void)
{
    char* user = (char*)calloc(20, 1);
    __faasm_get_py_user((unsigned char*)user, 20);
    return user;
}

static inline char* faasmGetPythonFunc(void)
{
    char* func = (char*)calloc(20, 1);
    __faasm_get_py_func((unsigned char*)func, 20);
    return func;
}

static inline char* faasmGetPythonEntry(void)
{
    char* entry = (char*)calloc(30, 1);
    __faasm_get_py_entry((unsigned char*)entry, 30);
    return entry;
}

/* 1 if the runtime's configuration flag `key` is on, else 0. */
static inline unsigned int getConfFlag(const char* key)
{
    return __faasm_conf_flag(key);
}

/* Asks the runtime to print a backtrace of the given depth. */
static inline void faasmBacktrace(const int depth)
{
    __faasm_backtrace(depth);
}

/* ---- Zygote ---- */

/*
 * FAASM_ZYGOTE() { ... return 0; } defines _faasm_zygote, run once before the
 * function's memory is snapshotted: every call then starts from its result.
 */
int _faasm_zygote(void);

#ifdef __cplusplus
}
#define FAASM_ZYGOTE() \
    extern "C" __attribute__((export_name("_faasm_zygote"))) int _faasm_zygote(void)
#else
#define FAASM_ZYGOTE() \
    __attribute__((export_name("_faasm_zygote"))) int _faasm_zygote(void)
#endif

#endif /* FAASMC_CORE_H */

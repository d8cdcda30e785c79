/*
 * The Faasm host interface: every function a granule may import from the host.
 *
 * Names and signatures are Faasm's own (faasm/cpp:libfaasm/faasm/host_interface.h),
 * so code written for Faasm compiles unchanged. These are declarations only:
 * each one becomes a wasm import from module "env" (made explicit with the
 * import_module attribute, so linking works even without --allow-undefined).
 * Only the functions a program actually calls end up in its import section.
 */
#ifndef FAASM_HOST_INTERFACE_H
#define FAASM_HOST_INTERFACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__wasm__)
#define FAASM_HOST_FUNC(name) \
    __attribute__((import_module("env"), import_name(#name)))
#else
#define FAASM_HOST_FUNC(name)
#endif

/* In C++ the S3 calls take Faasm's default arguments; C has none. */
#ifdef __cplusplus
#define FAASM_DEFAULT_ARG(value) = value
extern "C" {
#else
#define FAASM_DEFAULT_ARG(value)
#endif

/* Where a migrated call resumes: f(arg) in the new host. */
typedef void (*FaasmMigrateEntryPoint)(int);

/* ---- State ---- */

/* Copies the value into buffer; with bufferLen == 0, returns the value's size. */
FAASM_HOST_FUNC(__faasm_read_state)
long __faasm_read_state(const char* key, unsigned char* buffer, long bufferLen);

/* Maps the whole value into linear memory and returns a pointer to it. */
FAASM_HOST_FUNC(__faasm_read_state_ptr)
unsigned char* __faasm_read_state_ptr(const char* key, long totalLen);

FAASM_HOST_FUNC(__faasm_write_state)
void __faasm_write_state(const char* key, const unsigned char* data, long dataLen);

FAASM_HOST_FUNC(__faasm_append_state)
void __faasm_append_state(const char* key, const unsigned char* data, long dataLen);

FAASM_HOST_FUNC(__faasm_read_appended_state)
void __faasm_read_appended_state(const char* key,
                                 unsigned char* data,
                                 long dataLen,
                                 long nElems);

FAASM_HOST_FUNC(__faasm_clear_appended_state)
void __faasm_clear_appended_state(const char* key);

FAASM_HOST_FUNC(__faasm_write_state_offset)
void __faasm_write_state_offset(const char* key,
                                long totalLen,
                                long offset,
                                const unsigned char* data,
                                long dataLen);

FAASM_HOST_FUNC(__faasm_write_state_from_file)
unsigned int __faasm_write_state_from_file(const char* key, const char* filePath);

FAASM_HOST_FUNC(__faasm_read_state_offset)
void __faasm_read_state_offset(const char* key,
                               long totalLen,
                               long offset,
                               unsigned char* buffer,
                               long bufferLen);

FAASM_HOST_FUNC(__faasm_flag_state_dirty)
void __faasm_flag_state_dirty(const char* key, long totalLen);

FAASM_HOST_FUNC(__faasm_flag_state_offset_dirty)
void __faasm_flag_state_offset_dirty(const char* key,
                                     long totalLen,
                                     long offset,
                                     long dataLen);

FAASM_HOST_FUNC(__faasm_read_state_offset_ptr)
unsigned char* __faasm_read_state_offset_ptr(const char* key,
                                             long totalLen,
                                             long offset,
                                             long len);

FAASM_HOST_FUNC(__faasm_push_state)
void __faasm_push_state(const char* key);

FAASM_HOST_FUNC(__faasm_push_state_partial)
void __faasm_push_state_partial(const char* key);

FAASM_HOST_FUNC(__faasm_push_state_partial_mask)
void __faasm_push_state_partial_mask(const char* key, const char* maskKey);

FAASM_HOST_FUNC(__faasm_pull_state)
void __faasm_pull_state(const char* key, long stateLen);

FAASM_HOST_FUNC(__faasm_lock_state_read)
void __faasm_lock_state_read(const char* key);

FAASM_HOST_FUNC(__faasm_unlock_state_read)
void __faasm_unlock_state_read(const char* key);

FAASM_HOST_FUNC(__faasm_lock_state_write)
void __faasm_lock_state_write(const char* key);

FAASM_HOST_FUNC(__faasm_unlock_state_write)
void __faasm_unlock_state_write(const char* key);

/* ---- Input, output and chaining ---- */

/* Copies the call's input into buffer; with bufferLen == 0, returns its size. */
FAASM_HOST_FUNC(__faasm_read_input)
long __faasm_read_input(unsigned char* buffer, long bufferLen);

FAASM_HOST_FUNC(__faasm_write_output)
void __faasm_write_output(const char* output, long outputLen);

/* Calls another function by name; returns the new call's id. */
FAASM_HOST_FUNC(__faasm_chain_name)
unsigned int __faasm_chain_name(const char* name,
                                const unsigned char* inputData,
                                long inputDataSize);

/* Calls a function of this module (a function-table entry); returns the call id. */
FAASM_HOST_FUNC(__faasm_chain_ptr)
unsigned int __faasm_chain_ptr(int (*funcPtr)(void),
                               const unsigned char* inputData,
                               long inputDataSize);

/* Waits for a chained call; returns its return value. */
FAASM_HOST_FUNC(__faasm_await_call)
int __faasm_await_call(unsigned int messageId);

/* Waits for a chained call; *output receives a host-allocated copy of its output. */
FAASM_HOST_FUNC(__faasm_await_call_output)
int __faasm_await_call_output(unsigned int messageId, char** output, int* outputLen);

FAASM_HOST_FUNC(__faasm_get_py_user)
void __faasm_get_py_user(unsigned char* buffer, long bufferLen);

FAASM_HOST_FUNC(__faasm_get_py_func)
void __faasm_get_py_func(unsigned char* buffer, long bufferLen);

FAASM_HOST_FUNC(__faasm_get_py_entry)
void __faasm_get_py_entry(unsigned char* buffer, long bufferLen);

FAASM_HOST_FUNC(__faasm_chain_py)
unsigned int __faasm_chain_py(const char* name,
                              const unsigned char* inputData,
                              long inputDataSize);

FAASM_HOST_FUNC(__faasm_conf_flag)
unsigned int __faasm_conf_flag(const char* key);

FAASM_HOST_FUNC(__faasm_backtrace)
void __faasm_backtrace(const int depth);

/* ---- Shared memory (merge regions for OpenMP/threads) ---- */

/* Declared by Faasm but implemented by none of its runtimes. */
FAASM_HOST_FUNC(__faasm_sm_array)
void __faasm_sm_array(void* var, int varType, int arrayLen);

FAASM_HOST_FUNC(__faasm_sm_raw)
void __faasm_sm_raw(void* var, int varSize);

FAASM_HOST_FUNC(__faasm_sm_var)
void __faasm_sm_var(void* var, int varType);

/* Registers var as a reduction: type/op codes are in faasm/shared_mem.h. */
FAASM_HOST_FUNC(__faasm_sm_reduce)
void __faasm_sm_reduce(void* var, int varType, int reduceOp, int currentBatch);

FAASM_HOST_FUNC(__faasm_sm_critical_local)
void __faasm_sm_critical_local(void);

FAASM_HOST_FUNC(__faasm_sm_critical_local_end)
void __faasm_sm_critical_local_end(void);

/* ---- Migration ---- */

/* A point where the runtime may move this call to another host. */
FAASM_HOST_FUNC(__faasm_migrate_point)
void __faasm_migrate_point(FaasmMigrateEntryPoint f, int arg);

/* ---- Test ---- */

FAASM_HOST_FUNC(__faasm_host_interface_test)
void __faasm_host_interface_test(int testNum);

/* ---- S3 ---- */

FAASM_HOST_FUNC(__faasm_s3_get_num_buckets)
int __faasm_s3_get_num_buckets(void);

/* bucketsBuffer is really a char** that the host fills in. */
FAASM_HOST_FUNC(__faasm_s3_list_buckets)
void __faasm_s3_list_buckets(void* bucketsBuffer, int* bucketsBufferLens);

FAASM_HOST_FUNC(__faasm_s3_get_num_keys)
int __faasm_s3_get_num_keys(const char* bucketName);

FAASM_HOST_FUNC(__faasm_s3_get_num_keys_with_prefix)
int __faasm_s3_get_num_keys_with_prefix(const char* bucketName, const char* prefix);

/* keysBuffer is really a char** that the host fills in. */
FAASM_HOST_FUNC(__faasm_s3_list_keys)
void __faasm_s3_list_keys(const char* bucketName, void* keysBuffer, int* keysBufferLens);

FAASM_HOST_FUNC(__faasm_s3_list_keys_with_prefix)
void __faasm_s3_list_keys_with_prefix(const char* bucketName,
                                      const char* prefix,
                                      void* keysBuffer,
                                      int* keysBufferLens);

FAASM_HOST_FUNC(__faasm_s3_add_key_bytes)
int __faasm_s3_add_key_bytes(const char* bucketName,
                             const char* keyName,
                             void* keyBuffer,
                             int keyBufferLen,
                             bool overwrite FAASM_DEFAULT_ARG(false));

/* keyBuffer is really a uint8_t** that the host fills in. */
FAASM_HOST_FUNC(__faasm_s3_get_key_bytes)
int __faasm_s3_get_key_bytes(const char* bucketName,
                             const char* keyName,
                             void* keyBuffer,
                             int* keyBufferLen,
                             bool tolerateMissing FAASM_DEFAULT_ARG(false));

#ifdef __cplusplus
}
#endif

#undef FAASM_DEFAULT_ARG

#endif /* FAASM_HOST_INTERFACE_H */

/*
 * One Faasm state operation per call, chosen by the input: the guest the
 * state tests drive. Input: "<op> <key> [n1 [n2 [n3]]]" then, after a
 * newline, an optional payload. Output: what the operation read, if anything.
 */
#include <faasm/core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char input[1 << 20];
static unsigned char out[1 << 20];

static void output_long(long value)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%ld", value);
    faasmSetOutput(text, n);
}

int main(void)
{
    long size = faasmGetInputSize();
    if (size >= (long)sizeof(input)) return 2;
    faasmGetInput(input, size);
    input[size] = 0;

    unsigned char* payload = (unsigned char*)strchr((char*)input, '\n');
    long payload_len = 0;
    if (payload) {
        *payload++ = 0;
        payload_len = size - (payload - input);
    }
    char op[32], key[4096];
    long n1 = 0, n2 = 0, n3 = 0;
    if (sscanf((char*)input, "%31s %4095s %ld %ld %ld", op, key, &n1, &n2, &n3) < 2) return 3;

    if (!strcmp(op, "size")) {
        output_long((long)faasmReadStateSize(key));
    } else if (!strcmp(op, "read")) {  /* read <key> <len> */
        long value_size = faasmReadState(key, out, n1);
        faasmSetOutput((char*)out, value_size < n1 ? value_size : n1);
    } else if (!strcmp(op, "write")) {
        faasmWriteState(key, payload, payload_len);
    } else if (!strcmp(op, "write_offset")) {  /* write_offset <key> <total> <offset> */
        faasmWriteStateOffset(key, n1, n2, payload, payload_len);
    } else if (!strcmp(op, "read_offset")) {  /* read_offset <key> <total> <offset> <len> */
        faasmReadStateOffset(key, n1, n2, out, n3);
        faasmSetOutput((char*)out, n3);
    } else if (!strcmp(op, "ptr_read")) {  /* ptr_read <key> <total> */
        uint8_t* ptr = faasmReadStatePtr(key, n1);
        faasmSetOutput((char*)ptr, n1);
    } else if (!strcmp(op, "ptr_write")) {  /* ptr_write <key> <total> <offset>: no flag, no push */
        uint8_t* ptr = faasmReadStatePtr(key, n1);
        memcpy(ptr + n2, payload, payload_len);
    } else if (!strcmp(op, "offset_ptr_read")) {  /* offset_ptr_read <key> <total> <offset> <len> */
        uint8_t* ptr = faasmReadStateOffsetPtr(key, n1, n2, n3);
        faasmSetOutput((char*)ptr, n3);
    } else if (!strcmp(op, "offset_ptr_write")) {  /* writes, flags dirty, pushes partially */
        uint8_t* ptr = faasmReadStateOffsetPtr(key, n1, n2, payload_len);
        memcpy(ptr, payload, payload_len);
        faasmFlagStateOffsetDirty(key, n1, n2, payload_len);
        faasmPushStatePartial(key);
    } else if (!strcmp(op, "ptr_twice")) {  /* the addresses of two pointer calls, and an offset one */
        long a = (long)faasmReadStatePtr(key, n1);
        long b = (long)faasmReadStatePtr(key, n1);
        long c = (long)faasmReadStateOffsetPtr(key, n1, n2, 1);
        int n = snprintf((char*)out, 96, "%ld %ld %ld", a, b, c);
        faasmSetOutput((char*)out, n);
    } else if (!strcmp(op, "flag_dirty")) {
        faasmFlagStateDirty(key, n1);
    } else if (!strcmp(op, "flag_offset_dirty")) {
        faasmFlagStateOffsetDirty(key, n1, n2, n3);
    } else if (!strcmp(op, "push")) {
        faasmPushState(key);
    } else if (!strcmp(op, "push_partial")) {
        faasmPushStatePartial(key);
    } else if (!strcmp(op, "push_mask")) {  /* the mask key is the payload */
        payload[payload_len] = 0;
        faasmPushStatePartialMask(key, (char*)payload);
    } else if (!strcmp(op, "pull")) {
        faasmPullState(key, n1);
    } else if (!strcmp(op, "append")) {
        faasmAppendState(key, payload, payload_len);
    } else if (!strcmp(op, "appended")) {  /* appended <key> <buffer len> <n elems> */
        faasmReadAppendedState(key, out, n1, n2);
        faasmSetOutput((char*)out, n1);
    } else if (!strcmp(op, "clear_appended")) {
        faasmClearAppendedState(key);
    } else if (!strcmp(op, "from_file")) {  /* the path is the payload */
        payload[payload_len] = 0;
        output_long((long)faasmWriteStateFromFile(key, (char*)payload));
    } else if (!strcmp(op, "incr")) {  /* incr <key> <times>: a 4-byte counter, under the write lock */
        for (long i = 0; i < n1; i++) {
            faasmLockStateWrite(key);
            faasmPullState(key, 4);
            int value;
            faasmReadStateOffset(key, 4, 0, (uint8_t*)&value, 4);
            value += 1;
            faasmWriteStateOffset(key, 4, 0, (uint8_t*)&value, 4);
            faasmPushState(key);
            faasmUnlockStateWrite(key);
        }
    } else if (!strcmp(op, "lock_read")) {  /* lock_read <key> <unlock?> */
        faasmLockStateRead(key);
        if (n1) faasmUnlockStateRead(key);
    } else if (!strcmp(op, "lock_write")) {  /* lock_write <key> <unlock?>: without unlock, the runtime releases it */
        faasmLockStateWrite(key);
        if (n1) faasmUnlockStateWrite(key);
    } else if (!strcmp(op, "unlock_write")) {
        faasmUnlockStateWrite(key);
    } else if (!strcmp(op, "raw_read")) {  /* raw_read <key> <buffer address> <len>: any pointer */
        __faasm_read_state(key, (unsigned char*)(uintptr_t)(unsigned long)n1, n2);
    } else if (!strcmp(op, "raw_key")) {  /* raw_key <unused> <key address>: any key pointer */
        __faasm_push_state((const char*)(uintptr_t)(unsigned long)n1);
    } else {
        return 4;
    }
    return 0;
}

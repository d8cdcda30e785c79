/* Bad input: two FAASM_REDUCE merge regions that overlap. */
#include <faasm/faasm.h>
#include <faasm/shared_mem.h>

static long long value;

int main(void) {
    FAASM_REDUCE(value, FAASM_TYPE_LONG, FAASM_OP_SUM)
    FAASM_REDUCE(*((int *)&value + 1), FAASM_TYPE_INT, FAASM_OP_MAX)
    return 0;
}

/*
 * square.c: the worker of fanout.c.
 *
 * Input: one 4-byte int i. Output: i * i as a 4-byte int.
 */
#include <faasm.h>

int main(void)
{
    int i;
    if (faasmGetInputSize() != (long)sizeof(i)) {
        return 1; /* a non-zero return value marks the call as failed */
    }
    faasmGetInput(&i, sizeof(i));

    int square = i * i;
    faasmSetOutput(&square, sizeof(square));
    return 0;
}

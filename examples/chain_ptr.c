/*
 * chain_ptr.c: chaining by function pointer.
 *
 * main and worker live in the same module. faasmChain(worker, ...) asks the
 * runtime to call worker (an entry of the module's function table) with no
 * arguments, in a fresh granule started from this module's initial snapshot,
 * with the given bytes as that call's input. So worker cannot see main's
 * variables: everything it needs travels in its input.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <faasm.h>

#define N_CALLS 3

/* Input: a 4-byte int x. Output: x cubed, as a 4-byte int. */
int worker(void)
{
    int x;
    if (faasmGetInputSize() != (long)sizeof(x)) {
        return 1;
    }
    faasmGetInput(&x, sizeof(x));

    int cube = x * x * x;
    faasmSetOutput(&cube, sizeof(cube));
    return 0;
}

int main(void)
{
    int inputs[N_CALLS] = { 2, 3, 4 };
    unsigned int callIds[N_CALLS];

    for (int i = 0; i < N_CALLS; i++) {
        callIds[i] = faasmChain(worker, (const uint8_t*)&inputs[i], sizeof(int));
    }

    char summary[128] = "";
    for (int i = 0; i < N_CALLS; i++) {
        /* faasmAwaitCall gives the return value; faasmAwaitCallOutput the output too. */
        unsigned int returnValue = faasmAwaitCall(callIds[i]);

        char* output = NULL;
        int outputLen = 0;
        faasmAwaitCallOutput(callIds[i], &output, &outputLen);

        int cube = 0;
        if (returnValue != 0 || outputLen != (int)sizeof(cube)) {
            printf("worker(%d) failed: returned %u, %d bytes of output\n",
                   inputs[i], returnValue, outputLen);
            return 1;
        }
        memcpy(&cube, output, sizeof(cube));
        if (cube != inputs[i] * inputs[i] * inputs[i]) {
            printf("worker(%d) gave %d\n", inputs[i], cube);
            return 1;
        }

        char line[32];
        snprintf(line, sizeof(line), "%s%d^3=%d", i > 0 ? " " : "", inputs[i], cube);
        strncat(summary, line, sizeof(summary) - strlen(summary) - 1);
    }

    printf("%s\n", summary);
    faasmSetOutput(summary, (long)strlen(summary));
    return 0;
}

/*
 * fanout.c: fan-out/fan-in by name.
 *
 * Input: a number N as text (8 if empty). Calls the function "square" N times
 * in parallel, each with its index i as a 4-byte int, then waits for every
 * call and adds up the results: 0^2 + 1^2 + ... + (N-1)^2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faasm.h>
#include <faasm/input.h>

#define MAX_CALLS 1024

int main(void)
{
    int n = atoi(getStringInput("8"));
    if (n < 0 || n > MAX_CALLS) {
        printf("N must be between 0 and %d, not %d\n", MAX_CALLS, n);
        return 1;
    }

    /* Fan out: every chained call runs in its own granule, perhaps on another host. */
    unsigned int callIds[MAX_CALLS];
    for (int i = 0; i < n; i++) {
        callIds[i] = faasmChainNamed("square", (const uint8_t*)&i, sizeof(i));
    }

    /* Fan in: wait for each call and read its output (a 4-byte int). */
    long sum = 0;
    for (int i = 0; i < n; i++) {
        char* output = NULL;
        int outputLen = 0;
        unsigned int returnValue = faasmAwaitCallOutput(callIds[i], &output, &outputLen);

        int square;
        if (returnValue != 0 || outputLen != (int)sizeof(square)) {
            printf("call %d (square of %d) failed\n", callIds[i], i);
            return 1;
        }
        memcpy(&square, output, sizeof(square));
        sum += square;
    }

    char text[32];
    int len = snprintf(text, sizeof(text), "%ld", sum);
    faasmSetOutput(text, len);
    printf("Sum of squares below %d: %ld\n", n, sum);

    return 0;
}

/*
 * zygote.c: expensive set-up done once, in the zygote.
 *
 * The runtime runs FAASM_ZYGOTE() once, then snapshots the module's memory;
 * every call starts from that snapshot, so the 64 KiB prime sieve below is
 * already built when main runs, and the zygote's counter always reads 1.
 *
 * Input: a number N as text (97 if empty), below 65536.
 * Output: "N is prime" or "N is not prime".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faasm.h>
#include <faasm/input.h>

#define TABLE_SIZE 65536

static uint8_t isPrime[TABLE_SIZE]; /* 64 KiB: isPrime[n] is 1 if n is prime */
static int zygoteRuns = 0;

/* Sieve of Eratosthenes over [0, TABLE_SIZE). */
static void buildSieve(void)
{
    memset(isPrime, 1, sizeof(isPrime));
    isPrime[0] = isPrime[1] = 0;
    for (int i = 2; i * i < TABLE_SIZE; i++) {
        if (isPrime[i]) {
            for (int j = i * i; j < TABLE_SIZE; j += i) {
                isPrime[j] = 0;
            }
        }
    }
}

FAASM_ZYGOTE()
{
    buildSieve();
    zygoteRuns++;
    return 0;
}

int main(void)
{
    /* Run outside a Faasm-style runtime, no zygote has run: build the table now. */
    if (zygoteRuns == 0) {
        buildSieve();
    }

    int n = atoi(getStringInput("97"));
    if (n < 0 || n >= TABLE_SIZE) {
        printf("N must be between 0 and %d, not %d\n", TABLE_SIZE - 1, n);
        return 1;
    }

    char output[64];
    int len = snprintf(output, sizeof(output), "%d is %s", n, isPrime[n] ? "prime" : "not prime");
    faasmSetOutput(output, len);

    printf("%s (zygote ran %d time%s)\n", output, zygoteRuns, zygoteRuns == 1 ? "" : "s");
    return 0;
}

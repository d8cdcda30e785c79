/*
 * hello.c: the smallest granule.
 *
 * Whatever a granule prints is captured as its call's stdout; the bytes it
 * passes to faasmSetOutput become the call's output, returned to the caller.
 */
#include <stdio.h>
#include <string.h>

#include <faasm.h>

int main(void)
{
    printf("Hello from a granule!\n");

    const char* output = "hello";
    faasmSetOutput(output, (long)strlen(output));

    return 0;
}

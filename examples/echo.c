/*
 * echo.c: returns its input, byte for byte, as its output.
 */
#include <stdint.h>
#include <stdlib.h>

#include <faasm.h>

int main(void)
{
    /* Ask how big the input is, then copy it into our own memory. */
    long size = faasmGetInputSize();
    uint8_t* buffer = malloc(size > 0 ? (size_t)size : 1);
    if (buffer == NULL) {
        return 1;
    }
    faasmGetInput(buffer, size);

    faasmSetOutput(buffer, size);

    free(buffer);
    return 0;
}

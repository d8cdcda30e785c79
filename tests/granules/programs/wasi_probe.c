/* Exercises the WASI view a granule gets: argv, environment, stdio, its sandbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faasm.h>

int main(int argc, char** argv)
{
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=%s\n", i, argv[i]);
    }
    const char* greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    fprintf(stderr, "this goes to stderr\n");

    FILE* out = fopen("/note.txt", "w");
    if (!out) {
        printf("cannot write /note.txt\n");
        return 2;
    }
    fputs("written by a granule", out);
    fclose(out);

    const char* escapes[] = {"/etc/passwd", "../../../../etc/passwd", "/../etc/hostname"};
    for (int i = 0; i < 3; i++) {
        FILE* f = fopen(escapes[i], "r");
        printf("open %s: %s\n", escapes[i], f ? "OPENED" : "refused");
        if (f) {
            fclose(f);
        }
    }
    faasmSetOutput("done", 4);
    return 0;
}

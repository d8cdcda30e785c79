/*
 * Hogwild SGD (a linear SVM, hinge loss) on a synthetic sparse dataset in
 * Faasm state: the Faasm paper's training experiment, as one function.
 *
 * Input: "<mode> <examples> <features> <nnz per example> <a> <b> <c>"
 *   gen    ... <seed>                 make the dataset and zero weights; push them
 *   shared ... <worker> <workers> <epoch>  train through state pointers (no copies)
 *   copy   ... <worker> <workers> <epoch>  copy everything in from the global tier
 *                                          first, as a container platform would
 *   eval                              output "<correct> <examples>"
 *
 * With a last argument "hold", shared and copy workers wait for one another
 * when they are done, and then a moment longer, so that all of them (and
 * their memory) are alive at once: the benchmark measures memory that way.
 *
 * The data: example i has nnz (feature, value) pairs at [i*nnz, (i+1)*nnz) of
 * "sgd_indices" (int32) and "sgd_values" (float32); its label (+1/-1) in
 * "sgd_labels" is the sign of a hidden weight vector's dot product with it.
 * Workers sample examples at random from the whole set and update
 * "sgd_weights" (float32) without locks, as Hogwild does.
 */
#include <faasm/core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEARNING_RATE 0.05f

static char input[256];

static uint32_t next_random(uint32_t* state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static float uniform(uint32_t* state) { return (next_random(state) >> 8) * (1.0f / 16777216.0f); }

static void generate(long n, long f, long k, uint32_t seed)
{
    float* hidden = malloc(f * sizeof(float));
    int32_t* indices = malloc(n * k * sizeof(int32_t));
    float* values = malloc(n * k * sizeof(float));
    float* labels = malloc(n * sizeof(float));
    float* weights = calloc(f, sizeof(float));
    uint32_t rng = seed ? seed : 1;
    for (long j = 0; j < f; j++) hidden[j] = uniform(&rng) * 2.0f - 1.0f;
    for (long i = 0; i < n; i++) {
        float dot = 0;
        for (long e = 0; e < k; e++) {
            int32_t feature = next_random(&rng) % f;
            float value = uniform(&rng);
            indices[i * k + e] = feature;
            values[i * k + e] = value;
            dot += hidden[feature] * value;
        }
        labels[i] = dot >= 0 ? 1.0f : -1.0f;
    }
    faasmWriteState("sgd_indices", (uint8_t*)indices, n * k * sizeof(int32_t));
    faasmWriteState("sgd_values", (uint8_t*)values, n * k * sizeof(float));
    faasmWriteState("sgd_labels", (uint8_t*)labels, n * sizeof(float));
    faasmWriteState("sgd_weights", (uint8_t*)weights, f * sizeof(float));
    faasmPushState("sgd_indices");
    faasmPushState("sgd_values");
    faasmPushState("sgd_labels");
    faasmPushState("sgd_weights");
}

/* A private copy of a value, fetched from the global tier. */
static uint8_t* copy_in(const char* key, long size)
{
    uint8_t* buffer = malloc(size);
    faasmPullState(key, size);
    faasmReadState(key, buffer, size);
    return buffer;
}

static void train(const int32_t* indices, const float* values, const float* labels, float* weights,
                  long n, long k, long worker, long workers, long epoch)
{
    uint32_t rng = 0x9e3779b9u ^ (uint32_t)(worker * 7919 + epoch * 104729 + 1);
    long steps = n / workers;
    for (long s = 0; s < steps; s++) {
        long i = next_random(&rng) % n;
        const int32_t* idx = indices + i * k;
        const float* val = values + i * k;
        float dot = 0;
        for (long e = 0; e < k; e++) dot += weights[idx[e]] * val[e];
        if (labels[i] * dot < 1.0f) {
            float step = LEARNING_RATE * labels[i];
            for (long e = 0; e < k; e++) weights[idx[e]] += step * val[e];
        }
    }
}

/* Count this worker in, then wait until all `workers` have arrived (and 200 ms more). */
static void hold_until_all_arrive(long workers, long epoch)
{
    char key[32];
    snprintf(key, sizeof(key), "sgd_barrier_%ld", epoch);
    int32_t arrived;
    faasmLockStateWrite(key);
    faasmReadStateOffset(key, 4, 0, (uint8_t*)&arrived, 4);
    arrived += 1;
    faasmWriteStateOffset(key, 4, 0, (uint8_t*)&arrived, 4);
    faasmUnlockStateWrite(key);
    while (arrived < workers) {
        usleep(1000);
        faasmReadStateOffset(key, 4, 0, (uint8_t*)&arrived, 4);
    }
    usleep(200000);
}

int main(void)
{
    long size = faasmGetInputSize();
    if (size >= (long)sizeof(input)) return 2;
    faasmGetInput((uint8_t*)input, size);
    input[size] = 0;
    char mode[16], hold[8] = "";
    long n, f, k, a = 0, b = 1, c = 0;
    if (sscanf(input, "%15s %ld %ld %ld %ld %ld %ld %7s", mode, &n, &f, &k, &a, &b, &c, hold) < 4) return 3;
    int holding = !strcmp(hold, "hold");
    long data_bytes = n * k * 4, label_bytes = n * 4, weight_bytes = f * 4;

    if (!strcmp(mode, "gen")) {
        generate(n, f, k, (uint32_t)a);
    } else if (!strcmp(mode, "shared")) {
        int32_t* indices = (int32_t*)faasmReadStatePtr("sgd_indices", data_bytes);
        float* values = (float*)faasmReadStatePtr("sgd_values", data_bytes);
        float* labels = (float*)faasmReadStatePtr("sgd_labels", label_bytes);
        float* weights = (float*)faasmReadStatePtr("sgd_weights", weight_bytes);
        train(indices, values, labels, weights, n, k, a, b, c);
        if (holding) hold_until_all_arrive(b, c);
    } else if (!strcmp(mode, "copy")) {
        int32_t* indices = (int32_t*)copy_in("sgd_indices", data_bytes);
        float* values = (float*)copy_in("sgd_values", data_bytes);
        float* labels = (float*)copy_in("sgd_labels", label_bytes);
        float* weights = (float*)copy_in("sgd_weights", weight_bytes);
        train(indices, values, labels, weights, n, k, a, b, c);
        faasmWriteState("sgd_weights", (uint8_t*)weights, weight_bytes);
        faasmPushState("sgd_weights");
        if (holding) hold_until_all_arrive(b, c);
    } else if (!strcmp(mode, "eval")) {
        int32_t* indices = (int32_t*)faasmReadStatePtr("sgd_indices", data_bytes);
        float* values = (float*)faasmReadStatePtr("sgd_values", data_bytes);
        float* labels = (float*)faasmReadStatePtr("sgd_labels", label_bytes);
        float* weights = (float*)faasmReadStatePtr("sgd_weights", weight_bytes);
        long correct = 0;
        for (long i = 0; i < n; i++) {
            float dot = 0;
            for (long e = 0; e < k; e++) dot += weights[indices[i * k + e]] * values[i * k + e];
            correct += (dot >= 0 ? 1.0f : -1.0f) == labels[i];
        }
        char text[64];
        int len = snprintf(text, sizeof(text), "%ld %ld", correct, n);
        faasmSetOutput(text, len);
    } else {
        return 4;
    }
    return 0;
}

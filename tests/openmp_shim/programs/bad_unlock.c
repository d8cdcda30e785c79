/* Bad input: unlocking a lock this thread does not hold. */
#include <omp.h>
int main(void) {
    omp_lock_t lock;
    omp_init_lock(&lock);
    omp_unset_lock(&lock);
    return 0;
}

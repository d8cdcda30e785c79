/* Bad input: a schedule kind libomp does not have. */
#include <omp.h>
void __kmpc_dispatch_init_4(void *loc, int gtid, int schedule, int lb, int ub, int st, int chunk);
int __kmpc_global_thread_num(void *loc);
int main(void) {
    __kmpc_dispatch_init_4(0, __kmpc_global_thread_num(0), 999, 0, 10, 1, 1);
    return 0;
}

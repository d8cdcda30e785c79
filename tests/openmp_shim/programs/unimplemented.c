/* Calls an OpenMP entry point this runtime does not provide. */
void __kmpc_doacross_fini(void *loc, int gtid);
int main(void) {
    __kmpc_doacross_fini(0, 0);
    return 0;
}

/* exit42: stands for a program the guest must never run. */
int main(void) { return 42; }

// The init stage in C (initstage.c), entered from the watchdog's child.
#ifndef SANDBOX_INITSTAGE_H
#define SANDBOX_INITSTAGE_H
void sandbox_init_stage(void) __attribute__((noreturn));
#endif

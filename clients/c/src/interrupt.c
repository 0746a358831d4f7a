/* The interrupt flag and its signal handlers. */
#include "interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t requested = 0;

static void on_signal(int sig) {
    (void)sig;
    requested = 1;
}

void interrupt_install(void) {
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: poll returns EINTR at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool interrupt_requested(void) {
    return requested != 0;
}

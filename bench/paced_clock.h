/* Clocks shared by the paced upstream and client: monotonic nanoseconds for scheduling and
 * intervals, wall-clock microseconds for the stamps a delta carries from one process to the
 * other (both run on this machine, so their wall clocks agree). */
#ifndef PACED_CLOCK_H
#define PACED_CLOCK_H

#include <time.h>

static inline long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long long real_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

#endif

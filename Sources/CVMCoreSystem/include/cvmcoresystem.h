#ifndef CVMCORESYSTEM_H
#define CVMCORESYSTEM_H
/// Linux calls the Glibc module does not export (they need _GNU_SOURCE).
int csystem_start_writeback(int fd, long long offset, long long count);
#endif

#ifndef CVMCORESYSTEM_H
#define CVMCORESYSTEM_H
#include <sys/types.h>

/// Linux calls the Glibc module does not export (they need _GNU_SOURCE).
int csystem_start_writeback(int fd, long long offset, long long count);

/// posix_spawn(3) of `path` with `argv` and `envp`, its working directory `directory` (NULL:
/// this process's), through posix_spawn_file_actions_addchdir_np (glibc 2.29, macOS 10.15),
/// which glibc declares only under _GNU_SOURCE; no signal blocked and every signal's action
/// the default in the new program. Returns 0 and sets `*pid`, or an errno value.
int csystem_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *directory);
#endif

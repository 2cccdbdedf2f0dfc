#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include "cvmcoresystem.h"

int csystem_start_writeback(int fd, long long offset, long long count) {
#ifdef __linux__
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)count;
    return 0;
#endif
}

int csystem_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *directory) {
    posix_spawn_file_actions_t actions;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    if (directory != NULL && (rc = posix_spawn_file_actions_addchdir_np(&actions, directory)) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    rc = posix_spawn(pid, path, &actions, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

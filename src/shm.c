/*
 * shm.c — shared queues in named POSIX shared-memory objects: create,
 * open, unlink, close. The queue itself is pcq.c's (pcq_shared_*); this
 * file names, sizes and maps its memory.
 */
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC in older headers */
#include "pcq_shm.h"
#include "fatal.h"
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A name POSIX allows for a shared-memory object, as glibc checks it: a
 * '/', then 1 to NAME_MAX - 2 characters (glibc counts the terminating
 * NUL against NAME_MAX) with no '/', and not "." or "..".
 */
static bool name_ok(const char *name)
{
    if (name == NULL || name[0] != '/')
        return false;
    const char *rest = name + 1;
    const size_t n = strnlen(rest, NAME_MAX);
    if (n == 0 || n > NAME_MAX - 2 || strchr(rest, '/') != NULL)
        return false;
    return strcmp(rest, ".") != 0 && strcmp(rest, "..") != 0;
}

/* errno of a failed shm_open, ftruncate or mmap, as this API's codes. */
static int open_error(int e)
{
    switch (e) {
    case EEXIST:
    case ENOENT:
    case EACCES:
    case EMFILE:
    case ENFILE:
    case ENOSPC:
    case ENOMEM:
        return e;
    case EPERM:
    case ELOOP: /* the name is a symbolic link: never followed */
        return EACCES;
    case ENAMETOOLONG:
        return EINVAL;
    case EFBIG:
        return EOVERFLOW;
    default:
        return ENOMEM;
    }
}

void pcq__unmap(void *map, size_t len) { munmap(map, len); }

#ifdef __linux__
int pcq_shm_create(const char *name, size_t capacity, size_t elem_size, mode_t mode, pcq_t **out)
{
    if (!name_ok(name) || out == NULL || capacity == 0 || elem_size == 0)
        return EINVAL;
    const size_t bytes = pcq_shared_size(capacity, elem_size);
    if (bytes == 0 || (off_t)bytes < 0)
        return EOVERFLOW;
    /* glibc's shm_open adds O_NOFOLLOW and O_CLOEXEC itself; saying so
     * here costs nothing elsewhere. */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
    if (fd < 0)
        return open_error(errno);
    int rc = 0;
    void *mem = MAP_FAILED;
    /* The mode as given, not as the umask leaves it. */
    if (fchmod(fd, mode & 07777) != 0 || ftruncate(fd, (off_t)bytes) != 0) {
        rc = open_error(errno);
        goto fail;
    }
    mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        rc = open_error(errno);
        goto fail;
    }
    pcq_t *q;
    if ((rc = pcq_shared_init(mem, bytes, capacity, elem_size, &q)) != 0)
        goto fail;
    pcq__set_mapping(q, mem, bytes);
    close(fd);
    *out = q;
    return 0;
fail:
    if (mem != MAP_FAILED)
        munmap(mem, bytes);
    shm_unlink(name); /* ours: O_EXCL made it */
    close(fd);
    return rc;
}

int pcq_shm_open(const char *name, pcq_t **out)
{
    if (!name_ok(name) || out == NULL)
        return EINVAL;
    int fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return open_error(errno);
    int rc;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = open_error(errno);
        close(fd);
        return rc;
    }
    /* Too short to hold even a header (empty: being created, or never a
     * queue): what pcq_shared_attach says of a short length. */
    if (st.st_size <= 0 || (uintmax_t)st.st_size > SIZE_MAX) {
        close(fd);
        return st.st_size <= 0 ? EINVAL : EPROTO;
    }
    const size_t len = (size_t)st.st_size;
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    rc = mem == MAP_FAILED ? open_error(errno) : 0;
    close(fd);
    if (rc != 0)
        return rc;
    pcq_t *q;
    if ((rc = pcq_shared_attach(mem, len, &q)) != 0) {
        munmap(mem, len);
        return rc;
    }
    pcq__set_mapping(q, mem, len);
    *out = q;
    return 0;
}

int pcq_shm_unlink(const char *name)
{
    if (!name_ok(name))
        return EINVAL;
    return shm_unlink(name) == 0 ? 0 : open_error(errno);
}
#else
int pcq_shm_create(const char *name, size_t capacity, size_t elem_size, mode_t mode, pcq_t **out)
{
    (void)name, (void)capacity, (void)elem_size, (void)mode, (void)out;
    return ENOTSUP;
}

int pcq_shm_open(const char *name, pcq_t **out)
{
    (void)name, (void)out;
    return ENOTSUP;
}

int pcq_shm_unlink(const char *name)
{
    (void)name;
    return ENOTSUP;
}
#endif

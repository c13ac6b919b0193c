/* Socket reads and writes on the request path without glibc's cancellation
 * handling.  In a process with a second thread (the node's background
 * thread, the proxy's resolver), glibc's read, write, writev, recv and send
 * turn asynchronous thread cancellation on and off around the call: about
 * 60 instructions a request at -P 1 (callgrind), for a feature nothing
 * here uses (no thread is ever cancelled).  syscall(2) makes the same
 * system call without it.  The sanitizer builds keep the libc calls, which
 * their interceptors check. */
#ifndef CACHELY_CORE_SYSIO_H
#define CACHELY_CORE_SYSIO_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SYSIO_LIBC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) \
    || __has_feature(memory_sanitizer)
#define SYSIO_LIBC 1
#endif
#endif

#ifdef SYSIO_LIBC
#define sysio_read(fd, buf, len) read((fd), (buf), (len))
#define sysio_write(fd, buf, len) write((fd), (buf), (len))
#define sysio_writev(fd, iov, n) writev((fd), (iov), (n))
#define sysio_recv(fd, buf, len, fl) recv((fd), (buf), (len), (fl))
#define sysio_send(fd, buf, len, fl) send((fd), (buf), (len), (fl))
#define sysio_sendmsg(fd, msg, fl) sendmsg((fd), (msg), (fl))
#else
#define sysio_read(fd, buf, len) ((ssize_t)syscall(SYS_read, (fd), (buf), (len)))
#define sysio_write(fd, buf, len) ((ssize_t)syscall(SYS_write, (fd), (buf), (len)))
#define sysio_writev(fd, iov, n) ((ssize_t)syscall(SYS_writev, (fd), (iov), (n)))
#define sysio_recv(fd, buf, len, fl) \
    ((ssize_t)syscall(SYS_recvfrom, (fd), (buf), (len), (fl), NULL, NULL))
#define sysio_send(fd, buf, len, fl) \
    ((ssize_t)syscall(SYS_sendto, (fd), (buf), (len), (fl), NULL, 0))
#define sysio_sendmsg(fd, msg, fl) ((ssize_t)syscall(SYS_sendmsg, (fd), (msg), (fl)))
#endif

#endif

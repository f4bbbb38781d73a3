package backup

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// growPipe asks for a 1 MiB pipe buffer (Linux's default is 64 KiB), so
// pg_dump and the job wake each other less often. Failure only costs speed.
func growPipe(r io.Reader) {
	c, ok := r.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20)
	})
}

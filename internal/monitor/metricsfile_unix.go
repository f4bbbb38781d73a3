//go:build unix

package monitor

import (
	"io/fs"
	"os"
	"syscall"
)

const (
	oNoFollow = syscall.O_NOFOLLOW
	// A regular file that became a named pipe since it was looked at
	// does not make the open wait for a writer.
	oNonBlock = syscall.O_NONBLOCK
)

// fileOwner is the uid that owns what st describes.
func fileOwner(st fs.FileInfo) (uid int, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}

// inProc says whether st describes a file in /proc: on its file system.
func inProc(st fs.FileInfo) bool {
	proc, err := os.Stat("/proc")
	if err != nil {
		return false
	}
	a, ok := st.Sys().(*syscall.Stat_t)
	b, ok2 := proc.Sys().(*syscall.Stat_t)
	return ok && ok2 && a.Dev == b.Dev
}

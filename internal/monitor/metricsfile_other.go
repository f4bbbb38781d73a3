//go:build !unix

package monitor

import "io/fs"

const oNoFollow, oNonBlock = 0, 0

// fileOwner does not know owners here: a symbolic link is not followed.
func fileOwner(fs.FileInfo) (uid int, ok bool) { return 0, false }

func inProc(fs.FileInfo) bool { return false }

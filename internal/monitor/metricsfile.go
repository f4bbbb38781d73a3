package monitor

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// METRICS_FILE often names a file in a folder other users may write to
// (/tmp): what the job finds there is trusted only as far as who made it
// is. Whoever could plant a symbolic link or a file there could otherwise
// make the job read any file it may read (a parse error would quote it
// into the log) or replace any file it may write.

// maxMetricsFile bounds what is read of the file there: a textfile
// collector's file is kilobytes, and one this big is not the job's.
const maxMetricsFile = 16 << 20

// maxLinks is how many symbolic links are followed, as the kernel's limit.
const maxLinks = 40

// geteuid is the job's effective uid, which the ownership rules compare
// with; tests replace it to apply them as any user.
var geteuid = os.Geteuid

// metricsTarget is what METRICS_FILE leads to.
type metricsTarget struct {
	path   string      // the file to replace, or to write in place
	st     fs.FileInfo // what is at path; nil: nothing yet
	follow bool        // path is a link in /proc, opened through it
}

// findMetricsFile follows the symbolic links at path one at a time, each
// only when trustLink allows it, and returns where they lead.
func findMetricsFile(path string) (metricsTarget, error) {
	var link string // the last link followed
	var linkSt fs.FileInfo
	for range maxLinks {
		st, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && link != "" && inProc(linkSt):
			// A link the kernel made, /proc/self/fd/1 (where /dev/stdout
			// leads) → pipe:[…], leads to what has no name: it is opened
			// through. No one can plant a name in /proc for it to follow.
			st, err := os.Stat(link)
			return metricsTarget{path: link, st: st, follow: true}, err
		case errors.Is(err, fs.ErrNotExist) && link != "":
			// A dangling link is replaced by the new file, as before.
			return metricsTarget{path: link}, nil
		case errors.Is(err, fs.ErrNotExist):
			return metricsTarget{path: path}, nil
		case err != nil:
			return metricsTarget{}, err
		case st.Mode()&fs.ModeSymlink == 0:
			return metricsTarget{path: path, st: st}, nil
		}
		if err := trustLink(path, st); err != nil {
			return metricsTarget{}, err
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return metricsTarget{}, err
		}
		if !filepath.IsAbs(dest) {
			dest = dirOf(path) + dest
		}
		link, linkSt, path = path, st, dest
	}
	return metricsTarget{}, fmt.Errorf("%s: more than %d symbolic links in a row: not followed", link, maxLinks)
}

// trustLink refuses a symbolic link that neither root nor the job's user
// made. It is the idea of the kernel's fs.protected_symlinks, which in a
// sticky world-writable folder follows a link only for the link's owner
// (or the folder's): in /tmp anyone can plant a link where the job will
// write. Here the rule holds in every folder and whatever the kernel's
// setting, and root counts as the job's own, so that root's /dev/stdout →
// /proc/self/fd/1 (owned by the job's user) keeps working.
func trustLink(path string, st fs.FileInfo) error {
	uid, ok := fileOwner(st)
	switch {
	case !ok:
		return fmt.Errorf("%s is a symbolic link whose owner is unknown: not followed, not replaced", path)
	case uid != 0 && uid != geteuid():
		return fmt.Errorf("%s is a symbolic link made by uid %d, neither root nor this job's uid %d: not followed, not replaced", path, uid, geteuid())
	}
	return nil
}

// readMetricsFile reads the regular file at path through a descriptor
// opened without following a link (one planted since it was looked at),
// so that what is checked is what is read.
func readMetricsFile(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow|oNonBlock, 0)
	if err != nil {
		return nil, nil, linkErr(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s changed while it was being read: not replaced", path)
	}
	if err := checkPlanted(path, st); err != nil {
		return nil, nil, err
	}
	tooBig := fmt.Errorf("%s is larger than 16 MiB, not a metrics file: not replaced", path)
	if st.Size() > maxMetricsFile {
		return nil, nil, tooBig
	}
	// It may grow while it is read.
	data, err := io.ReadAll(io.LimitReader(f, maxMetricsFile+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxMetricsFile {
		return nil, nil, tooBig
	}
	return data, st, nil
}

// checkPlanted refuses a file of someone else in a sticky folder (/tmp):
// anyone may create files there and only their owner may replace them,
// so such a file was planted where the job's file was expected. It is the
// idea of the kernel's fs.protected_regular.
func checkPlanted(path string, st fs.FileInfo) error {
	dir, err := os.Stat(cmp.Or(dirOf(path), "."))
	if err != nil || dir.Mode()&fs.ModeSticky == 0 {
		return err
	}
	if uid, ok := fileOwner(st); !ok || uid != geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not this job's uid %d, in a sticky folder: not read, not replaced", path, uid, geteuid())
	}
	return nil
}

// writeInPlace writes out into what is at t, a named pipe or a device: it
// cannot be replaced, and there is nothing of it to keep.
func writeInPlace(t metricsTarget, out []byte) error {
	flag := os.O_WRONLY
	if !t.follow {
		flag |= oNoFollow
	}
	f, err := os.OpenFile(t.path, flag, 0)
	if err != nil {
		return linkErr(t.path, err)
	}
	st, err := f.Stat()
	if err == nil && st.Mode().IsRegular() {
		// Written in place, a longer file would keep its tail.
		err = fmt.Errorf("%s became a regular file while it was being written: not written", t.path)
	}
	if err == nil {
		_, err = f.Write(out)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile writes out to a new file beside target, created by
// os.CreateTemp (O_EXCL: never a file or link that was there), and
// renames it over target, which replaces the name and follows nothing. A
// failure leaves what was there as it was. asked is the path to name in
// errors.
func replaceFile(asked, target string, perm fs.FileMode, out []byte) error {
	dir := dirOf(target)
	f, err := os.CreateTemp(cmp.Or(dir, "."), "."+target[len(dir):]+".*.part")
	if err != nil {
		// Name the file asked for, not the temporary one.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = &os.PathError{Op: "open", Path: asked, Err: pe.Err}
		}
		return err
	}
	_, err = f.Write(out)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), target)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// dirOf is path's folder with its trailing separator, "" for a bare name.
// It is not cleaned: "a/link/../b" is for the kernel to resolve, which
// knows whether link is a link.
func dirOf(path string) string {
	i := len(path)
	for i > 0 && !os.IsPathSeparator(path[i-1]) {
		i--
	}
	return path[:i]
}

// linkErr says that a link was planted at path since it was looked at,
// which O_NOFOLLOW refuses, rather than "too many levels of symbolic
// links".
func linkErr(path string, err error) error {
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("%s became a symbolic link: not followed, not replaced", path)
	}
	return err
}

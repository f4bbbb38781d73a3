//go:build !linux

package backup

import "os"

// makePrivateDir makes a private folder in tmp. Without flock and inotify
// (see private_linux.go) a later run cannot tell a dead run's folder from
// a live one's, so none is removed by another run.
func makePrivateDir(tmp string) (*privateDir, error) {
	dir, err := os.MkdirTemp(tmp, "iron-streaming-backup-")
	if err != nil {
		return nil, err
	}
	return &privateDir{path: dir}, nil
}

func removeDeadDirs(tmp string) ([]string, error) { return nil, nil }

func (p *passFile) removeAfterRead() (stop func()) { return func() {} }

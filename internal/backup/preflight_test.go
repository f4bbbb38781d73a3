package backup

import (
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

// TestPreflightWriteCheckName: the write check's key is no backup's, and no
// list's prefix can make a backup key that starts like it.
func TestPreflightWriteCheckName(t *testing.T) {
	if b, ok := catalog.ParseKey(writeCheckName); ok {
		t.Errorf("the key grammar reads %q as a backup: %+v", writeCheckName, b)
	}
	for _, p := range []string{writeCheckName, strings.SplitN(writeCheckName, "-", 2)[0]} {
		if pgpass.CheckPrefix(p, nil) == nil {
			t.Errorf("%q is a valid prefix", p)
		}
	}
}

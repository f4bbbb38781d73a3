package backup

import (
	"fmt"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// TestHints: every kind of S3 failure that a setting can cause has a hint
// in the job's settings, and none names a command-line flag.
func TestHints(t *testing.T) {
	noSetting := map[s3stream.Kind]bool{
		s3stream.Unclassified:        true,
		s3stream.NotFound:            true, // an object: verify says which
		s3stream.ChecksumUnsupported: true, // the job has no setting for it
	}
	for k := s3stream.Unclassified; k.String() != "unknown kind"; k++ {
		h, ok := s3Hints[k]
		if noSetting[k] {
			if ok {
				t.Errorf("%v: unexpected hint %q", k, h)
			}
			continue
		}
		if !ok {
			t.Errorf("%v: no hint", k)
		}
		if strings.Contains(h, "--") {
			t.Errorf("%v: the hint names a flag: %q", k, h)
		}
	}
	err := fmt.Errorf("db1: %w", &s3stream.Error{Kind: s3stream.WrongRegion, Region: "eu-west-1"})
	if h := Hint(err); h != "set AWS_REGION=eu-west-1, the bucket's region" {
		t.Errorf("wrong region: %q", h)
	}
	if h := Hint(fmt.Errorf("plain")); h != "" {
		t.Errorf("no kind: %q", h)
	}
}

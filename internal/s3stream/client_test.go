package s3stream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/philips-labs/iron-streaming-backup/internal/cli"
)

// TestBucketRegion asks a server that answers like S3 for a bucket in
// another region: a 301 without body but with x-amz-bucket-region.
func TestBucketRegion(t *testing.T) {
	var anonymous bool
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		anonymous = r.Header.Get("Authorization") == ""
		if r.Method == "HEAD" && strings.HasPrefix(r.URL.Path, "/eu-bucket") {
			w.Header().Set("X-Amz-Bucket-Region", "eu-central-1")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	defer s.Close()
	cfg := aws.Config{BaseEndpoint: aws.String(s.URL)}
	if got := BucketRegion(t.Context(), cfg, "eu-bucket", true); got != "eu-central-1" || !anonymous {
		t.Errorf("region %q (anonymous request: %v), want eu-central-1", got, anonymous)
	}
	if got := BucketRegion(t.Context(), cfg, "other", true); got != "" {
		t.Errorf("region %q for a bucket the server does not place", got)
	}

	// NewClient looks the region up when none is configured.
	t.Setenv("AWS_REGION", "")
	c, err := NewClient(context.Background(), Config{Endpoint: s.URL, Bucket: "eu-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Options().Region; r != "eu-central-1" {
		t.Errorf("client region %q, want eu-central-1", r)
	}
	// A configured region is used as it is.
	t.Setenv("AWS_REGION", "ap-south-1")
	if c, err = NewClient(context.Background(), Config{Endpoint: s.URL, Bucket: "eu-bucket"}); err != nil || c.Options().Region != "ap-south-1" {
		t.Errorf("client region %q (%v), want ap-south-1", c.Options().Region, err)
	}
}

func TestNewClientSettings(t *testing.T) {
	for _, tc := range []struct {
		env   string
		flag  bool
		want  bool
		error string
	}{
		{"", false, false, ""},
		{"", true, true, ""},
		{"true", false, true, ""},
		{"1", false, true, ""},
		{"false", true, true, ""},
		{"yes", false, false, `S3_PATH_STYLE="yes": want true or false`},
	} {
		t.Setenv("S3_PATH_STYLE", tc.env)
		c, err := NewClient(context.Background(), Config{PathStyle: tc.flag})
		if tc.error != "" {
			if err == nil || err.Error() != tc.error {
				t.Errorf("S3_PATH_STYLE=%q: error %v, want %q", tc.env, err, tc.error)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		o := c.Options()
		if o.UsePathStyle != tc.want {
			t.Errorf("S3_PATH_STYLE=%q, flag %v: path style %v, want %v", tc.env, tc.flag, o.UsePathStyle, tc.want)
		}
		if o.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired || o.ResponseChecksumValidation != aws.ResponseChecksumValidationWhenRequired {
			t.Errorf("checksums %v/%v, want only when required", o.RequestChecksumCalculation, o.ResponseChecksumValidation)
		}
	}
	for _, ep := range []string{"127.0.0.1:9000", "ftp://x", "http://"} {
		if _, err := NewClient(context.Background(), Config{Endpoint: ep}); err == nil || !strings.Contains(err.Error(), "invalid endpoint") {
			t.Errorf("endpoint %q: %v", ep, err)
		}
	}
}

// TestNewClientNoRegion fails without a region for AWS itself, where no
// default region is safe.
func TestNewClientNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	_, err := NewClient(context.Background(), Config{})
	if err == nil || err.Error() != "no AWS region configured" {
		t.Fatalf("error %v, want no AWS region configured", err)
	}
	if h := cli.Hints(err); len(h) != 1 || h[0] != "set --region or AWS_REGION" {
		t.Errorf("hints %q", h)
	}
}

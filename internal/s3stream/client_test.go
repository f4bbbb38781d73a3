package s3stream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	// NewClient reads no S3_PATH_STYLE: the commands and the job do.
	t.Setenv("S3_PATH_STYLE", "true")
	for _, flag := range []bool{false, true} {
		c, err := NewClient(context.Background(), Config{PathStyle: flag})
		if err != nil {
			t.Fatal(err)
		}
		o := c.Options()
		if o.UsePathStyle != flag {
			t.Errorf("PathStyle %v: path style %v", flag, o.UsePathStyle)
		}
		if o.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired || o.ResponseChecksumValidation != aws.ResponseChecksumValidationWhenRequired {
			t.Errorf("checksums %v/%v, want only when required", o.RequestChecksumCalculation, o.ResponseChecksumValidation)
		}
	}
	for _, ep := range []string{"127.0.0.1:9000", "ftp://x", "http://"} {
		if _, err := NewClient(context.Background(), Config{Endpoint: ep}); err == nil || !strings.Contains(err.Error(), "invalid endpoint") || KindOf(err) != InvalidEndpoint {
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
	if k := KindOf(err); k != NoRegion {
		t.Errorf("kind %v, want %v", k, NoRegion)
	}
}

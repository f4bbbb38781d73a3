package testenv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// TestS3Users: a gateway with accounts refuses a user what the bucket's
// policy does not allow it, with the gateway's own AccessDenied, and
// allows what it does.
func TestS3Users(t *testing.T) {
	ctx := t.Context()
	gw, err := testenv.StartS3With(ctx, testenv.S3Options{Users: true}, "granted")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()
	if _, err := gw.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("granted"), Key: aws.String("there"), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	reader, err := gw.AddUser(ctx, "reader")
	if err != nil {
		t.Fatal(err)
	}
	writer, err := gw.AddUser(ctx, "writer")
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := gw.AddUser(ctx, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Grant(ctx, "granted",
		testenv.Grant{User: reader, Actions: []string{"s3:ListBucket", "s3:GetObject"}},
		testenv.Grant{User: writer, Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload"}},
	); err != nil {
		t.Fatal(err)
	}

	b := aws.String("granted")
	ops := map[string]func(c *s3.Client) error{
		"list": func(c *s3.Client) error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
			return err
		},
		"get": func(c *s3.Client) error {
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("there")})
			return err
		},
		"put": func(c *s3.Client) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("new"), Body: bytes.NewReader([]byte("y"))})
			return err
		},
		"multipart": func(c *s3.Client) error {
			out, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("mp")})
			if err != nil {
				return err
			}
			_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("mp"), UploadId: out.UploadId})
			return err
		},
	}
	for _, tc := range []struct {
		user    *testenv.S3User
		allowed map[string]bool
	}{
		{reader, map[string]bool{"list": true, "get": true}},
		{writer, map[string]bool{"put": true, "multipart": true}},
		{nobody, map[string]bool{}},
	} {
		c := tc.user.Client()
		for name, op := range ops {
			err := op(c)
			var ae smithy.APIError
			// A HEAD's answer has no body: 403 with no code.
			denied := errors.As(err, &ae) && (ae.ErrorCode() == "AccessDenied" || name == "get" && ae.ErrorCode() == "Forbidden")
			switch {
			case tc.allowed[name] && err != nil:
				t.Errorf("%s may %s, but: %v", tc.user.AccessKey, name, err)
			case !tc.allowed[name] && !denied:
				t.Errorf("%s may not %s, but the answer was %v, not AccessDenied", tc.user.AccessKey, name, err)
			}
		}
	}
}

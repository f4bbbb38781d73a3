package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3User is an account of a gateway started with S3Options.Users, other
// than root: its keys, and where the gateway is.
type S3User struct {
	Endpoint  string
	Region    string
	AccessKey string
	SecretKey string
}

// AddUser adds an account with the gateway's role "user", named by its
// access key ID name. Such an account may do nothing in a bucket it does
// not own until the bucket's policy allows it (Grant); with a policy, the
// bucket's ACL no longer counts for it.
//
// The account is added through the gateway's admin API (what 'versitygw
// admin create-user' sends), signed with root's keys: the admin command
// takes the new secret only as a flag, and secrets stay out of argv.
func (s *S3Server) AddUser(ctx context.Context, name string) (*S3User, error) {
	secret := make([]byte, 16)
	rand.Read(secret)
	u := &S3User{Endpoint: s.Endpoint, Region: s.Region, AccessKey: name, SecretKey: hex.EncodeToString(secret)}
	// The gateway's auth.Account, as XML with Go's default element names.
	body, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"Account"`
		Access  string
		Secret  string
		Role    string
	}{Access: u.AccessKey, Secret: u.SecretKey, Role: "user"})
	if err != nil {
		return nil, err
	}
	if err := s.admin(ctx, "/create-user", body); err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u, nil
}

// admin sends a request of the gateway's admin API (PATCH, signed as an S3
// request) and returns its error answer as an error.
func (s *S3Server) admin(ctx context.Context, path string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "s3", s.Region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

// Grant is what a bucket policy allows one user.
type Grant struct {
	User    *S3User
	Actions []string // "s3:PutObject", …
}

// Grant sets bucket's policy (replacing any) to allow each grant's user its
// actions on the bucket and every object in it, and nothing else: the
// gateway denies a user what no statement allows. It is set with root's
// keys, through the S3 API.
func (s *S3Server) Grant(ctx context.Context, bucket string, grants ...Grant) error {
	type statement struct {
		Effect    string
		Principal map[string][]string
		Action    []string
		Resource  []string
	}
	policy := struct {
		Version   string
		Statement []statement
	}{Version: "2012-10-17"}
	for _, g := range grants {
		if g.User == nil || len(g.Actions) == 0 {
			return errors.New("grant: a user and at least one action")
		}
		policy.Statement = append(policy.Statement, statement{
			Effect:    "Allow",
			Principal: map[string][]string{"AWS": {g.User.AccessKey}},
			Action:    g.Actions,
			Resource:  []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"},
		})
	}
	doc, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	if _, err := s.Client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(doc))}); err != nil {
		return fmt.Errorf("policy of bucket %s: %w", bucket, err)
	}
	return nil
}

// Client returns a path-style S3 client that signs with the user's keys.
func (u *S3User) Client() *s3.Client {
	return newClient(u.Endpoint, u.Region, u.AccessKey, u.SecretKey)
}

// Env is the standard AWS environment of a program that uses the user's
// keys.
func (u *S3User) Env() []string { return awsEnv(u.Endpoint, u.Region, u.AccessKey, u.SecretKey) }

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

const (
	bucket     = "matrix"
	lockBucket = "matrix-lock"
)

// store is one S3 implementation, with a bucket and an Object Lock bucket.
type store struct {
	ctx     context.Context
	name    string
	srv     *testenv.S3Server
	client  *s3.Client
	results map[string]cell // by feature
}

func (m *matrix) startStores() error {
	start := time.Now()
	v, err := testenv.StartS3(m.ctx, bucket)
	if err != nil {
		return err
	}
	if err := v.CreateLockBucket(m.ctx, v.Client(), lockBucket); err != nil {
		return err
	}
	mi, err := testenv.StartMinIO(m.ctx, m.minio, []string{bucket}, []string{lockBucket})
	if err != nil {
		return err
	}
	minioName := "MinIO"
	if m.minioVersion != "" {
		minioName += " " + m.minioVersion
	}
	m.stores = []*store{
		{name: "Versity S3 gateway " + testenv.VersityVersion + " (posix)", srv: v},
		{name: minioName + " (one drive)", srv: mi},
	}
	for _, st := range m.stores {
		st.ctx = m.ctx
		st.client = st.srv.Client()
		st.results = map[string]cell{}
	}
	say("started the Versity S3 gateway at %s and MinIO at %s (%v)", v.Endpoint, mi.Endpoint, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// keys lists the keys of the bucket that start with prefix.
func (st *store) keys(prefix string) ([]string, error) {
	return st.keysIn(bucket, prefix)
}

func (st *store) keysIn(b, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(st.client, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(st.ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// The store features, in the table's order.
var features = []string{
	"backup (`DUMP_GLOBALS=true`), twice",
	"`verify`",
	"`s3put` / `s3get`, 40 MiB in parts",
	"`s3put --no-clobber` (`If-None-Match: *`)",
	"`prune` (`KEEP_LAST=1`, `DeleteObjects`)",
	"`S3_CHECKSUM=when_required`",
	"Object Lock (GOVERNANCE, 2 days), `verify -require-lock 1`",
}

// storeCells runs every feature on every store, with the job's host
// clients against the server of their major.
func (m *matrix) storeCells() error {
	var pg *pgServer
	for _, s := range m.servers {
		if slices.Contains(m.clientSets[0].majors, s.major) {
			pg = s
		}
	}
	if pg == nil {
		return fmt.Errorf("no server of the host's pg_dump majors (%s) for the store cells", joinInts(m.clientSets[0].majors))
	}
	for i, st := range m.stores {
		prefix := fmt.Sprintf("store%d", i)
		f := func(n int, c cell) { st.results[features[n]] = m.record(st.name+" × "+features[n], c) }
		job := func(p string, more ...string) (testenv.Result, error) {
			return m.jobOnHost(pg, st, m.jobEnv(pg, st, p, more...))
		}
		tool := func(name string, stdin []byte, args ...string) (testenv.Result, error) {
			return m.command(append(st.srv.Env(), "S3_PATH_STYLE=true", "ISB_ENC_PASS="+m.encPass), stdin, binary(m.bin, name), args...)
		}

		// The job, twice (a second apart: keys name the second).
		var c cell
		for n := 0; n < 2 && (n == 0 || c.ok); n++ {
			if n > 0 {
				time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
			}
			c = m.jobCell(job(prefix))
		}
		f(0, c)

		r, err := m.command(m.jobEnv(pg, st, prefix), nil, binary(m.bin, "iron-streaming-backup"), "verify")
		f(1, exitCell(r, err, "verified the newest backup"))

		f(2, m.roundTrip(st, tool))
		f(3, m.noClobber(st, tool))

		r, err = m.command(m.jobEnv(pg, st, prefix, "KEEP_LAST=1"), nil, binary(m.bin, "iron-streaming-backup"), "prune")
		c = exitCell(r, err, "")
		if c.ok {
			keys, err := st.keys(prefix + "-")
			switch {
			case err != nil:
				c = cell{err.Error(), false}
			case len(keys) != 4: // the newest dump, its globals, and their manifests
				c = cell{fmt.Sprintf("kept %d objects, not the newest backup's 4: %v", len(keys), keys), false}
			default:
				c = cell{"deleted the older backup's 4 objects in one request", true}
				if strings.Contains(r.Output(), "one key at a time") {
					c.text = "deleted the older backup's 4 objects, one DELETE each"
				}
			}
		}
		f(4, c)

		c = m.jobCell(job(prefix+"-md5", "S3_CHECKSUM=when_required"))
		f(5, c)

		f(6, m.lockCell(st, pg, prefix+"-lock"))
	}
	return nil
}

// jobCell is the outcome of a job run.
func (m *matrix) jobCell(r testenv.Result, err error) cell {
	if err != nil {
		return cell{err.Error(), false}
	}
	if r.Code != 0 {
		return cell{fmt.Sprintf("exit %d: %s", r.Code, testenv.LastLines(r.Output(), 3)), false}
	}
	return cell{"backed up", true}
}

func exitCell(r testenv.Result, err error, text string) cell {
	if err != nil {
		return cell{err.Error(), false}
	}
	if r.Code != 0 {
		return cell{fmt.Sprintf("exit %d: %s", r.Code, testenv.LastLines(r.Output(), 3)), false}
	}
	return cell{text, true}
}

// roundTrip uploads 40 MiB of random bytes with s3put (parts of 8 MiB and
// up, two at once) and reads them back with s3get.
func (m *matrix) roundTrip(st *store, tool func(string, []byte, ...string) (testenv.Result, error)) cell {
	data := make([]byte, 40<<20)
	rand.Read(data)
	r, err := tool("s3put", data, "-q", "-c", "2", "s3://"+bucket+"/roundtrip.bin")
	if c := exitCell(r, err, ""); !c.ok {
		return cell{"s3put: " + c.text, false}
	}
	r, err = tool("s3get", nil, "-q", "s3://"+bucket+"/roundtrip.bin")
	if c := exitCell(r, err, ""); !c.ok {
		return cell{"s3get: " + c.text, false}
	}
	if sha256.Sum256([]byte(r.Stdout)) != sha256.Sum256(data) {
		return cell{fmt.Sprintf("s3get returned %d bytes that differ from the 40 MiB s3put sent", len(r.Stdout)), false}
	}
	return cell{"equal", true}
}

// noClobber writes a key with s3put --no-clobber, then again: the second
// must be refused and leave the first.
func (m *matrix) noClobber(st *store, tool func(string, []byte, ...string) (testenv.Result, error)) cell {
	key := "s3://" + bucket + "/noclobber.txt"
	r, err := tool("s3put", []byte("first\n"), "-q", "--no-clobber", key)
	if c := exitCell(r, err, ""); !c.ok {
		return cell{"first s3put: " + c.text, false}
	}
	r, err = tool("s3put", []byte("second\n"), "-q", "--no-clobber", key)
	if err != nil {
		return cell{err.Error(), false}
	}
	if r.Code == 0 {
		return cell{"the second s3put --no-clobber replaced the object", false}
	}
	got, err := tool("s3get", nil, "-q", key)
	if err != nil || got.Code != 0 || got.Stdout != "first\n" {
		return cell{fmt.Sprintf("after the refused write the object reads %q (%v)", got.Stdout, err), false}
	}
	return cell{fmt.Sprintf("refused (exit %d), the first object kept", r.Code), true}
}

// lockCell backs up into the Object Lock bucket with a lock, and checks it
// with verify -require-lock and a HEAD of the object.
func (m *matrix) lockCell(st *store, pg *pgServer, prefix string) cell {
	env := m.jobEnv(pg, st, prefix, "OBJECT_LOCK_MODE=GOVERNANCE", "OBJECT_LOCK_DAYS=2")
	for i, e := range env {
		if strings.HasPrefix(e, "S3_BUCKET=") {
			env[i] = "S3_BUCKET=" + lockBucket
		}
	}
	r, err := m.command(env, nil, binary(m.bin, "iron-streaming-backup"))
	if c := exitCell(r, err, ""); !c.ok {
		return cell{"backup: " + c.text, false}
	}
	r, err = m.command(env, nil, binary(m.bin, "iron-streaming-backup"), "verify", "-require-lock", "1")
	if c := exitCell(r, err, ""); !c.ok {
		return cell{"verify: " + c.text, false}
	}
	keys, err := st.keysIn(lockBucket, prefix+"-")
	if err != nil {
		return cell{err.Error(), false}
	}
	for _, k := range keys {
		h, err := st.client.HeadObject(st.ctx, &s3.HeadObjectInput{Bucket: aws.String(lockBucket), Key: aws.String(k)})
		if err != nil {
			return cell{err.Error(), false}
		}
		if h.ObjectLockRetainUntilDate == nil || h.ObjectLockRetainUntilDate.Before(time.Now().Add(47*time.Hour)) {
			return cell{fmt.Sprintf("%s is not locked for two days", filepath.Base(k)), false}
		}
	}
	if len(keys) != 4 {
		return cell{fmt.Sprintf("%d objects, not 4: %v", len(keys), keys), false}
	}
	return cell{"all 4 objects locked; verify -require-lock passes", true}
}

// table is the matrix in Markdown.
func (m *matrix) table(took time.Duration) string {
	var b strings.Builder
	host, _ := os.ReadFile("/etc/debian_version")
	fmt.Fprintf(&b, "Measured by `make matrix-test` on %s (host Debian %s), in %v.\n\n", time.Now().UTC().Format("2006-01-02"), strings.TrimSpace(string(host)), took.Round(time.Second))
	fmt.Fprintf(&b, "### PostgreSQL servers and clients\n\n")
	fmt.Fprintf(&b, "Each server runs Debian's own packages of the suite named (its main archive, without the security archive's updates). The job backs up a sample database (a schema owned by a role, a sequence, a generated column, a large object) with `DUMP_GLOBALS=true`; the cell names the pg_dump it chose. The backup is restored where it was made, with that client set's psql, into a fresh server of the same major: the globals with `s3get | osslenc -d | gzip -d | psql` (the one error allowed: role postgres exists, as [Roles: the globals](docs/restore.md#roles-the-globals) says), then the dump with `psql -v ON_ERROR_STOP=1`; pg_dump of source and restored must be equal (without its `\\restrict` lines).\n\n")
	fmt.Fprintf(&b, "| server |")
	for _, cs := range m.clientSets {
		fmt.Fprintf(&b, " %s |", columnName(cs))
	}
	fmt.Fprintf(&b, "\n|---|")
	for range m.clientSets {
		fmt.Fprintf(&b, "---|")
	}
	fmt.Fprintln(&b)
	for _, s := range m.servers {
		fmt.Fprintf(&b, "| %s (%s) |", s.version, s.suite)
		for _, c := range s.cells {
			fmt.Fprintf(&b, " %s |", mark(c))
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "\n### S3 stores\n\n")
	fmt.Fprintf(&b, "| feature |")
	for _, st := range m.stores {
		fmt.Fprintf(&b, " %s |", st.name)
	}
	fmt.Fprintf(&b, "\n|---|")
	for range m.stores {
		fmt.Fprintf(&b, "---|")
	}
	fmt.Fprintln(&b)
	for _, f := range features {
		fmt.Fprintf(&b, "| %s |", f)
		for _, st := range m.stores {
			fmt.Fprintf(&b, " %s |", mark(st.results[f]))
		}
		fmt.Fprintln(&b)
	}
	return b.String()
}

func columnName(cs clientSet) string {
	switch cs.name {
	case "host":
		return "host clients (" + cs.summary + ")"
	case "image":
		return "the image, `PG_CLIENT_SOURCE=debian` (" + cs.summary + ")"
	}
	return "the server's suite's clients"
}

func mark(c cell) string {
	text := strings.ReplaceAll(c.text, "|", `\|`)
	if !c.ok {
		return "**FAIL**: " + text
	}
	return text
}

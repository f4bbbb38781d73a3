package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// Backup is one backup found in the bucket: its dump object, and the
// objects stored beside it (Companions).
type Backup struct {
	Prefix      string
	Key         string
	Time        time.Time // from the name: when the backup started (UTC)
	Size        int64
	Compression string // from the name: a compression's name (codec.go)
	Format      string // from the name: a format's name
	Encryption  string // from the name: an encryption's name
	HasManifest bool
	// Mismatch says how the manifest of the object does not describe it
	// (manifestMismatch); "" when it does, when it has none, or when the
	// manifests were not read (CheckManifests).
	Mismatch string
	// Companion is, for a companion object, its name (codec.go); "" for
	// a dump.
	Companion string
	// Companions are the companion objects of a dump with the same prefix
	// and time, in the order of codec.go's table.
	Companions []Backup
}

// Alone reports whether b is a companion that is a backup of its own: the
// globals of a '*' line, stored under the line's prefix, newer than any
// dump there (see Leftover). Key is then the companion's object.
func (b Backup) Alone() bool { return b.Companion != "" }

// Catalog lists the backups under folder (the key prefix, "" or ending in
// "/") in bucket, newest first within each prefix; only, when not empty,
// keeps that prefix's. A companion object is listed with its dump (in
// Companions); one whose dump is missing is not listed, unless it is newer
// than every dump of its prefix and its kind may stand alone (a '*'
// line's globals: Backup.Alone).
func Catalog(ctx context.Context, client *s3.Client, bucket, folder, only string) (map[string][]Backup, error) {
	inv, err := inventory(ctx, client, bucket, folder, only)
	if err != nil {
		return nil, err
	}
	out := map[string][]Backup{}
	for p, h := range inv {
		if len(h.Backups) > 0 {
			out[p] = h.Backups
		}
	}
	return out, nil
}

// listError is the error of a listing under listPrefix that failed: one
// line, classified (s3stream.Describe), and a refusal says that the
// credentials may not list, naming the permission.
func listError(bucket, listPrefix string, err error) error {
	err = s3stream.NeedsPermission(s3stream.Describe("listing", bucket, listPrefix, err), "s3:ListBucket")
	if k := s3stream.KindOf(err); k == s3stream.AccessDenied || k == s3stream.Forbidden {
		return fmt.Errorf("%w: the credentials may not list the bucket (s3:ListBucket)", err)
	}
	return err
}

// A Leftover is an object of the job's that lost the object it belongs to:
// a manifest whose object is gone (a prune interrupted between the two
// deletes), or a companion whose dump is gone (or never came: a run that
// was killed). Prune removes them; list and verify do not show them.
//
// A companion is a leftover only when its prefix has a dump newer than
// it. The job stores a dump's companions after the dump, and prune
// deletes them after it, never the newest dump with a manifest: the
// companions that lost their dumps are older than the prefix's newest
// dump. A globals object newer than every dump of its prefix (a prefix
// without any is a '*' line's: the list reserves it) is a '*' line's,
// a backup of its own (Backup.Alone), which only the retention rules
// delete. Dumps that come under a line's prefix later (the list changed,
// or someone else wrote there) make its older globals look like
// leftovers: prune reads their manifests and keeps them
// (Pruner.Prune).
type Leftover struct {
	Key  string
	Time time.Time // from the name
	// Manifest: the leftover is a manifest; otherwise it is a companion
	// object, and HasManifest says whether its manifest exists.
	Manifest    bool
	HasManifest bool
}

// holding is what one prefix has under the folder: its backups, newest
// first, and its leftovers.
type holding struct {
	Backups   []Backup
	Leftovers []Leftover
}

// inventory reads the keys under folder that the key grammar (ParseKey)
// names, by prefix; only, when not empty, keeps that prefix's. Keys in a
// deeper folder, keys of another prefix that starts the same ("db10-…"
// for "db1") and names that are not the job's are never in it.
func inventory(ctx context.Context, client *s3.Client, bucket, folder, only string) (map[string]*holding, error) {
	listPrefix := folder
	if only != "" {
		listPrefix += only + "-"
	}
	manifests := map[string]bool{}
	var found []Backup
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(listPrefix)})
	tokens := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, listError(bucket, listPrefix, err)
		}
		// The paginator ends quietly there; part of a listing would
		// show old backups as the newest, and retention decide on them.
		if aws.ToBool(page.IsTruncated) && aws.ToString(page.NextContinuationToken) == "" {
			return nil, fmt.Errorf("listing s3://%s/%s: the store says more keys follow but gives no continuation token", bucket, listPrefix)
		}
		// And with a token it gave before, it would list for ever.
		if tok := aws.ToString(page.NextContinuationToken); tok != "" {
			if tokens[tok] {
				return nil, fmt.Errorf("listing s3://%s/%s: the store gave the same continuation token twice", bucket, listPrefix)
			}
			tokens[tok] = true
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			name := strings.TrimPrefix(key, folder)
			if strings.Contains(name, "/") {
				continue // a deeper folder is not ours
			}
			if strings.HasSuffix(name, s3stream.ManifestSuffix) {
				manifests[strings.TrimSuffix(key, s3stream.ManifestSuffix)] = true
				continue
			}
			b, ok := ParseKey(name)
			if !ok || (only != "" && b.Prefix != only) {
				continue
			}
			b.Key, b.Size = key, aws.ToInt64(o.Size)
			found = append(found, b)
		}
	}
	type when struct {
		prefix string
		t      time.Time
	}
	out := map[string]*holding{}
	of := func(prefix string) *holding {
		if out[prefix] == nil {
			out[prefix] = &holding{}
		}
		return out[prefix]
	}
	objects := map[string]bool{}
	dumps := map[when]bool{}
	newestDump := map[string]time.Time{} // by prefix
	companionsOf := map[when][]Backup{}
	for _, b := range found {
		objects[b.Key] = true
		if b.Companion != "" {
			b.HasManifest = manifests[b.Key]
			w := when{b.Prefix, b.Time}
			companionsOf[w] = append(companionsOf[w], b)
		} else {
			dumps[when{b.Prefix, b.Time}] = true
			if b.Time.After(newestDump[b.Prefix]) {
				newestDump[b.Prefix] = b.Time
			}
		}
	}
	for _, b := range found {
		if b.Companion != "" {
			if k, _ := CompanionNamed(b.Companion); k.Alone && b.Time.After(newestDump[b.Prefix]) {
				b.HasManifest = manifests[b.Key]
				of(b.Prefix).Backups = append(of(b.Prefix).Backups, b)
				continue
			}
			if !dumps[when{b.Prefix, b.Time}] {
				of(b.Prefix).Leftovers = append(of(b.Prefix).Leftovers, Leftover{Key: b.Key, Time: b.Time, HasManifest: manifests[b.Key]})
			}
			continue
		}
		b.HasManifest = manifests[b.Key]
		b.Companions = companionsOf[when{b.Prefix, b.Time}]
		sort.Slice(b.Companions, func(i, j int) bool { return b.Companions[i].Key < b.Companions[j].Key })
		of(b.Prefix).Backups = append(of(b.Prefix).Backups, b)
	}
	for m := range manifests {
		if objects[m] {
			continue
		}
		b, ok := ParseKey(strings.TrimPrefix(m, folder))
		if !ok || (only != "" && b.Prefix != only) {
			continue
		}
		of(b.Prefix).Leftovers = append(of(b.Prefix).Leftovers, Leftover{Key: s3stream.ManifestKey(m), Time: b.Time, Manifest: true})
	}
	for _, h := range out {
		bs := h.Backups
		sort.Slice(bs, func(i, j int) bool {
			if !bs[i].Time.Equal(bs[j].Time) {
				return bs[i].Time.After(bs[j].Time)
			}
			return bs[i].Key > bs[j].Key
		})
		sort.Slice(h.Leftovers, func(i, j int) bool { return h.Leftovers[i].Key < h.Leftovers[j].Key })
	}
	return out, nil
}

// MaxClockSkew is how far ahead of this machine's clock a backup's time
// may be before the backup counts as dated in the future (clock skew on
// the machine that made it, or an object copied under a made-up name).
const MaxClockSkew = 5 * time.Minute

// Future reports whether b is dated more than MaxClockSkew after now. Such
// a backup is never taken as the newest: it would hide backups that
// stopped.
func (b Backup) Future(now time.Time) bool { return b.Time.After(now.Add(MaxClockSkew)) }

// Mismatched says how the manifest of b, or of one of its Companions, does
// not describe its object; "" when none is known not to. Such a backup
// is not what its name says: a copy under another name, or an object
// that changed since its manifest was written.
func (b Backup) Mismatched() string {
	if b.Mismatch != "" {
		return b.Mismatch
	}
	for _, c := range b.Companions {
		if c.Mismatch != "" {
			return c.Companion + " " + c.Key + ": " + c.Mismatch
		}
	}
	return ""
}

// manifestReaders is how many manifests are read at once: years of daily
// backups in seconds, without a burst a store would throttle.
const manifestReaders = 16

// A ManifestRead is the manifest of an object and the job's facts in it
// (nil in a manifest without them, such as s3put's).
type ManifestRead struct {
	M    *s3stream.Manifest
	Info *Info // its "backup" object; nil when it has none
}

// CheckManifests reads the manifests of the backups (and of their
// Companions) that have one, and sets each object's Mismatch. A name alone
// proves nothing: anyone who may write to the bucket can copy an old
// backup with its manifest under a newer name, and only the manifest
// tells. A manifest that cannot be read is an error, never taken as a
// match or a mismatch; one that is gone since the listing is none.
func CheckManifests(ctx context.Context, client *s3.Client, bucket string, backups ...[]Backup) error {
	_, err := ReadManifests(ctx, client, bucket, backups...)
	return err
}

// ReadManifests is CheckManifests, and returns the manifests it read by
// the key of their object.
func ReadManifests(ctx context.Context, client *s3.Client, bucket string, backups ...[]Backup) (map[string]ManifestRead, error) {
	// Two dumps of one second share their Companions (the same
	// elements): each object is read once.
	var objs []*Backup
	seen := map[string]bool{}
	add := func(b *Backup) {
		if b.HasManifest && !seen[b.Key] {
			seen[b.Key] = true
			objs = append(objs, b)
		}
	}
	for _, bs := range backups {
		for i := range bs {
			add(&bs[i])
			for j := range bs[i].Companions {
				add(&bs[i].Companions[j])
			}
		}
	}
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	read := map[string]ManifestRead{}
	sem := make(chan struct{}, manifestReaders)
	for _, b := range objs {
		sem <- struct{}{}
		if readCtx.Err() != nil {
			break // failed, or interrupted: the rest is not read
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m, err := s3stream.ReadManifest(readCtx, client, bucket, b.Key)
			if errors.Is(err, s3stream.ErrNoManifest) {
				return
			}
			var info *Info
			if err == nil {
				info, err = manifestInfo(b.Key, m)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel() // the others' answers no longer matter
				}
				return
			}
			b.Mismatch = manifestMismatch(*b, m, info)
			read[b.Key] = ManifestRead{m, info}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // interrupted before all were read
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return read, nil
}

// manifestInfo is the job's facts in m, the manifest of key; nil when it
// has none.
func manifestInfo(key string, m *s3stream.Manifest) (*Info, error) {
	if len(m.Backup) == 0 {
		return nil, nil
	}
	info := &Info{}
	if err := json.Unmarshal(m.Backup, info); err != nil {
		return nil, fmt.Errorf("manifest of %s: %v", key, err)
	}
	return info, nil
}

// manifestMismatch says how m, read as the manifest of b's object, does not
// describe it: it names another object (ManifestNames), or another size
// than the listing's. "" when it describes it.
func manifestMismatch(b Backup, m *s3stream.Manifest, info *Info) string {
	if why := ManifestNames(b, m, info); why != "" {
		return why
	}
	if m.Size != b.Size {
		return fmt.Sprintf("its manifest says %d bytes, the object has %d", m.Size, b.Size)
	}
	return ""
}

// ManifestNames says which other object m, read as the manifest of b's
// object, describes; "" when it describes b's. The keys are compared by
// their last part, the name, so that backups moved to another folder (a
// new S3_PREFIX) or replicated to another bucket keep their manifests.
// The job's manifests also hold the start time (info; s3put's do not),
// which the time in the name must match within MaxClockSkew; a companion
// is written after its dump, with the dump's time in its name, so it
// started no earlier than that; a '*' line's globals (database "*") have
// their own start time in their name, as a dump has.
func ManifestNames(b Backup, m *s3stream.Manifest, info *Info) string {
	same := baseName(m.Key) == baseName(b.Key)
	if info != nil {
		early := info.Started.Before(b.Time.Add(-MaxClockSkew))
		late := (b.Companion == "" || info.Database == "*") && info.Started.After(b.Time.Add(MaxClockSkew))
		same = same && !early && !late
	}
	if same {
		return ""
	}
	what := m.Key
	if what == "" {
		what = "an object without a key"
	}
	if info == nil {
		return "its manifest describes " + what
	}
	return fmt.Sprintf("its manifest describes %s, started %s UTC", what, info.Started.UTC().Format("2006-01-02 15:04:05"))
}

// baseName is the part of key after its last "/".
func baseName(key string) string { return key[strings.LastIndex(key, "/")+1:] }

// Age Formats how long ago t was, coarsely: "3h12m", "2d04h"; a time
// ahead of now is "in " and how far ahead.
func Age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + Age(t, now)
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

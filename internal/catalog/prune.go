package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/philips-labs/iron-streaming-backup/internal/s3stream"
)

// Pruner deletes, one prefix at a time, the backups the retention rules do
// not keep. Its only candidates are the keys ParseKey names for that
// prefix directly under Folder (see inventory): the backups' objects, their
// Companions and manifests, and leftovers of those.
type Pruner struct {
	Client *s3.Client
	Bucket string
	Folder string // S3_PREFIX: "" or ending in "/"
	Rules  Rules
	DryRun bool // decide and report, delete nothing
	Log    PruneLog

	// Now is the clock that tells a backup dated in the future; nil is
	// time.Now.
	Now func() time.Time
}

// keepLeftover reads the manifest of a companion that looks like a
// leftover, and says whether it is one prune must keep: a '*' line's
// globals (database "*") under a prefix that also holds dumps, newer ones
// (the list was changed, or someone else wrote there), or one whose
// manifest cannot be read. The log says why.
func (p *Pruner) keepLeftover(ctx context.Context, prefix, key string) bool {
	m, err := s3stream.ReadManifest(ctx, p.Client, p.Bucket, key)
	if errors.Is(err, s3stream.ErrNoManifest) {
		return false
	}
	var info *Info
	if err == nil {
		info, err = manifestInfo(key, m)
	}
	switch {
	case err != nil:
		p.Log.PruneKeptLeftover(prefix, p.Bucket, key, fmt.Sprintf("its manifest could not be read (%v)", err))
	case info != nil && info.Database == "*":
		p.Log.PruneKeptLeftover(prefix, p.Bucket, key, "the globals of a '*' line, which the newer dumps of this prefix do not own: give the '*' line a prefix of its own, or delete them by hand")
	default:
		return false
	}
	return true
}

// PruneLog is told what a prune decides and does, as it happens.
type PruneLog interface {
	// PruneKeptLeftover: the object at key looks like a leftover, but
	// why says what keeps it (keepLeftover).
	PruneKeptLeftover(prefix, bucket, key, why string)
	PruneDelete(prefix, bucket string, d Decision, dry bool)
	PruneKept(prefix, bucket string, d Decision, dry bool)
	PruneRefused(prefix, bucket, key, reason string)
	// PruneLocked: the rules do not keep the backup (or leftover) at key,
	// and its object lock does: it stays, and is no failure.
	PruneLocked(prefix, bucket, key string, l s3stream.Lock, dry bool)
	// PruneOneByOne: the store did not take DeleteObjects (why says
	// what it answered), and the keys are deleted one by one; told once
	// a prune.
	PruneOneByOne(prefix, bucket, why string)
	Pruned(r PruneResult, rules Rules, dry bool)
}

// maxDeleteBatch is the most keys one DeleteObjects request may name.
const maxDeleteBatch = 1000

// PruneResult is what a prune of one prefix did (or, with DryRun, would do).
type PruneResult struct {
	Prefix    string
	Decisions []Decision // newest first
	Kept      int        // backups kept
	Deleted   int        // backups whose object was deleted
	Leftovers int        // leftovers deleted
	Refused   []Refusal  // deletes the store refused; those objects stay
	// Locked are the backups and leftovers the rules would delete whose
	// object lock (or legal hold) keeps them: they stay, with what
	// belongs to them, and are not tried.
	Locked []LockedObject
	// Keys are the keys deleted (with DryRun: that a prune would delete),
	// in the order of the deletes.
	Keys []string
	// OneByOne: the store did not take DeleteObjects, and the keys were
	// deleted with one request each.
	OneByOne bool
}

// A LockedObject is an object that its lock keeps.
type LockedObject struct {
	Key  string
	Lock s3stream.Lock
}

// A Refusal is a delete the store refused (Object Lock, a policy without
// s3:DeleteObject), with its reason.
type Refusal struct {
	Key    string
	Reason string
}

// Prune applies the rules to the backups of prefix. committed, when not
// empty, is the key of the backup this run just committed with its
// manifest: unless the listing shows both, nothing is deleted, and that
// backup is kept whatever else the bucket holds (ReasonThisRun).
//
// The manifests of the prefix's backups are read first (CheckManifests):
// a backup whose manifest describes another object is left alone
// (ReasonMismatch), and one that cannot be read deletes nothing.
//
// The object of a backup goes first; then its Companions and its
// manifest; then the Companions' manifests. A prune cut short leaves
// either a whole backup or leftovers (Leftover), which the next prune of
// the prefix removes; a refused delete of the object leaves the whole
// backup. A
// leftover goes only when it is older than the newest backup with a
// manifest, so that the objects of a backup another run is still writing
// are not taken for leftovers.
//
// A refused delete is in the result (and logged as a warning), never an
// error: the error is for a listing or a store that cannot be reached.
func (p *Pruner) Prune(ctx context.Context, prefix, committed string) (PruneResult, error) {
	res := PruneResult{Prefix: prefix}
	if prefix == "" || strings.Contains(prefix, "/") {
		return res, fmt.Errorf("retention: refusing to prune prefix %q", prefix)
	}
	if !p.Rules.IsSet() {
		return res, errors.New("retention: no rules set")
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	inv, err := inventory(ctx, p.Client, p.Bucket, p.Folder, prefix)
	if err != nil {
		return res, err
	}
	h := inv[prefix]
	if h == nil {
		h = &holding{}
	}
	if committed != "" && !hasCommitted(h.Backups, committed) {
		return res, fmt.Errorf("retention: this run's backup s3://%s/%s and its manifest are not in the listing; nothing pruned", p.Bucket, committed)
	}
	if err := CheckManifests(ctx, p.Client, p.Bucket, h.Backups); err != nil {
		return res, fmt.Errorf("%w; nothing pruned", err)
	}
	t := now()
	res.Decisions = p.Rules.apply(h.Backups, t, committed)
	var newestGood time.Time
	for _, d := range res.Decisions {
		if d.Keep {
			res.Kept++
		}
		if b := d.Backup; b.HasManifest && b.Size > 0 && !b.Future(t) && b.Mismatched() == "" && b.Time.After(newestGood) {
			newestGood = b.Time
		}
		if len(d.Why) == 1 && (d.Why[0] == ReasonMismatch || d.Why[0] == ReasonThisRun) {
			p.Log.PruneKept(prefix, p.Bucket, d, p.DryRun)
		}
	}

	// The deletes in order: objects, then what belongs to them. An
	// object whose lock keeps it is never tried (a GOVERNANCE lock's
	// bypass is never asked for), and what belongs to it stays too.
	var dumps, orphans, strays []string
	for _, d := range res.Decisions {
		if !d.Keep {
			dumps = append(dumps, d.Backup.Key)
		}
	}
	for _, l := range h.Leftovers {
		switch {
		case !l.Time.Before(newestGood):
			// maybe another run's backup in the making
		case l.Manifest:
			strays = append(strays, l.Key)
		case l.HasManifest && p.keepLeftover(ctx, prefix, l.Key):
		default:
			orphans = append(orphans, l.Key)
		}
	}
	candidates := slices.Concat(dumps, orphans, strays)
	locks := ReadLocks(ctx, p.Client, p.Bucket, candidates)
	// In a bucket with Object Lock (which S3 versions), a delete of a
	// locked object may succeed and only hide it behind a delete marker:
	// one whose lock cannot be read is not tried.
	lockBucket := false
	if len(locks) < len(candidates) {
		b, err := s3stream.ReadBucketLock(ctx, p.Client, p.Bucket)
		lockBucket = err != nil || b.Enabled
	}
	unlocked := func(keys []string) []string {
		var out []string
		for _, k := range keys {
			l, ok := locks[k]
			switch {
			case ok && l.Locked(t):
				res.Locked = append(res.Locked, LockedObject{k, l})
				p.Log.PruneLocked(prefix, p.Bucket, k, l, p.DryRun)
			case !ok && lockBucket:
				why := "its object lock could not be read (s3:GetObjectRetention, s3:GetObjectLegalHold), and the bucket may lock it"
				res.Refused = append(res.Refused, Refusal{k, why})
				p.Log.PruneRefused(prefix, p.Bucket, k, why)
			default:
				out = append(out, k)
			}
		}
		return out
	}
	dumps, orphans, strays = unlocked(dumps), unlocked(orphans), unlocked(strays)
	for i, d := range res.Decisions {
		if !d.Keep && !slices.Contains(dumps, d.Backup.Key) {
			res.Decisions[i].Locked = true
		}
	}
	if p.DryRun {
		res.Deleted, res.Leftovers = len(dumps), len(orphans)+len(strays)
		var later []string
		taken := staying(res.Decisions, func(k string) bool { return slices.Contains(dumps, k) })
		for _, d := range res.Decisions {
			if d.Keep || d.Locked {
				continue
			}
			d = withCompanions(d, taken)
			p.Log.PruneDelete(prefix, p.Bucket, d, true)
			res.Keys = append(res.Keys, d.Backup.Key)
			later = append(later, objectKeys(d.Backup)[1:]...)
		}
		res.Keys = append(append(append(res.Keys, orphans...), later...), strays...)
		for _, l := range h.Leftovers {
			if !l.Manifest && l.HasManifest && l.Time.Before(newestGood) && slices.Contains(orphans, l.Key) {
				res.Keys = append(res.Keys, s3stream.ManifestKey(l.Key))
			}
		}
		p.Log.Pruned(res, p.Rules, true)
		return res, nil
	}

	// A delete cut short (err) still logs and counts what went, and stops
	// only after that.
	gone1, err := p.delete(ctx, prefix, append(dumps, orphans...), &res)
	var second []string
	taken := staying(res.Decisions, func(k string) bool { return gone1[k] })
	for _, d := range res.Decisions {
		if d.Keep || !gone1[d.Backup.Key] {
			continue
		}
		d = withCompanions(d, taken)
		b := d.Backup
		res.Deleted++
		p.Log.PruneDelete(prefix, p.Bucket, d, false)
		for _, c := range b.Companions {
			second = append(second, c.Key)
		}
		if b.HasManifest {
			second = append(second, s3stream.ManifestKey(b.Key))
		}
	}
	for _, l := range h.Leftovers {
		if !l.Manifest && gone1[l.Key] {
			res.Leftovers++
			if l.HasManifest {
				second = append(second, s3stream.ManifestKey(l.Key))
			}
		}
	}
	if err != nil {
		return res, err
	}
	second = append(second, strays...)
	gone2, err := p.delete(ctx, prefix, second, &res)
	for _, k := range strays {
		if gone2[k] {
			res.Leftovers++
		}
	}
	if err != nil {
		return res, err
	}
	var third []string
	for _, d := range res.Decisions {
		for _, c := range d.Backup.Companions {
			if gone2[c.Key] && c.HasManifest {
				third = append(third, s3stream.ManifestKey(c.Key))
				gone2[c.Key] = false // once, whichever dump it was with
			}
		}
	}
	if _, err := p.delete(ctx, prefix, third, &res); err != nil {
		return res, err
	}
	p.Log.Pruned(res, p.Rules, false)
	return res, nil
}

// staying returns the times of the decisions' dumps that stay: kept, or
// not gone. See withCompanions.
func staying(ds []Decision, gone func(key string) bool) map[int64]bool {
	stay := map[int64]bool{}
	for _, d := range ds {
		if d.Keep || !gone(d.Backup.Key) {
			stay[d.Backup.Time.Unix()] = true
		}
	}
	return stay
}

// withCompanions returns the decision to delete d's dump with the
// Companions that go with it. Companions belong to every dump of their
// time (two dumps of one second, in another format or encryption, have
// the same ones): they go with the first of those dumps to go, and not
// while one of them stays. taken holds the times whose Companions stay
// or went already; d's is added.
func withCompanions(d Decision, taken map[int64]bool) Decision {
	if taken[d.Backup.Time.Unix()] {
		d.Backup.Companions = nil
	}
	taken[d.Backup.Time.Unix()] = true
	return d
}

// objectKeys are the keys of b's objects: its dump, its Companions, and
// their manifests.
func objectKeys(b Backup) []string {
	keys := []string{b.Key}
	for _, c := range b.Companions {
		keys = append(keys, c.Key)
	}
	if b.HasManifest {
		keys = append(keys, s3stream.ManifestKey(b.Key))
	}
	for _, c := range b.Companions {
		if c.HasManifest {
			keys = append(keys, s3stream.ManifestKey(c.Key))
		}
	}
	return keys
}

// hasCommitted reports whether key is among bs with its manifest.
func hasCommitted(bs []Backup, key string) bool {
	for _, b := range bs {
		if b.Key == key {
			return b.HasManifest
		}
	}
	return false
}

// delete deletes keys, maxDeleteBatch at a time with DeleteObjects, and
// one by one where the store refuses or lacks DeleteObjects. It returns
// the keys that are gone; each refused key is added to res and logged.
func (p *Pruner) delete(ctx context.Context, prefix string, keys []string, res *PruneResult) (map[string]bool, error) {
	gone := map[string]bool{}
	refuse := func(key, reason string) {
		res.Refused = append(res.Refused, Refusal{Key: key, Reason: reason})
		p.Log.PruneRefused(prefix, p.Bucket, key, reason)
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), maxDeleteBatch)]
		keys = keys[len(batch):]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		// Not quiet: a key is gone when the answer says it was deleted,
		// not when the answer fails to name it, so that a store that
		// accepts the request but deletes nothing takes no manifest or
		// companion with it.
		out, err := p.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(p.Bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(false)},
		})
		if err == nil {
			asked := map[string]bool{}
			for _, k := range batch {
				asked[k] = true
			}
			answeredFor := map[string]bool{}
			for _, e := range out.Errors {
				k := aws.ToString(e.Key)
				if asked[k] && !answeredFor[k] {
					answeredFor[k] = true
					refuse(k, strings.TrimSpace(aws.ToString(e.Code)+": "+aws.ToString(e.Message)))
				}
			}
			for _, d := range out.Deleted {
				if k := aws.ToString(d.Key); asked[k] && !answeredFor[k] {
					answeredFor[k] = true
					gone[k] = true
					res.Keys = append(res.Keys, k)
				}
			}
			var unanswered []string
			for _, k := range batch {
				if !answeredFor[k] {
					unanswered = append(unanswered, k)
				}
			}
			batch = unanswered
		} else if !answered(err) || ctx.Err() != nil {
			return gone, fmt.Errorf("deleting from s3://%s/%s: %w", p.Bucket, p.Folder, err)
		} else if !res.OneByOne {
			res.OneByOne = true
			why := "the store refused DeleteObjects (" + reason(err) + ")"
			if notImplemented(err) {
				why = "the store does not implement DeleteObjects, the batch delete (" + reason(err) + ")"
			}
			p.Log.PruneOneByOne(prefix, p.Bucket, why)
		}
		// The store answered but did not delete: it lacks DeleteObjects
		// (NotImplemented), refuses it as a whole, or named some keys in
		// neither its deleted nor its errors; one by one, each key gets its
		// own answer.
		for _, k := range batch {
			_, err := p.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(k)})
			switch {
			case err == nil:
				gone[k] = true
				res.Keys = append(res.Keys, k)
			case answered(err) && ctx.Err() == nil:
				refuse(k, reason(err))
			default:
				return gone, fmt.Errorf("deleting s3://%s/%s: %w", p.Bucket, k, err)
			}
		}
	}
	return gone, nil
}

// answered reports whether err came with an answer of the store (an HTTP
// status), rather than from the way there.
func answered(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.Response != nil && re.Response.Response != nil && re.Response.StatusCode >= 300
}

// notImplemented reports an answer of a store that lacks the request.
func notImplemented(err error) bool {
	var re *awshttp.ResponseError
	var ae smithy.APIError
	return errors.As(err, &re) && re.Response != nil && re.Response.Response != nil && re.Response.StatusCode == http.StatusNotImplemented ||
		errors.As(err, &ae) && ae.ErrorCode() == "NotImplemented"
}

// reason is the store's code and message for a refused request.
func reason(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return ae.ErrorCode() + ": " + m
		}
		return ae.ErrorCode()
	}
	return err.Error()
}

// ReadLocks reads the object locks of keys (HeadObject, a few at a
// time). A key whose lock cannot be read is not in the result (a prune
// tries its delete, and a store that refuses it says so: a Refusal).
func ReadLocks(ctx context.Context, client *s3.Client, bucket string, keys []string) map[string]s3stream.Lock {
	out := make(map[string]s3stream.Lock, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if l, err := s3stream.ReadLock(ctx, client, bucket, k); err == nil {
				mu.Lock()
				out[k] = l
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

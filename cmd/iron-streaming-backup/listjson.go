package main

import (
	"encoding/json"
	"io"
	"time"
)

// writeJSON prints the listing as a JSON array, newest first per prefix.
func (l *listing) writeJSON(stdout io.Writer) error {
	type entry struct {
		Prefix      string    `json:"prefix"`
		Key         string    `json:"key"`
		Started     time.Time `json:"started"`
		AgeSeconds  int64     `json:"age_seconds"`
		Size        int64     `json:"size"`
		Compression string    `json:"compression"`
		Format      string    `json:"format"`
		Encryption  string    `json:"encryption"`
		Manifest    bool      `json:"manifest"`
		Future      bool      `json:"future,omitempty"`
		// Companion is set when the backup is a companion alone: "globals"
		// for a '*' line's (catalog.Backup.Alone).
		Companion string `json:"companion,omitempty"`
		// Companions are the objects stored with it: "globals".
		Companions map[string]companionEntry `json:"companions,omitempty"`
		Keep       *bool                     `json:"keep,omitempty"`    // with retention rules: whether they keep it
		KeptBy     []string                  `json:"kept_by,omitempty"` // and by which
		// ManifestMismatch says how its manifest describes another
		// object (catalog.Backup.Mismatch).
		ManifestMismatch string `json:"manifest_mismatch,omitempty"`
		// Lock is its object's S3 Object Lock, in a bucket with Object
		// Lock; nil when it has none or it could not be read.
		Lock *lockEntry `json:"lock,omitempty"`
	}
	list := []entry{}
	for _, p := range l.prefixes {
		for _, b := range l.cat[p] {
			e := entry{b.Prefix, b.Key, b.Time, int64(l.now.Sub(b.Time).Seconds()), b.Size, b.Compression, b.Format, b.Encryption, b.HasManifest, b.Future(l.now), b.Companion, companionsJSON(b), nil, nil, b.Mismatch, nil}
			if lock, ok := l.locks[b.Key]; ok && (lock.Mode != "" || lock.LegalHold) {
				e.Lock = &lockEntry{Mode: lock.Mode, RetainUntil: lock.Until, LegalHold: lock.LegalHold, Locked: lock.Locked(l.now)}
			}
			if d, ok := l.decided[b.Key]; ok {
				e.Keep = &d.Keep
				if d.Keep {
					e.KeptBy = d.Why
				}
			}
			list = append(list, e)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// lockEntry is a backup's object lock in list -json.
type lockEntry struct {
	Mode        string    `json:"mode,omitempty"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold,omitempty"`
	Locked      bool      `json:"locked"` // it cannot be deleted now
}

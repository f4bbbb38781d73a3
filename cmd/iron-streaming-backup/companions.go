package main

import (
	"slices"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/catalog"
)

// companionEntry is a companion object of a backup (its globals) in
// list -json.
type companionEntry struct {
	Key              string `json:"key"`
	Size             int64  `json:"size"`
	Manifest         bool   `json:"manifest"`
	ManifestMismatch string `json:"manifest_mismatch,omitempty"`
}

// companionsJSON are b's companions by name, nil when it has none.
func companionsJSON(b catalog.Backup) map[string]companionEntry {
	if len(b.Companions) == 0 {
		return nil
	}
	m := map[string]companionEntry{}
	for _, c := range b.Companions {
		m[c.Companion] = companionEntry{c.Key, c.Size, c.HasManifest, c.Mismatch}
	}
	return m
}

// companionColumns names the kinds of companion that the listed backups
// have, or are (a '*' line's globals, catalog.Backup.Alone), in the order
// first seen: one column of list's table each. Without any, the table is
// as it always was.
func companionColumns(cat map[string][]catalog.Backup, prefixes []string) []string {
	var names []string
	for _, p := range prefixes {
		for _, b := range cat[p] {
			if b.Alone() && !slices.Contains(names, b.Companion) {
				names = append(names, b.Companion)
			}
			for _, c := range b.Companions {
				if !slices.Contains(names, c.Companion) {
					names = append(names, c.Companion)
				}
			}
		}
	}
	return names
}

// companionCells are b's cells of those columns, tab-terminated: "yes",
// "no manifest" (the object is there, its manifest is not), "MISMATCH"
// (its manifest describes another object), "only" (b is that companion
// alone, a '*' line's globals; its MANIFEST column is its own) or "-".
func companionCells(b catalog.Backup, names []string) string {
	var s strings.Builder
	for _, n := range names {
		cell := "-"
		if b.Alone() && b.Companion == n {
			cell = "only"
		}
		for _, c := range b.Companions {
			if c.Companion == n {
				switch {
				case c.Mismatch != "":
					cell = "MISMATCH"
				case c.HasManifest:
					cell = "yes"
				default:
					cell = "no manifest"
				}
			}
		}
		s.WriteString(cell + "\t")
	}
	return s.String()
}

// companionHeads are the columns' heads, tab-terminated.
func companionHeads(names []string) string {
	var s strings.Builder
	for _, n := range names {
		s.WriteString(strings.ToUpper(n) + "\t")
	}
	return s.String()
}

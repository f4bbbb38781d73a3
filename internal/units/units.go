// Package units reads and writes byte counts in the binary units every
// command and the backup job use: flags such as -max-memory 64MiB, and
// sizes shown to people such as 1.25 GiB.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize reads a byte count such as 1048576, 64MiB, 1.5GiB, 512k or
// 2G; the units are binary (K = KiB = 1024), with or without "iB" or "B".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' && r != '.' })
	if num == "" || num[0] < '0' || num[0] > '9' {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	unit := strings.ToLower(strings.TrimSpace(t[len(num):]))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i")
	shift, ok := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[unit]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit", s)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > (1<<62)>>shift {
			return 0, fmt.Errorf("invalid size %q", s)
		}
		return n << shift, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*float64(int64(1)<<shift) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * float64(int64(1)<<shift)), nil
}

// FormatSize writes n bytes for people: 512 B, 8.00 MiB, 1.25 GiB. It is
// the one way the project's commands and the job show sizes: binary units.
func FormatSize(n int64) string {
	const units = "KMGTPE"
	if n < 1024 && n > -1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	i := -1
	for (f >= 1024 || f <= -1024) && i < len(units)-1 {
		f /= 1024
		i++
	}
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f %ciB", f, units[i])
	case f >= 10:
		return fmt.Sprintf("%.1f %ciB", f, units[i])
	}
	return fmt.Sprintf("%.2f %ciB", f, units[i])
}

package units

import (
	"fmt"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"64MiB", 64 << 20, true},
		{"64M", 64 << 20, true},
		{"64mb", 64 << 20, true},
		{"1.5GiB", 3 << 29, true},
		{"512k", 512 << 10, true},
		{"2 G", 2 << 30, true},
		{"1T", 1 << 40, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"12X", 0, false},
		{"-1", 0, false},
		{"1.2.3M", 0, false},
		{"99999999999T", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "1.5GiB", "512k", "12X", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 8 << 20: "8.00 MiB", 1280 << 20: "1.25 GiB", 5 << 40: "5.00 TiB", 640 << 20: "640 MiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func ExampleParseSize() {
	n, err := ParseSize("1.5GiB")
	fmt.Println(n, err)
	_, err = ParseSize("12X")
	fmt.Println(err)
	// Output:
	// 1610612736 <nil>
	// invalid size "12X": unknown unit
}

func ExampleFormatSize() {
	fmt.Println(FormatSize(512), FormatSize(8<<20), FormatSize(1280<<20), FormatSize(640<<20))
	// Output: 512 B 8.00 MiB 1.25 GiB 640 MiB
}

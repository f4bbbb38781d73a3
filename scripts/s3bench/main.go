// Command s3bench is the helper of scripts/bench-s3.sh:
//
//	s3bench serve BUCKET   starts a Versity S3 gateway with BUCKET, prints
//	                       the environment that reaches it as shell export
//	                       lines, and stops it when its standard input
//	                       closes or on SIGINT/SIGTERM
//	s3bench gen SIZE       writes SIZE deterministic pseudo-random bytes
//	s3bench cpu PID        prints the CPU seconds process PID has used
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: s3bench serve BUCKET | gen SIZE | cpu PID")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2])
	case "gen":
		err = gen(os.Args[2])
	case "cpu":
		err = cpu(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3bench: error:", err)
		os.Exit(1)
	}
}

func serve(bucket string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := testenv.StartS3(ctx, bucket)
	if err != nil {
		return err
	}
	defer testenv.StopAll()
	for _, kv := range srv.Env() {
		fmt.Printf("export %s\n", kv)
	}
	fmt.Printf("export S3_BUCKET=%s\n", bucket)
	fmt.Printf("S3_SERVER_PID=%d\n", serverPID(srv.Dir))
	os.Stdout.Close()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// serverPID finds the gateway process serving dir, so that the script can
// report the server's CPU time too.
func serverPID(dir string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), dir) && strings.Contains(string(b), "versitygw") {
			return pid
		}
	}
	return 0
}

func gen(size string) error {
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return err
	}
	var seed [32]byte
	copy(seed[:], "iron-streaming-backup bench")
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	if _, err := io.Copy(w, io.LimitReader(rand.NewChaCha8(seed), n)); err != nil {
		return err
	}
	return w.Flush()
}

// cpu prints user+system CPU seconds of a process from /proc/PID/stat.
func cpu(pid string) error {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	fmt.Printf("%.2f\n", (u+k)/100)
	return nil
}

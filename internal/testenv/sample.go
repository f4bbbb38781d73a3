package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// SampleSQL creates a small shop: two schemas, text in several scripts, a
// foreign key, numbers, bytea, orders and blobs rows of them, readable by
// the role grantee.
func SampleSQL(grantee string, orders, blobs int) string {
	return fmt.Sprintf(`
CREATE SCHEMA sales;
CREATE TABLE sales.customer (id serial PRIMARY KEY, name text NOT NULL, country text);
CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES sales.customer(id),
  placed timestamptz NOT NULL, total numeric(12,2), note text);
CREATE TABLE public.blobs (id int PRIMARY KEY, data bytea);
INSERT INTO sales.customer (name, country)
  SELECT 'Kunde ' || i || ' — Ünïcødé ✓', (ARRAY['NL','DE','JP','US'])[1 + i %% 4] FROM generate_series(1, 2000) i;
INSERT INTO sales.orders (customer_id, placed, total, note)
  SELECT 1 + i %% 2000, timestamptz '2026-01-01' + i * interval '1 minute', (i %% 997) * 1.25, repeat(md5(i::text), 1 + i %% 5)
  FROM generate_series(1, %d) i;
INSERT INTO public.blobs SELECT i, decode(repeat(md5(i::text), 32), 'hex') FROM generate_series(1, %d) i;
GRANT USAGE ON SCHEMA sales TO %s;
GRANT SELECT ON ALL TABLES IN SCHEMA sales, public TO %[3]s;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA sales TO %[3]s;
`, orders, blobs, grantee)
}

// FindAWS returns the folder of an AWS CLI that honours AWS_ENDPOINT_URL
// (aws-cli 1.29+ or 2.13+), which the stock one-liners of README.md and docs/restore.md need: the
// one on PATH, or one that pip installed under pyenv without putting it on
// PATH.
func FindAWS() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append(candidates, p)
	}
	home, _ := os.UserHomeDir()
	more, _ := filepath.Glob(filepath.Join(home, ".pyenv/versions/*/bin/aws"))
	candidates = append(candidates, more...)
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").CombinedOutput()
		if err != nil {
			continue
		}
		m := regexp.MustCompile(`aws-cli/(\d+)\.(\d+)`).FindSubmatch(out)
		if m == nil {
			continue
		}
		major, _ := strconv.Atoi(string(m[1]))
		minor, _ := strconv.Atoi(string(m[2]))
		if major == 1 && minor >= 29 || major == 2 && minor >= 13 || major > 2 {
			return filepath.Dir(c), nil
		}
	}
	return "", fmt.Errorf("the stock one-liners of README.md and docs/restore.md need an AWS CLI that honours AWS_ENDPOINT_URL (aws-cli 1.29+ or 2.13+); tried %q", candidates)
}

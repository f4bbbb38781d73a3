package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func (t *tester) ironIOReadme() (string, error) {
	// The README's payload.json, its fields in its order.
	env := t.jobEnv(t.pgpass("", "db1", "db2"), "ironio/")
	payload, err := json.MarshalIndent(struct {
		Version string            `json:"version"`
		Cmd     []string          `json:"cmd"`
		Env     map[string]string `json:"env"`
	}{"1", []string{"/app/backup.sh"}, env}, "", "  ")
	if err != nil {
		return "", err
	}
	r, err := t.runIronIO("readme", payload)
	if err != nil {
		return "", err
	}
	if r.Code != 0 {
		return "", fmt.Errorf("exit %d:\n%s", r.Code, r.Stderr)
	}
	if strings.Contains(r.Stderr, "warning") {
		return "", fmt.Errorf("warnings for the README's payload:\n%s", r.Stderr)
	}
	keys, err := t.objects("ironio/")
	if err != nil {
		return "", err
	}
	db1 := backupKeys(keys, "ironio/db1")
	if len(db1) != 1 || len(backupKeys(keys, "ironio/db2")) != 1 || len(keys) != 4 {
		return "", fmt.Errorf("want one object and one manifest for db1 and db2, the bucket has %q", keys)
	}
	say("IronIO run wrote %q", keys)
	return db1[0], t.checkManifestTool(db1[0])
}

func (t *tester) ironIOSiderite() error {
	// siderite's env2payload: json.Marshal of its payload type, indented by
	// two spaces: version, env, cmd, and "type" always written, empty.
	payload, err := json.MarshalIndent(struct {
		Version string            `json:"version"`
		Env     map[string]string `json:"env,omitempty"`
		Cmd     []string          `json:"cmd,omitempty"`
		Type    string            `json:"type"`
		Token   string            `json:"token,omitempty"`
	}{"1", t.jobEnv(t.pgpass("", "db1", "db2"), "siderite/"), []string{"/app/backup.sh", "db1"}, "", ""}, "", "  ")
	if err != nil {
		return err
	}
	r, err := t.runIronIO("siderite", payload)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("exit %d:\n%s", r.Code, r.Stderr)
	}
	keys, err := t.objects("siderite/")
	if err != nil {
		return err
	}
	if len(backupKeys(keys, "siderite/db1")) != 1 || len(keys) != 2 {
		return fmt.Errorf("want db1's object and manifest only, the bucket has %q", keys)
	}
	return nil
}

func (t *tester) ironIOWrongPassword() error {
	wrong := testenv.RandomText("wrong-")
	t.canaries = append(t.canaries, wrong)
	payload, err := json.Marshal(map[string]any{"version": "1", "type": "", "cmd": []string{"/app/backup.sh"},
		"env": t.jobEnv(t.pgpass(wrong, "db1"), "wrong/")})
	if err != nil {
		return err
	}
	r, err := t.runIronIO("wrong", payload)
	if err != nil {
		return err
	}
	if r.Code != 1 {
		return fmt.Errorf("exit %d, want 1:\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "password authentication failed") || strings.Contains(r.Stderr, wrong) {
		return fmt.Errorf("want one line naming the failed password authentication, never the password:\n%s", r.Stderr)
	}
	keys, err := t.objects("wrong/")
	if err != nil {
		return err
	}
	up, err := t.client.ListMultipartUploads(t.ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		return err
	}
	if len(keys) > 0 || len(up.Uploads) > 0 {
		return fmt.Errorf("a failed backup left %q and %d unfinished uploads", keys, len(up.Uploads))
	}
	say("the failure, as the job printed it: %s", testenv.LastLines(r.Stderr, 2))
	return nil
}

// kubernetes runs the image as the CronJob manifest does. The manifest's
// settings that matter are read from it, so the test follows it.
func (t *tester) kubernetes() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	y, err := os.ReadFile(filepath.Join(root, "deploy/kubernetes/cronjob.yaml"))
	if err != nil {
		return err
	}
	for _, want := range []string{
		`runAsUser: 10001`, `runAsGroup: 10001`, `runAsNonRoot: true`, `readOnlyRootFilesystem: true`,
		`allowPrivilegeEscalation: false`, `capabilities: {drop: ["ALL"]}`,
		`command: ["/app/backup.sh"]`, `mountPath: /tmp`, `name: COMPRESSION`, `value: gzip`, `secretRef:`,
	} {
		if !bytes.Contains(y, []byte(want)) {
			return fmt.Errorf("deploy/kubernetes/cronjob.yaml no longer says %q: update this test with it", want)
		}
	}
	// The Secret's variables, as the manifest's kubectl line creates them,
	// plus what the local S3 gateway needs.
	var lines []string
	for k, v := range t.jobEnv(t.pgpass("", "db1", "db2"), "k8s/") {
		lines = append(lines, k+"="+v)
	}
	sort.Strings(lines)
	envFile := filepath.Join(t.work, "secret.env")
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	r, err := t.container(nil, nil, "run", "--rm", "--network", "host",
		"--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,nosuid,nodev,size=1m,mode=1777",
		"--user", "10001:10001", "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
		"--env-file", envFile, "-e", "COMPRESSION=gzip",
		"--entrypoint", "/app/backup.sh", t.image)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("exit %d:\n%s", r.Code, r.Stderr)
	}
	keys, err := t.objects("k8s/")
	if err != nil {
		return err
	}
	if len(backupKeys(keys, "k8s/db1")) != 1 || len(backupKeys(keys, "k8s/db2")) != 1 || len(keys) != 4 {
		return fmt.Errorf("want one object and one manifest for db1 and db2, the bucket has %q", keys)
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

func ageKeygen(t *testing.T) testenv.AgeKey {
	t.Helper()
	k, err := testenv.AgeKeygen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sshEd25519 is an ssh-ed25519 key pair: the OpenSSH private key file, a
// piece of its secret that no process may show, and the public key line.
func sshEd25519(t *testing.T) (privFile, secret, pub string) {
	t.Helper()
	k, err := testenv.NewSSHKey(t.TempDir(), "restore@offline")
	if err != nil {
		t.Fatal(err)
	}
	return k.PrivateFile, k.Secret, k.Public
}

// checkFiles notes every secret file that pid has open.
func (w *secretWatch) checkFiles(pid int) {
	if len(w.files) == 0 {
		return
	}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil {
			continue
		}
		for _, f := range w.files {
			if target == f {
				w.mu.Lock()
				w.findings = append(w.findings, fmt.Sprintf("pid %d has %s open", pid, f))
				w.mu.Unlock()
			}
		}
	}
}

// TestAgeBackupAndRestore: with ENCRYPTION=age two recipients (an age key
// and an ssh-ed25519 key) can each restore with the stock age; the job and
// its children never open an identity or hold one in argv or environment
// even when AGE_IDENTITY_FILE is set, nor a password; verify checks the
// content with the identity, size and SHA-256 without it, and fails on a
// flipped byte with or without a manifest.
func TestAgeBackupAndRestore(t *testing.T) {
	t.Parallel()
	bucket := newBucket(t)
	tmp := t.TempDir()
	k := ageKeygen(t)
	sshPriv, sshSecret, sshPub := sshEd25519(t)
	env := jobEnv(twoDatabases(), bucket, "", "S3_PREFIX=agejob", "ENCRYPTION=age",
		"AGE_RECIPIENTS=# the team\n"+k.Recipient+"\n\n# offline\n"+sshPub+"\n",
		// Set by mistake: the job must warn and never open it.
		"AGE_IDENTITY_FILE="+k.IdentityFile)

	cmd := exec.Command(filepath.Join(binDir, "iron-streaming-backup"))
	cmd.Env = replaceEnv(env, "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, stopWatch := context.WithCancel(t.Context())
	w := &secretWatch{files: []string{k.IdentityFile, sshPriv}}
	secrets := []string{pw1, pw2, encPass, srv.SecretKey, k.Identity, k.Identity[16:], sshSecret}
	watched := make(chan struct{})
	go func() { w.run(ctx, cmd.Process.Pid, secrets); close(watched) }()
	err := cmd.Wait()
	stopWatch()
	<-watched
	log := stderr.String()
	if err != nil {
		t.Fatalf("job failed: %v\n%s", err, log)
	}
	t.Logf("job log:\n%s", log)
	for _, f := range w.findings {
		t.Error(f)
	}
	if w.children < 2 {
		t.Errorf("saw %d child processes of the job; the watch did not work", w.children)
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the job's log contains a secret")
		}
	}
	for _, want := range []string{"PASS_FILE_BASE64 is set but unused", "AGE_IDENTITY_FILE is set but a backup never reads it", "2 of 2 databases backed up"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}

	keys := objects(t, bucket)
	key1 := backupKey(t, keys, "agejob/db1", ".gz.age")
	key2 := backupKey(t, keys, "agejob/db2", ".gz.age")
	b, _ := readManifest(t, bucket, key1)["backup"].(map[string]any)
	recips, _ := b["recipients"].([]any)
	if b == nil || b["encryption"] != "age" || b["cipher"] != nil || b["kdf"] != nil || len(recips) != 2 || recips[0] != k.Recipient ||
		recips[1] != strings.TrimSuffix(sshPub, " restore@offline") ||
		!strings.Contains(fmt.Sprint(b["restore_command"]), "| age -d -i key.txt | gzip -d |") {
		t.Errorf("manifest of %s: %v", key1, b)
	}
	// Each recipient on its own, with the stock age.
	db := restoreOneLiner(t, "s3get s3://"+bucket+"/"+key1+" | age -d -i "+k.IdentityFile+" | gzip -d | psql -X -q -v ON_ERROR_STOP=1 -d NEWDB >/dev/null")
	sameDump(t, "app1", db)
	db = restoreOneLiner(t, "s3get s3://"+bucket+"/"+key2+" | age -d -i "+sshPriv+" | gzip -d | psql -X -q -v ON_ERROR_STOP=1 -d NEWDB >/dev/null")
	sameDump(t, "app2", db)

	// verify with the identity (an age file, or the ssh key) decrypts and
	// counts rows; without one it checks the object against its manifest
	// and says what it did not check; a restore needs the identity.
	noKeys := dropEnv(dropEnv(dropEnv(env, "AGE_IDENTITY_FILE"), "PASS_FILE_BASE64"), "AGE_RECIPIENTS")
	for _, id := range []string{k.IdentityFile, sshPriv} {
		r := runJob(t, append(noKeys, "AGE_IDENTITY_FILE="+id), "verify", "db1")
		if r.code != 0 || !strings.Contains(r.stderr, "db1: ok: "+key1) || !strings.Contains(r.stderr, " rows, size and sha256 match the manifest") {
			t.Errorf("verify with %s: exit %d:\n%s", filepath.Base(id), r.code, r.stderr)
		}
	}
	r := runJob(t, noKeys, "verify")
	if r.code != 0 || !strings.Contains(r.stderr, "db1: ok (stored object only): "+key1) ||
		!strings.Contains(r.stderr, "size and sha256 match the manifest; its content was NOT checked: AGE_IDENTITY_FILE is not set") ||
		!strings.Contains(r.stderr, "db2: ok (stored object only)") {
		t.Errorf("verify without an identity: exit %d:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, noKeys, "verify", "-restore-into", "dbname=x", "db1"); r.code != 2 || !strings.Contains(r.stderr, "-restore-into needs AGE_IDENTITY_FILE") {
		t.Errorf("verify -restore-into without an identity: exit %d:\n%s", r.code, r.stderr)
	}
	r = runJob(t, noKeys, "list", "-json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != 2 || listed[0]["encryption"] != "age" {
		t.Errorf("list -json: %v\n%s", err, r.stdout)
	}

	// A flipped byte in the middle: the manifest's SHA-256 catches it;
	// without the manifest, age's authentication of every chunk does.
	withID := append(noKeys, "AGE_IDENTITY_FILE="+k.IdentityFile)
	obj := getObject(t, bucket, key1)
	obj[len(obj)/2] ^= 0x40
	putObject(t, bucket, key1, obj)
	if r := runJob(t, withID, "verify", "db1"); r.code != 1 || !strings.Contains(r.stderr, "error: db1:") {
		t.Errorf("verify of a changed object: exit %d:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, noKeys, "verify", "db1"); r.code != 1 || !strings.Contains(r.stderr, "error: db1:") {
		t.Errorf("verify of a changed object without an identity: exit %d:\n%s", r.code, r.stderr)
	}
	deleteObject(t, bucket, key1+".manifest.json")
	if r := runJob(t, withID, "verify", "db1"); r.code != 1 || !strings.Contains(r.stderr, "age") || !strings.Contains(r.stderr, "authenticate") {
		t.Errorf("verify of a changed object without its manifest: exit %d:\n%s", r.code, r.stderr)
	}
	if r := runJob(t, noKeys, "verify", "db1"); r.code != 1 || !strings.Contains(r.stderr, "nothing could be checked") {
		t.Errorf("verify without manifest or identity: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestAgeGlobals: the globals (DUMP_GLOBALS=true) are encrypted as their
// dump is, to the same recipients; the stock age reads them, and verify
// checks them with the identity and by their manifest without it.
func TestAgeGlobals(t *testing.T) {
	globalsDatabase(t)
	emptyBucket(t, "backups")
	k := ageKeygen(t)
	env := jobEnv(pgpassLine(gDB, gAdmin, gAdminPW, "gage")+"\n", "backups", "", "S3_PREFIX=ageglobals",
		"DUMP_GLOBALS=true", "ENCRYPTION=age", "AGE_RECIPIENTS="+k.Recipient)
	env = dropEnv(env, "PASS_FILE_BASE64")
	if r := runJob(t, env); r.code != 0 {
		t.Fatalf("backup: exit %d:\n%s", r.code, r.stderr)
	}
	keys := objects(t, "backups")
	dumpKey := backupKey(t, keys, "ageglobals/gage", ".gz.age")
	globalsKey := backupKey(t, keys, "ageglobals/gage", ".globals.gz.age")
	b, _ := readManifest(t, "backups", globalsKey)["backup"].(map[string]any)
	if recips, _ := b["recipients"].([]any); b == nil || b["encryption"] != "age" || len(recips) != 1 || recips[0] != k.Recipient ||
		!strings.HasSuffix(fmt.Sprint(b["restore_command"]), "| age -d -i key.txt | gzip -d | psql -d postgres") {
		t.Errorf("manifest of the globals: %v", b)
	}
	cmd := exec.Command("bash", "-o", "pipefail", "-c", "s3get s3://backups/"+globalsKey+" | age -d -i "+k.IdentityFile+" | gzip -d")
	cmd.Env = jobEnv("", "", "")
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "CREATE ROLE "+gOwner) {
		t.Fatalf("stock age on the globals: %v\n%.300s", err, out)
	}

	withID := append(dropEnv(env, "AGE_RECIPIENTS"), "AGE_IDENTITY_FILE="+k.IdentityFile)
	if r := runJob(t, withID, "verify", "gage"); r.code != 0 || !strings.Contains(r.stderr, "gage: ok: "+dumpKey) || !strings.Contains(r.stderr, "; globals ok: "+globalsKey) {
		t.Errorf("verify with the identity: exit %d:\n%s", r.code, r.stderr)
	}
	r := runJob(t, dropEnv(env, "AGE_RECIPIENTS"), "verify", "gage")
	if r.code != 0 || !strings.Contains(r.stderr, "gage: ok (stored object only): "+dumpKey) ||
		!strings.Contains(r.stderr, "; globals ok (stored object only): "+globalsKey+", ") {
		t.Errorf("verify without the identity: exit %d:\n%s", r.code, r.stderr)
	}
	// A flipped byte in the globals fails the backup's verification.
	obj := getObject(t, "backups", globalsKey)
	obj[len(obj)-20] ^= 1
	putObject(t, "backups", globalsKey, obj)
	deleteObject(t, "backups", globalsKey+".manifest.json")
	if r := runJob(t, withID, "verify", "gage"); r.code != 1 || !strings.Contains(r.stderr, "error: gage: globals "+globalsKey+": decrypting (age)") {
		t.Errorf("verify of changed globals: exit %d:\n%s", r.code, r.stderr)
	}
}

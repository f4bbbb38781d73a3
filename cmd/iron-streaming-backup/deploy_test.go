package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/philips-labs/iron-streaming-backup/internal/testenv"
)

// The fields of Kubernetes' batch/v1 CronJob (and the core/v1 pod spec
// within) that deploy/kubernetes uses, named as the API names them. A
// manifest is decoded strictly: a misspelled or misplaced field, which
// kubectl would reject or silently drop, fails the test.
type (
	k8sCronJob struct {
		APIVersion string      `yaml:"apiVersion"`
		Kind       string      `yaml:"kind"`
		Metadata   k8sMetadata `yaml:"metadata"`
		Spec       struct {
			Schedule                   string `yaml:"schedule"`
			ConcurrencyPolicy          string `yaml:"concurrencyPolicy"`
			SuccessfulJobsHistoryLimit *int   `yaml:"successfulJobsHistoryLimit"`
			FailedJobsHistoryLimit     *int   `yaml:"failedJobsHistoryLimit"`
			JobTemplate                struct {
				Spec k8sJobSpec `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	k8sMetadata struct {
		Name string `yaml:"name"`
	}
	k8sJobSpec struct {
		BackoffLimit   *int   `yaml:"backoffLimit"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		CompletionMode string `yaml:"completionMode"`
		Template       struct {
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
	}
	k8sPodSpec struct {
		RestartPolicy   string `yaml:"restartPolicy"`
		SecurityContext struct {
			RunAsNonRoot   *bool             `yaml:"runAsNonRoot"`
			RunAsUser      *int              `yaml:"runAsUser"`
			RunAsGroup     *int              `yaml:"runAsGroup"`
			SeccompProfile map[string]string `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
		Containers []k8sContainer `yaml:"containers"`
		Volumes    []struct {
			Name     string            `yaml:"name"`
			EmptyDir map[string]string `yaml:"emptyDir"`
		} `yaml:"volumes"`
	}
	k8sContainer struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		EnvFrom []struct {
			SecretRef k8sMetadata `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Env []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
)

var cronSchedule = regexp.MustCompile(`^(\S+ ){4}\S+$`)

// TestRestoreDrillManifest: deploy/kubernetes/restore-drill.yaml is a
// CronJob as the API reads it, runs the image's command with arguments
// the restore command takes, never retried, and as the image's user with
// the job's private folder in memory.
func TestRestoreDrillManifest(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "restore-drill.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cj k8sCronJob
	if err := yaml.UnmarshalStrict(b, &cj); err != nil {
		t.Fatalf("not a CronJob as the API reads it: %v", err)
	}
	if cj.APIVersion != "batch/v1" || cj.Kind != "CronJob" || cj.Metadata.Name == "" || !cronSchedule.MatchString(cj.Spec.Schedule) || cj.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("CronJob head: %+v", cj)
	}
	job := cj.Spec.JobTemplate.Spec
	pod := job.Template.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 || pod.RestartPolicy != "Never" {
		t.Errorf("a failed drill must fail the Job: backoffLimit %v, restartPolicy %q", job.BackoffLimit, pod.RestartPolicy)
	}
	if pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser != 10001 || len(pod.Containers) != 1 {
		t.Fatalf("pod: %+v", pod)
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Command, []string{"/app/backup.sh"}) || len(c.Args) == 0 || c.Args[0] != "restore" {
		t.Fatalf("command %q, args %q: want /app/backup.sh restore …", c.Command, c.Args)
	}
	a, err := parseRestoreArgs(c.Args[1:], io.Discard)
	if err != nil {
		t.Fatalf("restore %q: %v", c.Args[1:], err)
	}
	if !a.create || !a.clean || a.trust || strings.Contains(a.into, "password") {
		t.Errorf("the drill should create, clean, not trust, and hold no password: %+v", a)
	}
	if c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/tmp" || len(pod.Volumes) != 1 || pod.Volumes[0].EmptyDir["medium"] != "Memory" {
		t.Errorf("container: %+v", c)
	}

	// The decoding is strict: a misplaced field fails it.
	bad := strings.Replace(string(b), "restartPolicy: Never", "restartPolicy: Never\n          restartpolicy: Never", 1)
	if err := yaml.UnmarshalStrict([]byte(bad), &k8sCronJob{}); err == nil {
		t.Error("a misspelled field decodes")
	}
}

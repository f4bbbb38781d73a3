package config

import (
	"fmt"
	"regexp"
	"strings"
)

// A Setting is one variable of the job's environment: what -h shows
// (Short), what docs/configuration.md shows (Long, with links), its
// default and an example. Table holds every one; Load reads no other.
type Setting struct {
	Name    string
	Group   Group
	Default string // markdown: literal values in `backticks`; "none" when unset means off
	Example string // a value, as written in the environment; "" when the default says it all
	Short   string // plain text, one sentence, for -h
	Long    string // markdown for the docs; Short when empty
	// SDK marks a variable the AWS SDK reads itself: the job checks it
	// (or only documents it) but takes its value from the SDK.
	SDK bool
	// Secret marks a value no message may show.
	Secret bool
	// Arg names the value in -h (KEEP_LAST=n), where the name alone
	// does not say what it takes.
	Arg string
}

// Group is the part of -h and of the docs a setting is listed in.
type Group int

const (
	Original   Group = iota // the original image's variables
	Optional                // optional, with safe defaults
	Retention               // KEEP_*: off unless one is set
	Monitoring              // where a run reports
)

// String names the group in the markers of docs/configuration.md.
func (g Group) String() string {
	return [...]string{"original", "optional", "retention", "monitoring"}[g]
}

// The variables of the job. The order is the order of -h and the docs.
const (
	EnvPgpassBase64 = "PGPASS_FILE_BASE64"
	EnvPgpassFile   = "PGPASS_FILE"
	EnvPassBase64   = "PASS_FILE_BASE64"
	EnvPasswordFile = "PASSWORD_FILE"
	EnvAccessKey    = "AWS_ACCESS_KEY_ID"
	EnvSecretKey    = "AWS_SECRET_ACCESS_KEY"
	EnvBucket       = "S3_BUCKET"

	EnvKeyPrefix        = "S3_PREFIX"
	EnvPathStyle        = "S3_PATH_STYLE"
	EnvRegion           = "AWS_REGION"
	EnvDefaultRegion    = "AWS_DEFAULT_REGION"
	EnvEndpoint         = "AWS_ENDPOINT_URL"
	EnvEndpointS3       = "AWS_ENDPOINT_URL_S3"
	EnvIgnoreEndpoint   = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
	EnvProfile          = "AWS_PROFILE"
	EnvStorageClass     = "S3_STORAGE_CLASS"
	EnvSSE              = "S3_SSE"
	EnvSSEKMSKeyID      = "S3_SSE_KMS_KEY_ID"
	EnvLockMode         = "OBJECT_LOCK_MODE"
	EnvLockDays         = "OBJECT_LOCK_DAYS"
	EnvLockRetain       = "OBJECT_LOCK_RETAIN"
	EnvLegalHold        = "OBJECT_LOCK_LEGAL_HOLD"
	EnvMaxMemory        = "S3_MAX_MEMORY"
	EnvMaxParts         = "S3_MAX_PARTS"
	EnvChecksum         = "S3_CHECKSUM"
	EnvCompression      = "COMPRESSION"
	EnvLevel            = "COMPRESSION_LEVEL"
	EnvEncryption       = "ENCRYPTION"
	EnvKDF              = "ENCRYPTION_KDF"
	EnvIter             = "ENCRYPTION_ITER"
	EnvAgeRecipients    = "AGE_RECIPIENTS"
	EnvAgeRecipFile     = "AGE_RECIPIENTS_FILE"
	EnvAgeIdentity      = "AGE_IDENTITY_FILE"
	EnvParallel         = "PARALLEL"
	EnvFormat           = "DUMP_FORMAT"
	EnvPgDumpArgs       = "PG_DUMP_ARGS"
	EnvPgDump           = "PG_DUMP"
	EnvDumpGlobals      = "DUMP_GLOBALS"
	EnvDatabasesInclude = "DATABASES_INCLUDE"
	EnvDatabasesExclude = "DATABASES_EXCLUDE"
	EnvShard            = "SHARD"
	EnvShardCount       = "SHARD_COUNT"
	EnvJobIndex         = "JOB_COMPLETION_INDEX"
	EnvLogFormat        = "LOG_FORMAT"
	EnvProgress         = "PROGRESS_INTERVAL"
	EnvPayloadFile      = "PAYLOAD_FILE"

	EnvKeepLast    = "KEEP_LAST"
	EnvKeepHourly  = "KEEP_HOURLY"
	EnvKeepDaily   = "KEEP_DAILY"
	EnvKeepWeekly  = "KEEP_WEEKLY"
	EnvKeepMonthly = "KEEP_MONTHLY"
	EnvKeepYearly  = "KEEP_YEARLY"
	EnvKeepWithin  = "KEEP_WITHIN"

	EnvHealthcheck    = "HEALTHCHECK_URL"
	EnvWebhook        = "WEBHOOK_URL"
	EnvWebhookHeaders = "WEBHOOK_HEADERS"
	EnvPushgateway    = "PUSHGATEWAY_URL"
	EnvMetricsFile    = "METRICS_FILE"
)

// Table is every setting of the job. It makes the settings part of -h
// (Usage), the tables of docs/configuration.md (Markdown), and the names
// Load may read.
var Table = []Setting{
	{Name: EnvPgpassBase64, Group: Original, Default: "none", Secret: true,
		Example: "cG9zdGdyZXMtZGI6NTQzMjpocGc6dXNlcjpwdzpkYjEK",
		Short:   "the pgpass list, base64: host:port:database:user:password:prefix[:ignore]",
		Long:    "the list of databases, base64 (see [The list of databases](#the-list-of-databases))"},
	{Name: EnvPgpassFile, Group: Original, Default: "none", Example: "/run/secrets/pgpass",
		Short: "a file holding the list, instead of PGPASS_FILE_BASE64",
		Long:  "a file holding the list, used instead when `PGPASS_FILE_BASE64` is not set"},
	{Name: EnvPassBase64, Group: Original, Default: "none", Secret: true, Example: "TXlTZWNyZXRQYXNzd29yZAo=",
		Short: "the encryption password, base64 (first line counts)",
		Long:  "the encryption password, base64; as with `openssl -pass file:`, only its first line counts (not needed with `ENCRYPTION=age`; `verify` still uses it for the openssl backups made before)"},
	{Name: EnvPasswordFile, Group: Original, Default: "none", Example: "/run/secrets/backup.key",
		Short: "a file holding the password, instead of PASS_FILE_BASE64",
		Long:  "a file holding the password, used instead when `PASS_FILE_BASE64` is not set (not needed with `ENCRYPTION=age`)"},
	{Name: EnvAccessKey, Group: Original, Default: "the SDK's chain", Example: "AKIAIOSFODNN7EXAMPLE", SDK: true,
		Short: "S3 credentials, with AWS_SECRET_ACCESS_KEY (or any source of the AWS SDK's chain)",
		Long:  "the bucket's credentials, with `AWS_SECRET_ACCESS_KEY` (or any other source of the AWS SDK's default chain: `AWS_PROFILE`, web identity, instance roles)"},
	{Name: EnvSecretKey, Group: Original, Default: "the SDK's chain", Secret: true, SDK: true,
		Short: "the secret of AWS_ACCESS_KEY_ID",
		Long:  "the secret of `AWS_ACCESS_KEY_ID`; both or neither"},
	{Name: EnvBucket, Group: Original, Default: "none", Example: "cf-s3-backups",
		Short: "the bucket",
		Long:  "the bucket that receives the backups"},

	{Name: EnvKeyPrefix, Group: Optional, Default: "none", Example: "nightly/",
		Short: "folder for the objects, e.g. nightly/"},
	{Name: EnvPathStyle, Group: Optional, Default: "`false`", Example: "true",
		Short: "true for path-style S3 addressing",
		Long:  "path-style addressing, for S3-compatible stores that need it"},
	{Name: EnvRegion, Group: Optional, Default: "the bucket's", Example: "eu-west-1", SDK: true,
		Short: "the bucket's region, as for every AWS tool",
		Long:  "the bucket's region; found from the bucket when not set"},
	{Name: EnvDefaultRegion, Group: Optional, Default: "none", SDK: true,
		Short: "the region when AWS_REGION is not set"},
	{Name: EnvEndpoint, Group: Optional, Default: "AWS's", Example: "https://s3.example.com", SDK: true,
		Short: "another S3-compatible endpoint, as the AWS SDK reads it"},
	{Name: EnvEndpointS3, Group: Optional, Default: "none", SDK: true,
		Short: "the endpoint for S3 alone; wins over AWS_ENDPOINT_URL"},
	{Name: EnvIgnoreEndpoint, Group: Optional, Default: "`false`", SDK: true,
		Short: "true: ignore both endpoint variables"},
	{Name: EnvProfile, Group: Optional, Default: "none", Example: "backups", SDK: true,
		Short: "the profile of the AWS shared config files, as for every AWS tool"},
	{Name: EnvStorageClass, Group: Optional, Default: "the bucket's default", Example: "STANDARD_IA",
		Short: "storage class of the objects"},
	{Name: EnvSSE, Group: Optional, Default: "none", Example: "aws:kms",
		Short: "server-side encryption: AES256, aws:kms or aws:kms:dsse",
		Long:  "server-side encryption: `AES256`, `aws:kms` or `aws:kms:dsse` (dual-layer), the KMS ones with `S3_SSE_KMS_KEY_ID` optionally"},
	{Name: EnvSSEKMSKeyID, Group: Optional, Default: "the account's default key", Example: "alias/backups",
		Short: "the KMS key of S3_SSE=aws:kms or aws:kms:dsse"},
	{Name: EnvLockMode, Group: Optional, Default: "none", Example: "GOVERNANCE",
		Short: "GOVERNANCE or COMPLIANCE: write every object with an S3 Object Lock for OBJECT_LOCK_DAYS (the bucket must have Object Lock enabled)",
		Long:  "`GOVERNANCE` or `COMPLIANCE`: write every object of a backup (dump, globals, manifests) with an S3 Object Lock of this mode for `OBJECT_LOCK_DAYS`, so that not even the job's own credentials can delete it before then; the bucket must have Object Lock enabled (see [Immutable backups](verify-and-retention.md#immutable-backups))"},
	{Name: EnvLockDays, Group: Optional, Default: "none", Example: "30",
		Short: "days each object stays locked (1 to 36500)",
		Long:  "days each object stays locked, from the backup's start (1 to 36500); needed with `OBJECT_LOCK_MODE`"},
	{Name: EnvLockRetain, Group: Optional, Default: "none", Example: "36h",
		Short: "how long each object stays locked, as a duration (90d, 36h), instead of OBJECT_LOCK_DAYS",
		Long:  "how long each object stays locked, as a duration (`90d`, `36h`; up to 100 years), instead of `OBJECT_LOCK_DAYS`"},
	{Name: EnvLegalHold, Group: Optional, Default: "`false`", Example: "true",
		Short: "true: also put a legal hold on every object (locked until the hold is removed)",
		Long:  "`true`: also put a legal hold on every object, which keeps it until someone with `s3:PutObjectLegalHold` removes the hold, whatever the lock's date"},
	{Name: EnvMaxMemory, Group: Optional, Default: "`256MiB`", Example: "1280MiB",
		Short: "cap on one upload's part buffers; objects up to about 4096 x half of it fit (256MiB: about 1 TiB)",
		Long:  "cap on one upload's part buffers: 40 MiB are used up to 2 GiB stored; the cap bounds the largest object (256MiB: about 1 TiB; `1280MiB`: 5 TiB). Size containers for `PARALLEL` × this plus about 50 MiB"},
	{Name: EnvMaxParts, Group: Optional, Default: "`10000`", Example: "1000",
		Short: "the most parts one upload may have: S3's 10000, or a store's lower limit (1000 on Scaleway); parts then grow sooner, and the largest object is smaller (1000: about 115 GiB with 256MiB of S3_MAX_MEMORY)",
		Long:  "the most parts one multipart upload may have: S3's `10000`, or a store's lower limit (`1000` on Scaleway). Parts then grow as much sooner, and the largest object is smaller: with `1000`, about 115 GiB with `S3_MAX_MEMORY=256MiB` and 540 GiB with `1280MiB` (with `10000`: 1.12 TiB and 5 TiB)"},
	{Name: EnvChecksum, Group: Optional, Default: "`auto`", Example: "when_required",
		Short: "auto: every part carries its CRC32C (x-amz-checksum-crc32c), or Content-MD5 where the store refuses it; when_required: Content-MD5 only, no flexible checksum header, for stores that reject them",
		Long:  "`auto`: every part (and single upload) carries its CRC32C in `x-amz-checksum-crc32c`, falling back to `Content-MD5` when the store refuses it; `when_required`: `Content-MD5` only, and no flexible checksum header at all (`x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`), for stores that reject them. The AWS SDK's own checksums are always off (its `when_required`): they break uploads to several S3-compatible stores"},
	{Name: EnvCompression, Group: Optional, Default: "`gzip`", Example: "zstd",
		Short: "gzip or zstd; zstd objects end in .zst.aes",
		Long:  "`gzip` (objects end in `.gz.aes`, `.gz.age` with `ENCRYPTION=age`) or `zstd` (`.zst.aes`, `.zst.age`)"},
	{Name: EnvLevel, Group: Optional, Default: "gzip `3`, zstd `2`", Example: "6",
		Short: "gzip 1-9, zstd 1-4",
		Long:  "gzip 1–9, zstd 1–4 (fastest, default, better, best)"},
	{Name: EnvEncryption, Group: Optional, Default: "`openssl`", Example: "age",
		Short: "openssl or age; age objects end in .gz.age and need no password, only recipients",
		Long:  "`openssl`: the format above, with the password; `age`: encrypted to public keys with [age](https://age-encryption.org), objects end in `.gz.age` (`.zst.age`, `.dump.gz.age`), no password needed (see [Public-key encryption with age](security.md#public-key-encryption-with-age))"},
	{Name: EnvKDF, Group: Optional, Default: "`evp`", Example: "pbkdf2",
		Short: "ENCRYPTION=openssl: evp (openssl enc's default key derivation) or pbkdf2",
		Long:  "`evp`: openssl enc's own key derivation (EVP_BytesToKey, SHA-256), what `openssl enc -d -aes-256-cbc -pass file:KEY` reads; `pbkdf2`: stronger, restored with `-pbkdf2 -iter N`"},
	{Name: EnvIter, Group: Optional, Default: "`600000`", Example: "1000000",
		Short: "ENCRYPTION=openssl: PBKDF2 iterations",
		Long:  "PBKDF2 iterations (`ENCRYPTION_KDF` and this: `ENCRYPTION=openssl` only; with age the job warns that they are unused)"},
	{Name: EnvAgeRecipients, Group: Optional, Default: "none", Example: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		Short: "ENCRYPTION=age: public keys, one per line: age1... (from age-keygen), ssh-ed25519 or ssh-rsa; # comments",
		Long:  "with `ENCRYPTION=age`: the public keys a backup is encrypted to, one per line, in the format of age's recipients files: `age1…` (from `age-keygen`), `age1pq1…` (post-quantum, age 1.3 and later), `ssh-ed25519 …` or `ssh-rsa …`; `#` comments and blank lines allowed"},
	{Name: EnvAgeRecipFile, Group: Optional, Default: "none", Example: "/run/secrets/recipients.txt",
		Short: "a file holding them, instead of AGE_RECIPIENTS",
		Long:  "a file in that format, used instead of `AGE_RECIPIENTS`"},
	{Name: EnvAgeIdentity, Group: Optional, Default: "none", Example: "/run/secrets/key.txt",
		Short: "verify only: an age identities file or OpenSSH private key that decrypts age backups (without it they are checked by size and SHA-256); never give it to a backup",
		Long:  "`verify` only: an age identities file (`AGE-SECRET-KEY-1…`, post-quantum ones too) or an unencrypted OpenSSH private key that decrypts the age backups; without it `verify` checks their size and SHA-256 only. A backup never reads it"},
	{Name: EnvParallel, Group: Optional, Default: "`1`", Example: "4",
		Short: "databases backed up at once"},
	{Name: EnvFormat, Group: Optional, Default: "`plain`", Example: "custom",
		Short: "plain or custom; custom objects end in .dump.gz.aes",
		Long:  "`plain` SQL, or `custom` (pg_restore's format, pg_dump's own compression off; objects end in `.dump.gz.aes`, `.dump.gz.age` with age)"},
	{Name: EnvPgDumpArgs, Group: Optional, Default: "none", Example: "--no-owner --exclude-table=audit.*",
		Short: "extra pg_dump options, --name=value, split at spaces",
		Long:  "extra pg_dump options written `--name=value`, split at spaces; connection, output, format and compression options are the job's and are refused, abbreviated or not; with `DUMP_FORMAT=plain`, `--clean` and `--create` (`-c`, `-C`) are refused too: such a dump drops and recreates the database it came from and connects to it by name, so restoring it anywhere would replace the live database"},
	{Name: EnvPgDump, Group: Optional, Default: "chosen per server", Example: "/usr/lib/postgresql/17/bin/pg_dump",
		Short: "one pg_dump for every server (default: the installed client that fits each server; pg_dump from PATH where none)",
		Long:  "one pg_dump program for every server, instead of the installed client that fits each server (see [PostgreSQL servers and clients](compatibility.md#postgresql-servers-and-clients))"},
	{Name: EnvDumpGlobals, Group: Optional, Default: "`false`", Example: "true",
		Short: "true: with each dump also store pg_dumpall --globals-only of its server (roles, memberships, role settings, tablespaces), its key the dump's with .globals before .gz.aes; without role passwords where the login may not read them",
		Long:  "`true`: with each database also store `pg_dumpall --globals-only` of its server (the roles, their memberships and settings, and tablespaces), beside the dump as `<prefix>-<same time>.globals.gz.aes` (see [Roles: the globals](restore.md#roles-the-globals)); for a `*` line once per run, under the line's prefix (see [Every database of a server](configuration.md#every-database-of-a-server))"},
	{Name: EnvDatabasesInclude, Group: Optional, Default: "all", Example: "app_*,billing",
		Short: "for list lines whose database is '*': back up only the databases these names or shell patterns match (comma-separated)",
		Long:  "for list lines whose database is `*` (every database of the server): back up only the databases whose names these names or shell patterns match, comma-separated (see [Every database of a server](configuration.md#every-database-of-a-server))"},
	{Name: EnvDatabasesExclude, Group: Optional, Default: "none", Example: "test_*,scratch",
		Short: "for list lines whose database is '*': leave out the databases these names or shell patterns match; wins over DATABASES_INCLUDE",
		Long:  "for list lines whose database is `*`: leave out the databases whose names these names or shell patterns match, comma-separated; it wins over `DATABASES_INCLUDE`"},
	{Name: EnvShard, Group: Optional, Default: "none", Example: "2/8",
		Short: "INDEX/COUNT (0-based, e.g. 2/8): back up only this part of the list",
		Long:  "`INDEX/COUNT` (0-based): back up only this run's part of the list (see [Kubernetes or cron](scheduling.md#kubernetes-or-cron))"},
	{Name: EnvShardCount, Group: Optional, Default: "none", Example: "8",
		Short: "the number of parts, when JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) gives the index",
		Long:  "the number of parts, when Kubernetes' `JOB_COMPLETION_INDEX` (an Indexed Job) gives the index"},
	{Name: EnvJobIndex, Group: Optional, Default: "none", Example: "2",
		Short: "set by Kubernetes in an Indexed Job: this run's part, with SHARD_COUNT"},
	{Name: EnvLogFormat, Group: Optional, Default: "`text`", Example: "json",
		Short: "text or json",
		Long:  "`text` or `json` (one JSON object per line)"},
	{Name: EnvProgress, Group: Optional, Default: "`1m`", Example: "30s",
		Short: "how often a running backup logs progress; 0: never",
		Long:  "how often a running backup logs how far it got (`0`: never)"},
	{Name: EnvPayloadFile, Group: Optional, Default: "none", Example: "/mnt/task/payload.json",
		Short: "runner: the IronIO payload file (IronIO sets it)",
		Long:  "`runner`: the IronIO payload file, which IronIO sets for every task (see [Scheduling on IronIO](scheduling.md#scheduling-on-ironio))"},

	{Name: EnvKeepLast, Group: Retention, Arg: "n", Default: "none", Example: "7",
		Short: "the n newest backups",
		Long:  "keep the n newest backups of each prefix"},
	{Name: EnvKeepHourly, Group: Retention, Arg: "n", Default: "none", Example: "24",
		Short: "the newest backup of each of the n newest hours that have one"},
	{Name: EnvKeepDaily, Group: Retention, Arg: "n", Default: "none", Example: "7",
		Short: "the newest backup of each of the n newest days that have one"},
	{Name: EnvKeepWeekly, Group: Retention, Arg: "n", Default: "none", Example: "5",
		Short: "the newest backup of each of the n newest ISO weeks that have one"},
	{Name: EnvKeepMonthly, Group: Retention, Arg: "n", Default: "none", Example: "12",
		Short: "the newest backup of each of the n newest months that have one"},
	{Name: EnvKeepYearly, Group: Retention, Arg: "n", Default: "none", Example: "3",
		Short: "the newest backup of each of the n newest years that have one"},
	{Name: EnvKeepWithin, Group: Retention, Arg: "DURATION", Default: "none", Example: "30d",
		Short: "every backup newer than the newest minus this: years y, months m, days d, hours h (36h, 30d, 1y2m)",
		Long:  "keep every backup newer than the newest one minus this duration: `36h`, `30d`, `1y2m` (`y` years, `m` months, `d` days, `h` hours)"},

	{Name: EnvHealthcheck, Group: Monitoring, Default: "none", Example: "https://hc-ping.com/<uuid>", Secret: true,
		Short: "pinged (POST) at URL/start, then at URL when every database succeeded or URL/fail with the result lines, as healthchecks.io expects",
		Long:  "a ping URL in the healthchecks.io convention: a POST to `URL/start` when the run begins, to `URL` when every selected database succeeded, to `URL/fail` otherwise; the body of the last one is the run's result lines and summary (at most 10 KiB, the last lines)"},
	{Name: EnvWebhook, Group: Monitoring, Default: "none", Example: "https://hooks.slack.com/services/…", Secret: true,
		Short: "gets a JSON report of the run by POST, with a \"text\" summary chat webhooks show",
		Long:  "one POST of a JSON document at the end of the run (see [Webhook](monitoring.md#webhook))"},
	{Name: EnvWebhookHeaders, Group: Monitoring, Default: "none", Example: "Authorization: Bearer TOKEN", Secret: true,
		Short: "extra headers for it, \"Name: value\" a line, e.g. Authorization: Bearer TOKEN",
		Long:  "extra headers of the webhook's request, one `Name: value` a line; the values are secrets and are never shown"},
	{Name: EnvPushgateway, Group: Monitoring, Default: "none", Example: "http://pushgateway:9091",
		Short: "Prometheus Pushgateway for the run's metrics, iron_streaming_backup_*, a group per prefix",
		Long:  "a Prometheus Pushgateway that gets the run's metrics, one group per database: `/metrics/job/iron_streaming_backup/prefix/<prefix>`"},
	{Name: EnvMetricsFile, Group: Monitoring, Default: "none", Example: "/var/lib/node_exporter/textfile/backup.prom",
		Short: "the same metrics written to this file for node_exporter's textfile collector",
		Long:  "a file that gets the same metrics in Prometheus's text format, for node_exporter's textfile collector"},
}

// known are the names of Table, for reading.
var known = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range Table {
		if m[s.Name] {
			panic("config: " + s.Name + " twice in Table")
		}
		m[s.Name] = true
	}
	return m
}()

// Usage is the part of -h that lists the settings of group: a line of
// the name and its short meaning each, wrapped at 80 columns, the default
// in parentheses.
func Usage(group Group) string {
	var b strings.Builder
	for _, s := range Table {
		if s.Group != group {
			continue
		}
		text := s.Short
		if d := plain(s.Default); group != Original && group != Retention && !strings.Contains(s.Short, "(default") {
			text += " (" + d + ")"
		}
		const indent, width = 25, 80
		head := "    " + s.Name
		if s.Arg != "" {
			head += "=" + s.Arg
		}
		if len(head) >= indent {
			b.WriteString(head + "\n")
			head = ""
		}
		line := head + strings.Repeat(" ", indent-len(head))
		for _, w := range strings.Fields(text) {
			if len(line) > indent && len(line)+1+len(w) > width {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", indent)
			}
			if len(line) > indent {
				line += " "
			}
			line += w
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// Markdown is the table of group for docs/configuration.md.
func Markdown(group Group) string {
	var b strings.Builder
	b.WriteString("| variable | default | example | meaning |\n|---|---|---|---|\n")
	for _, s := range Table {
		if s.Group != group {
			continue
		}
		long := s.Long
		if long == "" {
			long = s.Short
		}
		example := ""
		if s.Example != "" {
			example = "`" + s.Example + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, s.Default, example, long)
	}
	return b.String()
}

var mdLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// plain is markdown without links and backticks.
func plain(s string) string {
	return strings.ReplaceAll(mdLink.ReplaceAllString(s, "$1"), "`", "")
}

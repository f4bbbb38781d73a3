package s3stream

import (
	"errors"
	"fmt"
	"strings"
)

// Words name, in a command's vocabulary, the settings that a hint points
// at: the job's environment variables, or s3put's and s3get's flags.
type Words struct {
	Bucket    string // "S3_BUCKET"
	Endpoint  string // "AWS_ENDPOINT_URL"
	Region    string // "AWS_REGION"
	PathStyle string // "S3_PATH_STYLE=true"
	// RegionIs is a format of one %s, the region: how to set it to the
	// bucket's ("AWS_REGION=%s").
	RegionIs string
	// Permissions are those the command needs, for AccessDenied.
	Permissions string
	// PartChecksum, when not "", is how to choose ChecksumMD5 instead.
	PartChecksum string
	// How to upload without a feature the store may not support
	// (unsupported.go), when there is a way: without
	// WriterOptions.NoOverwrite ("leave out --no-clobber"), without an
	// object lock, without server-side encryption, in the store's default
	// storage class. "" when nothing turns the feature off.
	NoOverwrite, NoLock, NoSSE, NoStorageClass string
}

// checkCreds is the hint for credentials the service may not know.
func checkCreds(w Words) string {
	return "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that " + w.Endpoint + " is the service they belong to"
}

// hints are the hints for the kinds of failure: the likely mistake, and
// the setting that fixes it.
var hints = map[Kind]func(w Words) string{
	NoSuchBucket: func(w Words) string {
		return "check " + w.Bucket + ", and " + w.Endpoint + " and " + w.Region + " of the service it lives in"
	},
	AccessDenied: func(w Words) string {
		return "the credentials lack a needed permission (" + w.Permissions + "), or they are wrong: " + checkCreds(w)
	},
	Forbidden: func(w Words) string { return checkCreds(w) + "; and the credentials' permissions" },
	NoCredentials: func(Words) string {
		return "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run 'aws sso login' when the profile uses SSO)"
	},
	UnknownAccessKey: checkCreds,
	BadSignature: func(Words) string {
		return "the secret key does not match the access key ID: check AWS_SECRET_ACCESS_KEY"
	},
	ExpiredToken: func(Words) string {
		return "renew the session credentials (AWS_SESSION_TOKEN), e.g. with 'aws sso login'"
	},
	InvalidToken: func(Words) string { return "check AWS_SESSION_TOKEN; unset it for long-term keys" },
	ClockSkew:    func(Words) string { return "synchronize the clock (NTP)" },
	WrongRegion:  func(w Words) string { return "set " + w.Region + " to the bucket's region" },
	Moved: func(w Words) string {
		return "set " + w.Region + ", or " + w.Endpoint + " and " + w.PathStyle + " for an S3-compatible store"
	},
	InvalidBucketName: func(w Words) string {
		return "check " + w.Bucket + ": bucket names are 3–63 lowercase letters, digits, dots and hyphens"
	},
	ConnectionRefused: func(w Words) string { return "check " + w.Endpoint + " and that the S3 service is running" },
	UnknownHost:       func(w Words) string { return "check " + w.Endpoint + ", " + w.Region + " and " + w.Bucket },
	TLSFailed: func(w Words) string {
		return "for a plain-HTTP store make " + w.Endpoint + " an http:// URL; otherwise check the service's certificate"
	},
	InvalidEndpoint: func(w Words) string {
		return w.Endpoint + " is a URL such as https://s3.example.com or http://127.0.0.1:7070"
	},
	NoRegion: func(w Words) string { return "set " + w.Region },
	BadConfig: func(Words) string {
		return "check AWS_PROFILE and the shared config files (~/.aws/config, ~/.aws/credentials)"
	},
	ChecksumUnsupported: func(w Words) string {
		if w.PartChecksum == "" {
			return ""
		}
		return "if the service does not support CRC32C checksums, upload with " + w.PartChecksum
	},
	ConditionalWriteUnsupported: func(w Words) string {
		return settingHint(w.NoOverwrite, " if the upload may replace an object at the key",
			"no setting turns them off: they keep an upload from replacing an object another one wrote at the same key; use a store that supports If-None-Match")
	},
	ObjectLockUnsupported: func(w Words) string {
		return settingHint(w.NoLock, ", or use a store that supports Object Lock", "use a store that supports Object Lock")
	},
	SSEUnsupported: func(w Words) string {
		return settingHint(w.NoSSE, ", or use a store that supports server-side encryption", "")
	},
	StorageClassUnsupported: func(w Words) string {
		return settingHint(w.NoStorageClass, " to use the store's default storage class", "")
	},
	MultipartUnsupported: func(Words) string {
		return "no setting turns them off: a stream larger than one part (8 MiB at most) is uploaded in parts; use a store that supports multipart uploads"
	},
}

// settingHint is the hint of a feature a setting avoids: the command's
// words for the setting and then rest, or without when the command has
// no such setting.
func settingHint(setting, rest, without string) string {
	if setting == "" {
		return without
	}
	return setting + rest
}

// Hint is the hint for the kind of failure err is, in w's words, or ""
// when err is no *Error or no likely mistake can be named.
func Hint(err error, w Words) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	if e.Kind == WrongRegion && e.Region != "" && w.RegionIs != "" {
		return "set " + fmt.Sprintf(w.RegionIs, e.Region) + ", the bucket's region"
	}
	if e.Kind == Unsupported {
		// The hint of each feature the store may lack.
		var hs []string
		for _, k := range e.Features {
			if h := hints[k]; h != nil && h(w) != "" {
				hs = append(hs, "for "+features[k].name+": "+h(w))
			}
		}
		return strings.Join(hs, "; ")
	}
	if e.Permission != "" {
		switch e.Kind {
		case AccessDenied:
			return "the credentials lack " + e.Permission + ", or they are wrong: " + checkCreds(w)
		case Forbidden:
			return checkCreds(w) + "; and that the credentials have " + e.Permission
		}
	}
	if h := hints[e.Kind]; h != nil {
		return h(w)
	}
	return ""
}

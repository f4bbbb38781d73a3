// Package catalog knows what is in the bucket: the names of a backup's
// objects (one table of endings for compression, format, encryption and
// companions, and the key grammar built from it), the backups a listing
// holds and whether their manifests describe them, the retention rules
// (restic forget's, as pure functions of keys and times) and the prune
// that applies them. It reads no environment and knows no command line:
// settings come in as values.
package catalog

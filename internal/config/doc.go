// Package config owns the job's environment: the name of every setting
// (Table), how each is parsed and checked, and the typed settings that
// the job, verify, list and prune take as values. Nothing else in the
// project reads the environment of the job; libraries get values.
//
// Settings are read once. Every problem is one error, all of them joined,
// and no message holds a secret: passwords are Secret values, which every
// formatter prints redacted.
package config

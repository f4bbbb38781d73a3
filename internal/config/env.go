package config

import (
	"fmt"
	"strconv"
	"strings"
)

// env reads the settings of Table from getenv and collects what is wrong
// with them; reading a name that is not in Table is a bug, caught by the
// package's tests.
type env struct {
	getenv func(string) string
	errs   []error
}

func (e *env) get(name string) string {
	if !known[name] {
		panic("config: " + name + " is not in Table")
	}
	return e.getenv(name)
}

// trimmed is the value of name without surrounding space.
func (e *env) trimmed(name string) string { return strings.TrimSpace(e.get(name)) }

// or is the value of name, trimmed, or def when it is empty.
func (e *env) or(name, def string) string {
	if v := e.trimmed(name); v != "" {
		return v
	}
	return def
}

func (e *env) bad(format string, args ...any) { e.errs = append(e.errs, fmt.Errorf(format, args...)) }

func (e *env) add(errs ...error) {
	for _, err := range errs {
		if err != nil {
			e.errs = append(e.errs, err)
		}
	}
}

// bool reads name as true or false; unset is false.
func (e *env) bool(name string) bool {
	v := e.trimmed(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.bad("%s=%q: use true or false", name, v)
	}
	return b
}

// int reads name as a whole number from min to max into v; unset leaves v.
func (e *env) int(name string, min, max int, v *int) {
	s := e.trimmed(name)
	if s == "" {
		return
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		e.bad("%s=%q: use a whole number from %d to %d", name, s, min, max)
		return
	}
	*v = n
}

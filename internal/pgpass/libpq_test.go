package pgpass

import "strings"

// libpqPassword returns the password that libpq (passwordFromFile in
// src/interfaces/libpq/fe-connect.c) finds in a password file for a
// connection, following its code step by step: lines are read up to '\n',
// lines starting with '#' are skipped, trailing CR and LF are stripped, and
// the first line whose host, port, database and user match wins.
func libpqPassword(file, host, port, database, user string) (string, bool) {
	for _, line := range strings.SplitAfter(file, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		t := strings.TrimRight(line, "\r\n")
		if t == "" {
			continue
		}
		ok := true
		for _, token := range []string{host, port, database, user} {
			if t, ok = libpqMatch(t, token); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		var pw []byte
		for p := 0; p < len(t) && t[p] != ':'; p++ {
			if t[p] == '\\' && p+1 < len(t) {
				p++
			}
			pw = append(pw, t[p])
		}
		return string(pw), true
	}
	return "", false
}

// libpqMatch is pwdfMatchesString: it matches the next field of buf against
// token and returns the rest of buf after the field's ':'.
func libpqMatch(buf, token string) (string, bool) {
	if len(buf) >= 2 && buf[0] == '*' && buf[1] == ':' {
		return buf[2:], true
	}
	i, j, bslash := 0, 0, false
	for i < len(buf) {
		if buf[i] == '\\' && !bslash {
			i++
			bslash = true
		}
		if i == len(buf) {
			// C reads the terminating NUL here, which matches neither ':'
			// nor any byte of token.
			return "", false
		}
		if buf[i] == ':' && j == len(token) && !bslash {
			return buf[i+1:], true
		}
		bslash = false
		if j == len(token) || buf[i] != token[j] {
			return "", false
		}
		i++
		j++
	}
	return "", false
}

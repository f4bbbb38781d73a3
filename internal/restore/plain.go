package restore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/philips-labs/iron-streaming-backup/internal/dumpstat"
)

// maxPending caps the bytes of one statement held before it is sent: the
// server takes at most 1 GiB, and no statement pg_dump writes comes near.
const maxPending = 256 << 20

// ErrRefused matches the error of a restore stopped because the dump
// holds something that would reach beyond its target.
var ErrRefused = errors.New("refused")

// Plain restores a plain-format dump written to it, statement by
// statement, into the database of its connection, inside one transaction
// that Commit commits (see the package comment for what it sends). Its
// errors are sticky: after the first, every Write returns it and nothing
// more is sent; Close then rolls everything back.
//
// The states: writing (statements sent as they complete, COPY data as it
// arrives), then either committed (Commit) or closed (Close, or an error:
// the connection is closed and the server rolls back).
type Plain struct {
	ctx     context.Context
	conn    *pgconn.PgConn
	c       *dumpstat.Counter
	trusted bool
	roles   *Roles

	buf  []byte // the stream from offset base on, as far as it may still be needed
	base int64

	copying bool  // a COPY … FROM stdin runs: its data goes to the server
	dataAt  int64 // the first data byte not yet sent, or -1 before DataStart
	copyIn  *io.PipeWriter
	copyErr chan error // the COPY's result, once its data ended

	err  error
	done bool // committed or closed

	// Sent, Skipped count the statements sent and left out.
	Sent, Skipped int
}

// Options say how Plain treats a dump.
type Options struct {
	// Trusted keeps the dump's ownership and privilege statements. The
	// caller has checked the role (CheckRole) unless the user trusts
	// the dump.
	Trusted bool
	// Ending is the completion comment the dump ends with
	// (dumpstat.Complete, or dumpstat.ClusterComplete for pg_dumpall's).
	Ending string
	// Clean drops, inside the restore's transaction and before the dump,
	// everything the restoring role owns in the database (DROP OWNED BY
	// CURRENT_USER), which must leave it empty: a restore that fails
	// leaves the old contents as they were.
	Clean bool
	// Roles, when set, reads the dump as a pg_dumpall --globals-only
	// script and restores its roles by Roles' rules; the connection's
	// role must be able to create roles.
	Roles *Roles
}

// NewPlain starts a restore over conn, which it then owns: it checks the
// role conn acts as (CheckRole; unless o.Trusted, a role that may do more
// than a database owner is refused) and begins the transaction. The
// connection's client_encoding must be UTF8 (Connect sets it); the dump's
// own SET client_encoding is followed from there.
func NewPlain(ctx context.Context, conn *pgconn.PgConn, o Options) (*Plain, error) {
	if o.Roles != nil {
		if err := o.Roles.Check(ctx, conn, o.Trusted); err != nil {
			conn.Close(ctx)
			return nil, err
		}
	} else if !o.Trusted {
		role, err := CheckRole(ctx, conn)
		if err == nil {
			err = role.Err()
		}
		if err != nil {
			conn.Close(ctx)
			return nil, err
		}
	}
	p := &Plain{ctx: ctx, conn: conn, trusted: o.Trusted, roles: o.Roles, dataAt: -1}
	p.c = dumpstat.NewCounterEnding(o.Ending)
	p.c.SetSession(conn.ParameterStatus("client_encoding"), conn.ParameterStatus("standard_conforming_strings") != "off")
	p.c.SetListener(listener{p})
	if err := p.exec("BEGIN"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("starting the restore's transaction: %w", err)
	}
	if o.Clean {
		if err := p.clean(); err != nil {
			conn.Close(ctx)
			return nil, err
		}
	}
	return p, nil
}

// clean drops what the restoring role owns, and checks that nothing is
// left.
func (p *Plain) clean() error {
	if err := p.exec("DROP OWNED BY CURRENT_USER"); err != nil {
		return fmt.Errorf("-clean: dropping what the restoring role owns: %w", err)
	}
	c, err := ReadContents(p.ctx, p.conn)
	if err != nil {
		return err
	}
	if !c.Empty() {
		return fmt.Errorf("%w: -clean dropped what the restoring role owns, and it still holds %s of other roles; restore into an empty database", ErrNotEmpty, c)
	}
	return nil
}

// Err is the error that stopped the restore, nil while it goes on.
func (p *Plain) Err() error { return p.err }

// Counter is the lexer that reads the dump: its row counts, completeness
// and problems.
func (p *Plain) Counter() *dumpstat.Counter { return p.c }

// Write reads p's part of the dump and sends what it completes.
func (p *Plain) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.done {
		return 0, errors.New("restore: write after Commit or Close")
	}
	p.buf = append(p.buf, b...)
	p.c.Write(b)
	if p.err == nil {
		if err := p.c.Problem(); err != nil {
			p.fail(fmt.Errorf("%w: %v: psql would read the dump otherwise than it is written", ErrRefused, err))
		}
	}
	if p.err == nil && p.copying && p.dataAt >= 0 {
		p.sendData(p.base + int64(len(p.buf)))
	}
	if p.err != nil {
		return 0, p.err
	}
	keep := p.c.Pending()
	if p.copying && p.dataAt >= 0 {
		keep = min(keep, p.dataAt)
	}
	if n := keep - p.base; n > 0 {
		p.buf = append(p.buf[:0], p.buf[n:]...)
		p.base = keep
	}
	if len(p.buf) > maxPending {
		p.fail(fmt.Errorf("a statement of the dump is longer than %d MiB", maxPending>>20))
		return 0, p.err
	}
	return len(b), nil
}

// End checks that the dump ended between statements, with nothing left
// to send. The caller checks that it is complete (its completion comment)
// and intact (its checksum) too, before Commit.
func (p *Plain) End() error {
	if p.err != nil {
		return p.err
	}
	switch {
	case p.copying:
		p.fail(errors.New("the dump ends inside the data of a COPY"))
	case p.c.InStatement():
		p.fail(errors.New("the dump ends inside a statement"))
	}
	return p.err
}

// CountRows counts, inside the restore's transaction, the rows of each
// table the dump named (see the package function CountRows).
func (p *Plain) CountRows(tables []dumpstat.Table) (map[string]int64, error) {
	if err := p.End(); err != nil {
		return nil, err
	}
	// The dump's client encoding would read the names otherwise.
	if err := p.exec("RESET client_encoding"); err != nil {
		p.fail(err)
		return nil, err
	}
	return CountRows(p.ctx, p.conn, tables)
}

// Commit commits the restore (see End).
func (p *Plain) Commit() error {
	if err := p.End(); err != nil {
		return err
	}
	if err := p.exec("COMMIT"); err != nil {
		p.fail(fmt.Errorf("committing the restore: %w", err))
		return p.err
	}
	p.done = true
	return p.conn.Close(p.ctx)
}

// Close ends a restore that was not committed: the connection is closed
// and the server rolls back everything sent. After Commit it does nothing.
func (p *Plain) Close() {
	if !p.done {
		p.done = true
		p.stopCopy(errors.New("the restore was closed"))
		p.conn.Close(context.WithoutCancel(p.ctx))
	}
}

func (p *Plain) fail(err error) {
	if p.err == nil {
		p.err = err
		p.stopCopy(err)
		p.conn.Close(context.WithoutCancel(p.ctx))
		p.done = true
	}
}

// text is the stream's bytes [start, end), which Write keeps until then.
func (p *Plain) text(start, end int64) []byte { return p.buf[start-p.base : end-p.base] }

// listener takes the Counter's news of the dump.
type listener struct{ p *Plain }

func (l listener) Statement(s dumpstat.Statement) {
	p := l.p
	if p.err != nil {
		return
	}
	text := p.text(s.Start, s.End)
	if err := p.c.Problem(); err != nil {
		p.fail(fmt.Errorf("%w: %v: psql would read the dump otherwise than it is written", ErrRefused, err))
		return
	}
	sql := string(text)
	var act action
	var why string
	if p.roles != nil {
		act, sql, why = p.roles.decide(s, sql)
	} else {
		act, why = decide(s, p.trusted)
	}
	switch {
	case act == refuse && p.roles != nil:
		p.fail(fmt.Errorf("%w: the globals hold %s (at byte %d: %s)", ErrRefused, why, s.Start, describe(text)))
		return
	case act == refuse:
		p.fail(fmt.Errorf("%w: the dump holds %s (at byte %d: %s); a restore writes only into the database it was given", ErrRefused, why, s.Start, describe(text)))
		return
	case act == skip:
		p.Skipped++
		return
	}
	if s.Copy {
		p.startCopy(sql, s.Start)
		return
	}
	if act == try {
		p.try(sql, s.Start, text)
		return
	}
	if err := p.exec(sql); err != nil {
		p.fail(fmt.Errorf("the statement at byte %d failed (%s): %w", s.Start, describe(text), err))
		return
	}
	p.Sent++
	p.checkSession(s.Start)
}

// try sends a statement inside a savepoint: when it fails, it is undone
// and noted (Roles.Notes), and the restore goes on.
func (p *Plain) try(sql string, at int64, text []byte) {
	if err := p.exec("SAVEPOINT restore_try"); err != nil {
		p.fail(err)
		return
	}
	if err := p.exec(sql); err != nil {
		if rerr := p.exec("ROLLBACK TO SAVEPOINT restore_try"); rerr != nil {
			p.fail(rerr)
			return
		}
		p.roles.Notes = append(p.roles.Notes, fmt.Sprintf("left out %s: %v", describe(text), err))
		p.roles.Skipped++
		p.Skipped++
		return
	}
	if err := p.exec("RELEASE SAVEPOINT restore_try"); err != nil {
		p.fail(err)
		return
	}
	p.Sent++
	p.checkSession(at)
}

// inTransaction fails the restore when a statement ended its transaction
// (a COMMIT or ROLLBACK the lexer did not see as one): what follows must
// not be committed statement by statement.
func (p *Plain) inTransaction(at int64) {
	if p.err == nil && p.conn.TxStatus() != 'T' {
		p.fail(fmt.Errorf("%w: the statement at byte %d ended the restore's transaction", ErrRefused, at))
	}
}

func (l listener) Command(start, end int64, inStatement bool) {
	p := l.p
	if p.err != nil {
		return
	}
	text := p.text(start, end)
	if inStatement || !restrictLine.Match(text) {
		p.fail(fmt.Errorf("%w: the dump holds the psql command %s at byte %d; a restore runs only SQL, and only into the database it was given", ErrRefused, describe(text), start))
	}
}

func (l listener) DataStart(off int64) {
	if l.p.err == nil {
		l.p.dataAt = off
	}
}

func (l listener) DataEnd(off int64) {
	p := l.p
	if p.err != nil || !p.copying {
		return
	}
	p.sendData(off)
	if p.err != nil {
		return
	}
	p.copyIn.Close()
	err := <-p.copyErr
	p.copying, p.dataAt, p.copyIn = false, -1, nil
	if err != nil {
		p.fail(fmt.Errorf("the data of the COPY before byte %d failed: %w", off, err))
		return
	}
	p.Sent++
	p.inTransaction(off)
}

// checkSession compares the session settings the dump's text is read
// with to the server's: a statement may change client_encoding or
// standard_conforming_strings in ways no lexer can follow (a function
// that calls set_config), and the rest of the dump would be split into
// other statements than the server reads.
func (p *Plain) checkSession(at int64) {
	class, std := p.c.Session()
	server := p.conn.ParameterStatus("client_encoding")
	serverStd := p.conn.ParameterStatus("standard_conforming_strings") != "off"
	p.inTransaction(at)
	if p.err == nil && (dumpstat.EncodingClass(server) != class || serverStd != std) {
		p.fail(fmt.Errorf("%w: the statement at byte %d left the session with client_encoding %q and standard_conforming_strings %v, which the dump's own SET statements do not say: its text would be read otherwise than it was written",
			ErrRefused, at, server, serverStd))
	}
}

// startCopy starts a COPY … FROM stdin; its data goes to the server as
// it arrives (sendData) while pgconn reads the server's answers, so that
// warnings the data's checks raise never fill the connection and stall it.
// The statement is sent as one query: policy's copyFromStdin allows only
// the one statement pg_dump writes.
func (p *Plain) startCopy(sql string, at int64) {
	r, w := io.Pipe()
	p.copyIn, p.copyErr, p.copying = w, make(chan error, 1), true
	go func() {
		_, err := p.conn.CopyFrom(p.ctx, r, sql)
		// Whatever the COPY stopped at, no more data is taken.
		r.CloseWithError(fmt.Errorf("the COPY at byte %d ended: %v", at, err))
		p.copyErr <- err
	}()
}

// sendData sends the COPY data held up to offset end.
func (p *Plain) sendData(end int64) {
	if end <= p.dataAt {
		return
	}
	if _, err := p.copyIn.Write(p.text(p.dataAt, end)); err != nil {
		err = <-p.copyErr
		p.copying = false
		p.fail(fmt.Errorf("the data of a COPY failed: %w", err))
		return
	}
	p.dataAt = end
}

// stopCopy ends a COPY whose data will not come, and waits for it.
func (p *Plain) stopCopy(err error) {
	if p.copying {
		p.copying = false
		p.copyIn.CloseWithError(err)
		<-p.copyErr
	}
}

// exec sends one statement with the extended query protocol, which takes
// exactly one statement: text that the server would read as several (a
// dump crafted to be read otherwise by the lexer and by the server) is
// an error, never a second statement.
func (p *Plain) exec(sql string) error {
	return p.conn.ExecParams(p.ctx, sql, nil, nil, nil, nil).Read().Err
}

// Package restore puts a backup's dump into a database with no more
// rights than the database's owner had when it was dumped.
//
// A dump is written by whoever owns the dumped database: its functions,
// defaults, triggers, CHECK constraints and index expressions run during a
// restore, as the role that restores. Two rules follow, and every restore
// path of the project keeps them:
//
//   - The restoring role must not hold more rights than a database owner
//     can be given: no superuser, no CREATEROLE, no membership in
//     pg_execute_server_program, pg_read_server_files or
//     pg_write_server_files, and no way to become such a role (CheckRole).
//     Only an explicit "trust the dump" lifts this.
//   - A dump reaches only the database it is restored into. A plain-format
//     dump is not handed to psql: Plain reads it with the lexer psql uses
//     (package dumpstat) and sends each statement itself, inside one
//     transaction. psql's backslash commands (\connect, \!, …) and
//     variables (:NAME) never act, statements that reach beyond the target
//     (CREATE, ALTER or DROP DATABASE, roles, tablespaces, ALTER SYSTEM,
//     LOAD, COPY that does not read its data from the dump) are refused
//     before they are sent, and nothing is committed unless the whole dump
//     went in. Ownership and privileges (ALTER … OWNER TO, GRANT, REVOKE,
//     ALTER DEFAULT PRIVILEGES, SET SESSION AUTHORIZATION) are left out
//     unless the dump is trusted, as pg_restore --no-owner
//     --no-privileges does for the custom format.
package restore

package pgpass_test

import (
	"fmt"
	"strings"

	"github.com/philips-labs/iron-streaming-backup/internal/pgpass"
)

func ExampleParse() {
	list := `# host:port:database:user:password:prefix[:ignore]
db-a.example.com:5432:app:backup:s3cr\:et:app
db-b.example.com:5432:crm:backup:pa\\ss:crm
db-c.example.com:5432:old:backup:secret:old:ignore
`
	entries, err := pgpass.Parse(strings.NewReader(list))
	if err != nil {
		fmt.Println(err)
		return
	}
	targets, err := pgpass.Targets(entries, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range targets {
		fmt.Println(t) // never shows the password
	}
	fmt.Println(targets[0].Password)

	_, err = pgpass.Parse(strings.NewReader("h:5432:db:u:pw:db1\nh:abc:db:u2:pw2:db1\n"))
	fmt.Println(err)
	// Output:
	// app (backup@db-a.example.com:5432/app, line 2)
	// crm (backup@db-b.example.com:5432/crm, line 3)
	// s3cr:et
	// line 2: bad port "abc" (want 1 to 65535)
	// line 2: duplicate prefix "db1" (first on line 1)
}

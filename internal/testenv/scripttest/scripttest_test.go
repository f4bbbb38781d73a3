package scripttest

import (
	"os"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// exit-with N exits with status N.
		"exit-with": func() {
			n, _ := strconv.Atoi(os.Args[1])
			os.Exit(n)
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, Params())
}

// Package faultproxy is an HTTP reverse proxy for tests that puts faults
// between an S3 client and a real S3 server: it passes every request through
// unchanged until a rule matches, and then answers with an error status,
// resets the connection in the middle of the request body, or delays.
//
// The proxy keeps the client's Host header, so SigV4 signatures made for the
// proxy's address stay valid at the server behind it.
package faultproxy

import (
	"context"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is what happens to a matching request.
type Fault struct {
	// Status, when non-zero, answers the request with this status and an S3
	// error document with Code, without passing it on.
	Status int
	Code   string
	// Message is the error document's message; "" is "injected by
	// faultproxy". Stores often name the header they reject in it.
	Message string
	// Reset closes the client's connection with a TCP reset after
	// ResetAfter bytes of the request body were read (half the declared
	// length when zero), without passing the request on.
	Reset      bool
	ResetAfter int64
	// Delay holds the request this long, then passes it on (unless Status
	// or Reset is set too).
	Delay time.Duration
	// DropHeaders passes the request on and removes these headers from
	// the answer: a store that does not keep what they say (an object
	// lock, say) as far as its client can tell.
	DropHeaders []string
}

// Ready-made faults.
var (
	SlowDown      = Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown"}
	InternalError = Fault{Status: http.StatusInternalServerError, Code: "InternalError"}
	ResetBody     = Fault{Reset: true}
)

// Rule selects requests and the fault they get.
type Rule struct {
	Method string // "" matches any method
	// Query names a query parameter the request must carry, e.g.
	// "partNumber" (UploadPart), "uploads" (CreateMultipartUpload),
	// "uploadId" (any request of a multipart upload); "" matches any.
	Query string
	// Path, when set, must be a substring of the request path.
	Path string
	// Header names a header the request must carry, e.g.
	// "If-None-Match" (a conditional write); "" matches any.
	Header string
	// Nth is the first matching request (counted from 1) that gets the
	// fault; 0 means the first.
	Nth int
	// Times is how many matching requests from the Nth on get the fault;
	// 0 means one, a negative number means every one.
	Times int
	Fault Fault

	seen, hits int
}

// Request is one request the proxy saw.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header // as the client sent it
	Fault                  bool        // a fault was injected instead of or before passing it on
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL string // http://127.0.0.1:PORT

	srv   *http.Server
	ln    net.Listener
	rp    *httputil.ReverseProxy
	mu    sync.Mutex
	rules []*Rule
	log   []Request
}

// New starts a proxy on a free loopback port in front of target
// (http://host:port).
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), ln: ln}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // keep the signed Host
			r.Out.Header.Del("Expect")
		},
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		return p.srv.Close()
	}
	return nil
}

// Add installs a rule and returns it; Hits tells how often it fired.
func (p *Proxy) Add(r Rule) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Nth <= 0 {
		r.Nth = 1
	}
	if r.Times == 0 {
		r.Times = 1
	}
	rr := r
	p.rules = append(p.rules, &rr)
	return &rr
}

// Hits is how many requests got this rule's fault.
func (r *Rule) Hits(p *Proxy) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.hits
}

// Clear removes every rule; requests pass through again.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns the requests seen so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

func (r *Rule) matches(req *http.Request) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	if r.Query != "" && !req.URL.Query().Has(r.Query) {
		return false
	}
	if r.Path != "" && !strings.Contains(req.URL.Path, r.Path) {
		return false
	}
	if r.Header != "" && req.Header.Get(r.Header) == "" {
		return false
	}
	return true
}

// pick returns the fault for req, if a rule fires.
func (p *Proxy) pick(req *http.Request) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var f Fault
	fired := false
	for _, r := range p.rules {
		if !r.matches(req) {
			continue
		}
		r.seen++
		if !fired && r.seen >= r.Nth && (r.Times < 0 || r.seen < r.Nth+r.Times) {
			r.hits++
			f, fired = r.Fault, true
		}
	}
	p.log = append(p.log, Request{Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery, Header: req.Header.Clone(), Fault: fired})
	return f, fired
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	f, fired := p.pick(req)
	if !fired {
		p.rp.ServeHTTP(w, req)
		return
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-req.Context().Done():
			return
		}
	}
	switch {
	case f.Reset:
		n := f.ResetAfter
		if n == 0 {
			n = req.ContentLength / 2
		}
		if n > 0 {
			io.CopyN(io.Discard, req.Body, n)
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("faultproxy: connection cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST, not FIN
		}
		conn.Close()
	case f.Status != 0:
		io.Copy(io.Discard, req.Body)
		code, msg := f.Code, f.Message
		if code == "" {
			code = http.StatusText(f.Status)
		}
		if msg == "" {
			msg = "injected by faultproxy"
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>faultproxy</RequestId></Error>`,
			code, html.EscapeString(msg), req.URL.Path)
	case len(f.DropHeaders) > 0:
		p.rp.ServeHTTP(&dropHeaders{w, f.DropHeaders}, req)
	default:
		p.rp.ServeHTTP(w, req)
	}
}

// dropHeaders removes headers from an answer before it is sent.
type dropHeaders struct {
	http.ResponseWriter
	names []string
}

func (d *dropHeaders) WriteHeader(status int) {
	for _, n := range d.names {
		d.Header().Del(n)
	}
	d.ResponseWriter.WriteHeader(status)
}

func (d *dropHeaders) Unwrap() http.ResponseWriter { return d.ResponseWriter }

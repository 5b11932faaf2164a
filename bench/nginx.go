package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The baseline: nginx with one worker, no access log, sendfile on and
// tcp_nopush off (performance.md), serving the bytes fetched from tropa as
// static files — the identity file, and the gzip'd one through gzip_static
// to clients that accept gzip — with tropa's own headers added.

// copiedHeaders are tropa's response headers nginx repeats with add_header;
// Content-Type, Content-Length, Content-Encoding and Vary nginx makes
// itself from the file (default_type, gzip_static, gzip_vary).
func copiedHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		switch k {
		case "Date", "Content-Length", "Content-Type", "Content-Encoding", "Vary", "Set-Cookie", "Connection":
			continue
		}
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func nginxQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// startNginx writes a config under dir serving root on port and starts
// nginx in the foreground (its master's PID is the proc's).
func (b *bench) startNginx(dir, root string, port int, headers map[string]string) (*proc, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	// nginx's worker runs as nobody (we are root): let it read root.
	os.Chmod(b.cfg.tmp, 0o755)
	var keys []string
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var add strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&add, "    add_header %s %s;\n", k, nginxQuote(headers[k]))
	}
	t := filepath.Join(dir, "tmp")
	conf := fmt.Sprintf(`# written by tropa's bench: the baseline of performance.md
worker_processes 1;
daemon off;
master_process on;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  server_tokens off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  server {
    listen 127.0.0.1:%[3]d;
    root %[4]s;
    index index.html;
    default_type "text/html; charset=utf-8";
    gzip off;
    gzip_static on;
    gzip_vary on;
    etag off;
    if_modified_since off;
%[5]s  }
}
`, dir, t, port, root, add.String())
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	bin, err := lookPath("nginx")
	if err != nil {
		return nil, err
	}
	// SIGQUIT is nginx's graceful stop; if the bench dies, SIGTERM (fast
	// stop) reaches the master, which stops its worker.
	p, err := b.procs.start("nginx", syscall.SIGQUIT, syscall.SIGTERM, nil, bin, "-c", path, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	if err := waitPort(p, port, 10*time.Second); err != nil {
		b.procs.stopOne(p)
		return nil, err
	}
	return p, nil
}

// waitPort waits until something accepts on 127.0.0.1:port.
func waitPort(p *proc, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/__bench_probe")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, tail(p.output(), 2000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: nothing listens on port %d after %s", p.name, port, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeStatic stores a page's two encodings under root at urlPath (a path
// ending in / becomes index.html).
func writeStatic(root, urlPath string, raw, gz []byte) error {
	p := filepath.Join(root, filepath.FromSlash(urlPath))
	if strings.HasSuffix(urlPath, "/") {
		p = filepath.Join(p, "index.html")
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		return err
	}
	return os.WriteFile(p+".gz", gz, 0o644)
}

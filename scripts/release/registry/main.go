// A local OCI registry for the release test: go-containerregistry's registry (the handler its
// cmd/registry serves), bound to loopback only, blobs on disk in the given directory.
//
//	registry -addr 127.0.0.1:5000 -dir /tmp/registry
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	dir := flag.String("dir", "", "blob directory (empty = in memory)")
	flag.Parse()
	opts := []registry.Option{registry.Logger(log.New(os.Stderr, "registry ", log.LstdFlags))}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o700); err != nil {
			log.Fatal(err)
		}
		opts = append(opts, registry.WithBlobHandler(registry.NewDiskBlobHandler(*dir)))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", ln.Addr())
	server := &http.Server{Handler: registry.New(opts...)}
	log.Fatal(server.Serve(ln))
}

// Command schema-registry runs Conduit's schema registry (github.com/conduitio/conduit-schema-registry,
// which serves the Confluent Schema Registry REST API for schemas and subjects) as a process with
// in-memory storage, for Tributary's integration tests and local development.
//
//	schema-registry -addr 127.0.0.1:8081 [-basic-auth user:password]
//
// With -basic-auth (or SCHEMA_REGISTRY_BASIC_AUTH), every request must carry those HTTP Basic
// credentials, as a Confluent registry configured with basic auth requires; others get 401.
package main

import (
	"crypto/subtle"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"

	schemaregistry "github.com/conduitio/conduit-schema-registry"
	"github.com/conduitio/conduit-commons/database/inmemory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	auth := flag.String("basic-auth", os.Getenv("SCHEMA_REGISTRY_BASIC_AUTH"), "user:password required on every request (empty: none)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	registry, err := schemaregistry.NewSchemaRegistry(&inmemory.DB{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "schema-registry:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	schemaregistry.NewServer(logger, registry).RegisterHandlers(mux)

	var handler http.Handler = mux
	if *auth != "" {
		user, password, ok := strings.Cut(*auth, ":")
		if !ok {
			fmt.Fprintln(os.Stderr, "schema-registry: -basic-auth must be user:password")
			os.Exit(2)
		}
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="schema-registry"`)
				http.Error(w, `{"error_code":401,"message":"Unauthorized"}`, http.StatusUnauthorized)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schema-registry:", err)
		os.Exit(1)
	}
	// The test fixture reads the bound address from this line (the port may be 0: pick a free one).
	fmt.Printf("listening on %s\n", ln.Addr().String())
	if err := http.Serve(ln, handler); err != nil {
		fmt.Fprintln(os.Stderr, "schema-registry:", err)
		os.Exit(1)
	}
}

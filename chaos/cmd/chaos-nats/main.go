// Command chaos-nats runs one node of the chaos soak's NATS JetStream
// cluster: nats-server as a library, in a process of its own so that the
// soak can kill -9 it. It listens on loopback only (no authentication) and
// fsyncs every JetStream write (SyncAlways), as the embedded dev server does.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	name := flag.String("name", "", "server name, unique in the cluster")
	port := flag.Int("port", 0, "client port on 127.0.0.1")
	clusterPort := flag.Int("cluster-port", 0, "route port on 127.0.0.1")
	routes := flag.String("routes", "", "the other nodes' routes, comma-separated nats-route://127.0.0.1:PORT")
	store := flag.String("store", "", "JetStream store directory")
	flag.Parse()
	if *name == "" || *port == 0 || *clusterPort == 0 || *store == "" {
		fmt.Fprintln(os.Stderr, "chaos-nats: -name, -port, -cluster-port and -store are required")
		os.Exit(2)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: *name, Host: "127.0.0.1", Port: *port,
		JetStream: true, StoreDir: *store, SyncAlways: true,
		Cluster: server.ClusterOpts{Name: "tillpoint-chaos", Host: "127.0.0.1", Port: *clusterPort},
		Routes:  server.RoutesFromStr(*routes),
		NoSigs:  true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-nats:", err)
		os.Exit(1)
	}
	srv.ConfigureLogger()
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		fmt.Fprintln(os.Stderr, "chaos-nats: not ready for connections after 30s")
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Shutdown()
	srv.WaitForShutdown()
}

package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/rest"

	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

const (
	serviceCIDR = "10.0.0.0/24"
	serviceIP   = "10.0.0.1"
)

// startEtcd runs an embedded single-member etcd on loopback. Port 0 lets etcd
// bind a free port itself (no choose-then-bind race); the bound ports are read
// back from its listeners (etcdPorts). keep reuses dataDir (a restart of the same cluster);
// otherwise it starts empty.
func startEtcd(dataDir string, clientPort, peerPort int, keep bool) (*embed.Etcd, error) {
	if !keep {
		if err := os.RemoveAll(dataDir); err != nil {
			return nil, err
		}
	}
	cfg := embed.NewConfig()
	cfg.Name = "testbed"
	cfg.Dir = dataDir
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.ListenMetricsUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// A throw-away test cluster: durability is not needed, speed is.
	cfg.UnsafeNoFsync = true
	cfg.QuotaBackendBytes = 2 << 30
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("etcd did not become ready within 60s")
	}
}

// etcdPorts are the client and peer ports etcd bound.
func etcdPorts(e *embed.Etcd) (client, peer int) {
	return e.Clients[0].Addr().(*net.TCPAddr).Port, e.Peers[0].Listener.Addr().(*net.TCPAddr).Port
}

// apiserverArgs are the command-line flags of the real kube-apiserver.
func apiserverArgs(p *pki, etcdPort int) []string {
	return []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--storage-backend=etcd3",
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--tls-cert-file=" + p.path("serving.crt"),
		"--tls-private-key-file=" + p.path("serving.key"),
		"--client-ca-file=" + p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path("sa.pub"),
		"--service-account-signing-key-file=" + p.path("sa.key"),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		// 127.0.0.1 is not a valid Endpoints address; nothing in-cluster
		// talks to the apiserver through the kubernetes Service anyway.
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority=" + p.path("ca.crt"),
		"--kubelet-client-certificate=" + p.path("admin.crt"),
		"--kubelet-client-key=" + p.path("admin.key"),
		"--event-ttl=1h",
	}
}

// runAPIServer starts the real kube-apiserver in this process on the given
// listener. It returns once the server chain has been built; errors of the
// running server are sent on the returned channel.
func runAPIServer(ctx context.Context, args []string, ln net.Listener) (<-chan error, error) {
	s := apiserveroptions.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, err
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	s.SecureServing.Listener = ln
	s.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port

	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	config, err := apiserverapp.NewConfig(completed)
	if err != nil {
		return nil, err
	}
	cc, err := config.Complete()
	if err != nil {
		return nil, err
	}
	server, err := apiserverapp.CreateServerChain(cc)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver server chain: %w", err)
	}
	errCh := make(chan error, 1)
	go func() {
		defer close(errCh)
		prepared, err := server.PrepareRun()
		if err != nil {
			errCh <- err
			return
		}
		if err := prepared.Run(ctx); err != nil {
			errCh <- err
		}
	}()
	return errCh, nil
}

// prepareControllerManager builds and parses the options of the real
// kube-controller-manager (no leader election, no serving port). It must
// run before the other components register their feature-gate flags: the
// controller manager flips the default of the WatchListClient gate while
// registering its flags, as it does in its own binary.
func prepareControllerManager(p *pki, kubeconfig string) (func(ctx context.Context) (<-chan error, error), error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	known, disabled, aliases := kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases()
	nfs := s.Flags(known, disabled, aliases)
	s.ParsedFlags = &nfs
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range nfs.FlagSets {
		fs.AddFlagSet(f)
	}
	controllers := strings.Join([]string{
		"*",
		// Nothing here issues or approves kubelet certificates; no pod CIDRs.
		"-certificatesigningrequest-signing-controller",
		"-certificatesigningrequest-approving-controller",
		"-node-ipam-controller",
		"-persistentvolume-attach-detach-controller",
	}, ",")
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + controllers,
		"--service-account-private-key-file=" + p.path("sa.key"),
		"--root-ca-file=" + p.path("ca.crt"),
		"--use-service-account-credentials=false",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--profiling=false",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--concurrent-statefulset-syncs=10",
		"--concurrent-daemonset-syncs=5",
		"--concurrent-job-syncs=10",
		"--concurrent-gc-syncs=20",
		"--concurrent-namespace-syncs=10",
		"--concurrent-serviceaccount-token-syncs=5",
		// A ReplicaSet refused pods (quota) retries with exponential backoff; informer resyncs
		// requeue it. 12h by default: 10s keeps freed-quota recoveries in test timescales.
		"--min-resync-period=10s",
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-controller-manager flags: %w", err)
	}
	return func(ctx context.Context) (<-chan error, error) {
		c, err := s.Config(ctx, known, disabled, aliases)
		if err != nil {
			return nil, fmt.Errorf("kube-controller-manager config: %w", err)
		}
		errCh := make(chan error, 1)
		go func() {
			defer close(errCh)
			if err := kcmapp.Run(ctx, c.Complete()); err != nil {
				errCh <- err
			}
		}()
		return errCh, nil
	}, nil
}

// runScheduler starts the real kube-scheduler in this process.
func runScheduler(ctx context.Context, kubeconfig string) (<-chan error, error) {
	opts := schedoptions.NewOptions()
	fs := pflag.NewFlagSet("kube-scheduler", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--profiling=false",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("kube-scheduler flags: %w", err)
	}
	cc, sched, err := schedapp.Setup(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("kube-scheduler setup: %w", err)
	}
	errCh := make(chan error, 1)
	go func() {
		defer close(errCh)
		if err := schedapp.Run(ctx, cc, sched); err != nil {
			errCh <- err
		}
	}()
	return errCh, nil
}

// Command testbed-controlplane runs a real Kubernetes control plane
// (embedded etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
// in one process on loopback, plus simulated nodes whose kubelet drives
// pod status from the labels of the images the containers name.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	goflag "flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"
)

type authFlag struct{ m map[string]credential }

func (a *authFlag) String() string { return "" }
func (a *authFlag) Type() string   { return "host:port=user:password" }
func (a *authFlag) Set(v string) error {
	host, up, ok := strings.Cut(v, "=")
	user, pass, ok2 := strings.Cut(up, ":")
	if !ok || !ok2 || host == "" {
		return fmt.Errorf("want host:port=user:password, got %q", v)
	}
	a.m[host] = credential{user: user, pass: pass}
	return nil
}

type ports struct {
	APIServer  int    `json:"apiserver"`
	EtcdClient int    `json:"etcdClient"`
	EtcdPeer   int    `json:"etcdPeer"`
	Kubelet    int    `json:"kubelet"`
	Server     string `json:"server"`
	PID        int    `json:"pid"`
}

func main() {
	restore := filterStderr()
	err := run()
	restore()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed-controlplane: %v\n", err)
		klog.Flush()
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s testbed-controlplane: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

func run() error {
	start := time.Now()
	auth := &authFlag{m: map[string]credential{}}
	fs := pflag.NewFlagSet("testbed-controlplane", pflag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "directory for etcd data, certificates, pid and ports files (required)")
	kubeconfigPath := fs.String("kubeconfig", "", "where to write the admin kubeconfig once the cluster is ready (required)")
	fs.Var(auth, "registry-auth", "credentials for a registry, host:port=user:password (repeatable)")
	readyDelay := fs.Duration("ready-delay", time.Second, "time from a pod's start until its containers are running and ready")
	nodes := fs.Int("nodes", 2, "number of simulated nodes (1-3 recommended)")
	apiPort := fs.Int("apiserver-port", 0, "kube-apiserver port on 127.0.0.1 (0: pick a free one)")
	etcdPort := fs.Int("etcd-port", 0, "etcd client port on 127.0.0.1 (0: a free one, bound by etcd)")
	kubeletPort := fs.Int("kubelet-port", 0, "port of the simulated kubelet API (logs) on 127.0.0.1 (0: pick a free one)")
	backoffBase := fs.Duration("backoff-base", 10*time.Second, "first image pull / crash loop back-off")
	backoffMax := fs.Duration("backoff-max", 20*time.Second, "maximum image pull / crash loop back-off")
	pullHold := fs.Duration("err-image-pull-duration", 2*time.Second, "how long ErrImagePull shows before ImagePullBackOff")
	crashRuntime := fs.Duration("crash-after", time.Second, "how long a crashloop/fail container runs before exiting 1")
	cacheTTL := fs.Duration("registry-cache-ttl", 3*time.Second, "how long a registry answer is reused for the same image reference")
	nodeCPU := fs.String("node-cpu", "8", "allocatable cpu of each simulated node")
	nodeMemory := fs.String("node-memory", "16Gi", "allocatable memory of each simulated node")
	nodePods := fs.String("node-max-pods", "110", "allocatable pods of each simulated node")
	readyTimeout := fs.Duration("startup-timeout", 3*time.Minute, "give up if the cluster is not ready within this time")
	keepState := fs.Bool("keep-state", false, "restart the cluster of --state-dir: keep its etcd data, certificates and ports")
	verbosity := fs.Int("v", 0, "klog verbosity of the Kubernetes components")
	logLevel := fs.String("log-level", "error", "lowest klog severity printed to stderr: info, warning or error")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return nil
		}
		return err
	}
	if *stateDir == "" || *kubeconfigPath == "" {
		return fmt.Errorf("--state-dir and --kubeconfig are required")
	}
	if *nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1")
	}
	setupKlog(*verbosity, *logLevel)

	dir, err := filepath.Abs(*stateDir)
	if err != nil {
		return err
	}
	kubeconfigFile, err := filepath.Abs(*kubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// A stale kubeconfig must not look like a ready cluster.
	_ = os.Remove(kubeconfigFile)
	pidFile := filepath.Join(dir, "controlplane.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigCh := make(chan os.Signal, 2)
	signal.Notify(sigCh, syscall.SIGTERM, syscall.SIGINT)

	// Ports: each listener is bound here (0: the kernel picks a free port), never chosen
	// first and bound later. A restart (--keep-state) binds the ports of the previous start.
	var pp ports
	portsFile := filepath.Join(dir, "ports.json")
	if *keepState {
		if data, err := os.ReadFile(portsFile); err == nil {
			var prev ports
			if err := json.Unmarshal(data, &prev); err != nil {
				return fmt.Errorf("%s: %w", portsFile, err)
			}
			reuse := func(flag *int, previous int) {
				if *flag == 0 {
					*flag = previous
				}
			}
			reuse(apiPort, prev.APIServer)
			reuse(etcdPort, prev.EtcdClient)
			reuse(kubeletPort, prev.Kubelet)
		}
	}
	pp.PID = os.Getpid()
	apiLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *apiPort))
	if err != nil {
		return fmt.Errorf("listen for kube-apiserver: %w", err)
	}
	pp.APIServer = apiLn.Addr().(*net.TCPAddr).Port
	pp.Server = fmt.Sprintf("https://127.0.0.1:%d", pp.APIServer)
	kubeletLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *kubeletPort))
	if err != nil {
		return fmt.Errorf("listen for the kubelet API: %w", err)
	}
	pp.Kubelet = kubeletLn.Addr().(*net.TCPAddr).Port

	var p *pki
	if *keepState {
		var found bool
		if p, found, err = loadPKI(filepath.Join(dir, "pki")); err != nil {
			return fmt.Errorf("loading certificates: %w", err)
		} else if !found {
			p = nil
		}
	}
	if p == nil {
		if p, err = generatePKI(filepath.Join(dir, "pki")); err != nil {
			return fmt.Errorf("generating certificates: %w", err)
		}
	}
	internalKubeconfig := filepath.Join(dir, "pki", "components.kubeconfig")
	if err := writeKubeconfig(internalKubeconfig, pp.Server, p, false); err != nil {
		return err
	}

	// Before any other component registers feature-gate flags.
	startControllerManager, err := prepareControllerManager(p, internalKubeconfig)
	if err != nil {
		return err
	}

	etcd, err := startEtcd(filepath.Join(dir, "etcd"), *etcdPort, 0, *keepState)
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()
	pp.EtcdClient, pp.EtcdPeer = etcdPorts(etcd)
	logf("etcd on 127.0.0.1:%d", pp.EtcdClient)
	if data, err := json.MarshalIndent(pp, "", "  "); err == nil {
		if err := os.WriteFile(portsFile, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}

	logf("starting kube-apiserver on %s", pp.Server)
	apiErr, err := runAPIServer(ctx, apiserverArgs(p, pp.EtcdClient), apiLn)
	if err != nil {
		return err
	}

	restCfg, err := clientcmd.BuildConfigFromFlags("", internalKubeconfig)
	if err != nil {
		return err
	}
	restCfg.QPS, restCfg.Burst = 200, 400
	restCfg.UserAgent = "testbed-kubelet"
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}

	failed := make(chan error, 4)
	watchErr := func(name string, ch <-chan error) {
		go func() {
			if err, ok := <-ch; ok && err != nil {
				failed <- fmt.Errorf("%s: %w", name, err)
			} else if ctx.Err() == nil {
				failed <- fmt.Errorf("%s stopped unexpectedly", name)
			}
		}()
	}
	watchErr("kube-apiserver", apiErr)
	go func() {
		select {
		case err := <-etcd.Err():
			failed <- fmt.Errorf("etcd: %w", err)
		case <-ctx.Done():
		}
	}()

	startupCtx, startupCancel := context.WithTimeout(ctx, *readyTimeout)
	defer startupCancel()
	go func() {
		select {
		case s := <-sigCh:
			// The apiserver treats a stop before its post-start hooks
			// finished as fatal; nothing here needs a graceful shutdown
			// yet (etcd syncs no data before the cluster is ready), so just exit.
			logf("received %v during startup, exiting", s)
			_ = os.Remove(pidFile)
			os.Exit(0)
		case <-startupCtx.Done():
		}
	}()

	if err := waitReadyz(startupCtx, client); err != nil {
		return firstErr(failed, fmt.Errorf("kube-apiserver did not become ready: %w", err))
	}
	logf("kube-apiserver ready after %s", time.Since(start).Round(time.Millisecond))

	kcmErr, err := startControllerManager(ctx)
	if err != nil {
		return err
	}
	watchErr("kube-controller-manager", kcmErr)
	schedErr, err := runScheduler(ctx, internalKubeconfig)
	if err != nil {
		return err
	}
	watchErr("kube-scheduler", schedErr)

	reg := newRegistryClient(auth.m, *cacheTTL)
	kubelet := newKubeletSim(client, reg, kubeletConfig{
		nodes:        *nodes,
		readyDelay:   *readyDelay,
		backoffBase:  *backoffBase,
		backoffMax:   *backoffMax,
		pullHold:     *pullHold,
		crashRuntime: *crashRuntime,
		cpu:          *nodeCPU,
		memory:       *nodeMemory,
		maxPods:      *nodePods,
		kubeletPort:  pp.Kubelet,
		version:      kubeletVersion(),
	})
	if err := kubelet.Start(ctx); err != nil {
		return err
	}
	defer kubelet.Shutdown()
	stopLogs, err := serveKubeletAPI(p, kubeletLn, client)
	if err != nil {
		return err
	}
	defer stopLogs()

	if err := waitClusterUsable(startupCtx, client, *nodes); err != nil {
		return firstErr(failed, fmt.Errorf("cluster did not become usable: %w", err))
	}
	if err := writeKubeconfig(kubeconfigFile, pp.Server, p, true); err != nil {
		return err
	}
	// The kubeconfig exists only while the cluster is up.
	defer os.Remove(kubeconfigFile)
	startupCancel()
	logf("ready after %s: kubeconfig %s, server %s, %d node(s)", time.Since(start).Round(time.Millisecond), kubeconfigFile, pp.Server, *nodes)

	var runErr error
	select {
	case s := <-sigCh:
		logf("received %v, shutting down", s)
	case runErr = <-failed:
		logf("component failed: %v", runErr)
	case <-ctx.Done():
	}
	cancel()
	// Give the components a moment to stop; etcd closes last (deferred).
	done := make(chan struct{})
	go func() {
		for _, ch := range []<-chan error{apiErr} {
			for range ch {
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		logf("kube-apiserver did not stop within 15s")
	case <-sigCh:
	}
	return runErr
}

func firstErr(failed chan error, fallback error) error {
	select {
	case err := <-failed:
		return err
	default:
		return fallback
	}
}

func setupKlog(v int, level string) {
	var kfs goflag.FlagSet
	klog.InitFlags(&kfs)
	threshold := "ERROR"
	switch strings.ToLower(level) {
	case "info":
		threshold = "INFO"
	case "warning", "warn":
		threshold = "WARNING"
	}
	_ = kfs.Set("logtostderr", "false")
	_ = kfs.Set("alsologtostderr", "false")
	_ = kfs.Set("stderrthreshold", threshold)
	_ = kfs.Set("v", strconv.Itoa(v))
	// Everything below the threshold is dropped instead of going to files.
	klog.SetOutput(io.Discard)
}

// Lines that are expected in this setup and only confuse a reader.
var expectedMessages = []string{
	// Printed on every start with --endpoint-reconciler-type=none.
	"Found stale data, removed previous endpoints on kubernetes service",
	// Deprecated-flag notices of the component command lines.
	"has been deprecated",
	// embedded etcd reports its listeners closing on shutdown as errors.
	"setting up serving from embedded etcd failed",
}

// filterStderr routes writes to os.Stderr (klog, etcd's zap logger) through
// a pipe that drops the expected messages. The returned function restores
// os.Stderr and drains the pipe.
func filterStderr() func() {
	orig := os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	os.Stderr = w
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReaderSize(r, 64*1024)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				drop := false
				for _, m := range expectedMessages {
					if strings.Contains(line, m) {
						drop = true
						break
					}
				}
				if !drop {
					_, _ = orig.WriteString(line)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return func() {
		os.Stderr = orig
		_ = w.Close()
		<-done
	}
}

func waitReadyz(ctx context.Context, client kubernetes.Interface) error {
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		res := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx)
		status := 0
		res.StatusCode(&status)
		return status == 200, nil
	})
}

// waitClusterUsable waits for Ready nodes and the default ServiceAccount
// (needed by the ServiceAccount admission plugin to admit pods).
func waitClusterUsable(ctx context.Context, client kubernetes.Interface, nodes int) error {
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, n := range list.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
					ready++
				}
			}
		}
		if ready < nodes {
			return false, nil
		}
		if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, nil
		}
		if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); err != nil {
			return false, nil
		}
		return true, nil
	})
}

// writeKubeconfig writes a kubeconfig for the admin client certificate,
// atomically. embed=false references the files (for the components).
func writeKubeconfig(path, server string, p *pki, embed bool) error {
	cluster := &clientcmdapi.Cluster{Server: server}
	user := &clientcmdapi.AuthInfo{}
	if embed {
		cluster.CertificateAuthorityData = p.caCertPEM
		user.ClientCertificateData = p.adminCertPEM
		user.ClientKeyData = p.adminKeyPEM
	} else {
		cluster.CertificateAuthority = p.path("ca.crt")
		user.ClientCertificate = p.path("admin.crt")
		user.ClientKey = p.path("admin.key")
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testbed"] = cluster
	cfg.AuthInfos["testbed-admin"] = user
	cfg.Contexts["testbed"] = &clientcmdapi.Context{Cluster: "testbed", AuthInfo: "testbed-admin", Namespace: "default"}
	cfg.CurrentContext = "testbed"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// serveKubeletAPI answers the few kubelet endpoints the apiserver proxies
// to (container logs), so that `kubectl logs` gives an answer instead of a
// connection error. There is no real output: nothing runs.
func serveKubeletAPI(p *pki, ln net.Listener, client kubernetes.Interface) (func(), error) {
	cert, err := tls.X509KeyPair(p.servingCertPEM, p.servingKey)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
		if len(parts) != 3 {
			http.NotFound(w, r)
			return
		}
		ns, name, container := parts[0], parts[1], parts[2]
		image := ""
		if pod, err := client.CoreV1().Pods(ns).Get(r.Context(), name, metav1.GetOptions{}); err == nil {
			for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
				if c.Name == container {
					image = c.Image
				}
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "testbed: simulated container %q of pod %s/%s (image %s) has no output\n", container, ns, name, image)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: nil}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return func() { _ = srv.Close() }, nil
}

// kubeletVersion is the version the simulated nodes report: the one the
// binary was stamped with (build.sh sets it), else the pinned release.
func kubeletVersion() string {
	v := version.Get().GitVersion
	if v == "" || strings.HasPrefix(v, "v0.0.0") {
		return "v1.34.10"
	}
	return v
}

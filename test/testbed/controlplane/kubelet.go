package main

// A simulated kubelet: it registers nodes, keeps their leases fresh and
// drives the status of the pods bound to them from the images the
// containers name. Nothing is ever run: the OCI registry answer (manifest
// and image config labels) decides what a container "does".

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

const behaviorLabel = "testbed.behavior"

type kubeletConfig struct {
	nodes        int
	readyDelay   time.Duration
	backoffBase  time.Duration
	backoffMax   time.Duration
	pullHold     time.Duration // how long ErrImagePull shows before ImagePullBackOff
	crashRuntime time.Duration // how long a crashing container runs
	cpu, memory  string
	maxPods      string
	kubeletPort  int
	version      string
}

type kubeletSim struct {
	cfg    kubeletConfig
	client kubernetes.Interface
	reg    *registryClient

	nodeNames []string
	nodeIndex map[string]int
	recorders map[string]record.EventRecorder
	bcasters  []record.EventBroadcaster

	mu         sync.Mutex
	workers    map[types.UID]*podWorker
	terminated map[types.UID]bool
	ipCounter  map[string]int
	seenImages map[string]map[string]bool // node -> image ref -> pulled before
}

func newKubeletSim(client kubernetes.Interface, reg *registryClient, cfg kubeletConfig) *kubeletSim {
	k := &kubeletSim{
		cfg:        cfg,
		client:     client,
		reg:        reg,
		nodeIndex:  map[string]int{},
		recorders:  map[string]record.EventRecorder{},
		workers:    map[types.UID]*podWorker{},
		terminated: map[types.UID]bool{},
		ipCounter:  map[string]int{},
		seenImages: map[string]map[string]bool{},
	}
	for i := 1; i <= cfg.nodes; i++ {
		name := fmt.Sprintf("testbed-node-%d", i)
		k.nodeNames = append(k.nodeNames, name)
		k.nodeIndex[name] = i
		k.seenImages[name] = map[string]bool{}
	}
	return k
}

// ---------------------------------------------------------------- nodes

func (k *kubeletSim) nodeObject(name string) *v1.Node {
	now := metav1.Now()
	capacity := v1.ResourceList{
		v1.ResourceCPU:              resource.MustParse(k.cfg.cpu),
		v1.ResourceMemory:           resource.MustParse(k.cfg.memory),
		v1.ResourcePods:             resource.MustParse(k.cfg.maxPods),
		v1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname":           name,
				"kubernetes.io/os":                 "linux",
				"kubernetes.io/arch":               "amd64",
				"beta.kubernetes.io/os":            "linux",
				"beta.kubernetes.io/arch":          "amd64",
				"node.kubernetes.io/instance-type": "testbed",
				"testbed.simulated":                "true",
			},
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl": "0",
			},
		},
		Status: v1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Phase:       v1.NodeRunning,
			Conditions: []v1.NodeCondition{
				cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "kubelet is posting ready status (simulated)"),
			},
			// Only loopback: nothing may ever dial anything else.
			Addresses: []v1.NodeAddress{
				{Type: v1.NodeInternalIP, Address: "127.0.0.1"},
				{Type: v1.NodeHostName, Address: name},
			},
			DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: int32(k.cfg.kubeletPort)}},
			NodeInfo: v1.NodeSystemInfo{
				MachineID:               name,
				SystemUUID:              name,
				BootID:                  name,
				KernelVersion:           "6.1.0-testbed",
				OSImage:                 "testbed simulated node",
				ContainerRuntimeVersion: "containerd://1.7.0-testbed",
				KubeletVersion:          k.cfg.version,
				KubeProxyVersion:        "",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

func (k *kubeletSim) registerNode(ctx context.Context, name string) error {
	want := k.nodeObject(name)
	n, err := k.client.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n, err = k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return err
	}
	n.Status = want.Status
	_, err = k.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the node lease every 10s and the node status every 30s,
// re-registering the node if someone deleted it.
func (k *kubeletSim) heartbeat(ctx context.Context, name string) {
	leases := k.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	renewLease := func() {
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			node, nerr := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if nerr != nil {
				return
			}
			l = &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: v1.NamespaceNodeLease,
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
			}
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		} else if err == nil {
			l.Spec.RenewTime = &now
			l.Spec.HolderIdentity = ptr.To(name)
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			klog.V(2).InfoS("lease renew failed", "node", name, "err", err)
		}
	}
	updateStatus := func() {
		n, err := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if err := k.registerNode(ctx, name); err != nil && ctx.Err() == nil {
				klog.Warningf("re-registering node %s: %v", name, err)
			}
			return
		}
		if err != nil {
			return
		}
		now := metav1.Now()
		want := k.nodeObject(name).Status
		for i := range want.Conditions {
			want.Conditions[i].LastHeartbeatTime = now
			for _, old := range n.Status.Conditions {
				if old.Type == want.Conditions[i].Type && old.Status == want.Conditions[i].Status {
					want.Conditions[i].LastTransitionTime = old.LastTransitionTime
				}
			}
		}
		want.Images = n.Status.Images
		n.Status = want
		if _, err := k.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
			klog.V(2).InfoS("node status update failed", "node", name, "err", err)
		}
	}
	renewLease()
	leaseTick := time.NewTicker(10 * time.Second)
	statusTick := time.NewTicker(30 * time.Second)
	defer leaseTick.Stop()
	defer statusTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-leaseTick.C:
			renewLease()
		case <-statusTick.C:
			updateStatus()
		}
	}
}

// Start registers the nodes and starts the per-node pod watches.
func (k *kubeletSim) Start(ctx context.Context) error {
	for _, name := range k.nodeNames {
		if err := k.registerNode(ctx, name); err != nil {
			return fmt.Errorf("register node %s: %w", name, err)
		}
		b := record.NewBroadcaster(record.WithContext(ctx))
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.client.CoreV1().Events("")})
		k.bcasters = append(k.bcasters, b)
		k.recorders[name] = b.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: name})
	}
	// The recorders map is read-only from here on.
	for _, name := range k.nodeNames {
		go k.heartbeat(ctx, name)

		nodeName := name
		f := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = "spec.nodeName=" + nodeName
			}))
		inf := f.Core().V1().Pods().Informer()
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { k.podChanged(ctx, obj) },
			UpdateFunc: func(_, obj any) { k.podChanged(ctx, obj) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if p, ok := obj.(*v1.Pod); ok {
					k.podGone(p.UID)
				}
			},
		})
		f.Start(ctx.Done())
	}
	return nil
}

func (k *kubeletSim) Shutdown() {
	for _, b := range k.bcasters {
		b.Shutdown()
	}
}

func (k *kubeletSim) podChanged(ctx context.Context, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	if _, ours := k.nodeIndex[pod.Spec.NodeName]; !ours {
		return
	}
	k.mu.Lock()
	w := k.workers[pod.UID]
	if pod.DeletionTimestamp != nil {
		if k.terminated[pod.UID] {
			k.mu.Unlock()
			return
		}
		k.terminated[pod.UID] = true
		delete(k.workers, pod.UID)
		k.mu.Unlock()
		go k.terminatePod(ctx, pod, w)
		return
	}
	if w != nil {
		k.mu.Unlock()
		w.setPod(pod)
		return
	}
	if k.terminated[pod.UID] || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
		k.mu.Unlock()
		return
	}
	w = k.newPodWorker(ctx, pod)
	k.workers[pod.UID] = w
	k.mu.Unlock()
	go w.run()
}

func (k *kubeletSim) podGone(uid types.UID) {
	k.mu.Lock()
	w := k.workers[uid]
	delete(k.workers, uid)
	k.mu.Unlock()
	if w != nil {
		w.cancel()
	}
	// Forget the uid a little later (late informer events may still arrive).
	time.AfterFunc(5*time.Minute, func() {
		k.mu.Lock()
		delete(k.terminated, uid)
		k.mu.Unlock()
	})
}

// terminatePod finishes a graceful deletion the way a kubelet does once the
// containers are gone: final status for run-to-completion pods, then a
// delete with grace period 0.
func (k *kubeletSim) terminatePod(ctx context.Context, pod *v1.Pod, w *podWorker) {
	if w != nil {
		w.cancel()
		<-w.done
	}
	rec := k.recorders[pod.Spec.NodeName]
	for _, c := range pod.Status.ContainerStatuses {
		if c.State.Running != nil {
			rec.Eventf(containerRef(pod, c.Name, false), v1.EventTypeNormal, "Killing", "Stopping container %s", c.Name)
		}
	}
	if pod.Spec.RestartPolicy != v1.RestartPolicyAlways && pod.Status.Phase != v1.PodSucceeded && pod.Status.Phase != v1.PodFailed && w != nil {
		w.mu.Lock()
		now := metav1.Now()
		for i := range w.status.ContainerStatuses {
			cs := &w.status.ContainerStatuses[i]
			if cs.State.Terminated == nil {
				var started metav1.Time
				if cs.State.Running != nil {
					started = cs.State.Running.StartedAt
				}
				cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
					ExitCode: 137, Reason: "Error", StartedAt: started, FinishedAt: now, ContainerID: cs.ContainerID}}
				cs.Ready = false
				cs.Started = ptr.To(false)
			}
		}
		w.status.Phase = v1.PodFailed
		w.recomputeLocked()
		w.mu.Unlock()
		w.push(context.WithoutCancel(ctx))
	}
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
		klog.Warningf("deleting pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

func (k *kubeletSim) allocateIP(node string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.ipCounter[node]
	k.ipCounter[node] = n + 1
	idx := k.nodeIndex[node]
	return fmt.Sprintf("10.244.%d.%d", (idx*16+(n/250)%16)%256, n%250+2)
}

func (k *kubeletSim) imageSeen(node, image string, mark bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	seen := k.seenImages[node][image]
	if mark {
		k.seenImages[node][image] = true
	}
	return seen
}

// ------------------------------------------------------------ pod worker

type podWorker struct {
	k      *kubeletSim
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	dirty  chan struct{}
	rec    record.EventRecorder
	node   string

	base *v1.Pod // the pod as first seen; its spec drives the simulation

	mu     sync.Mutex
	pod    *v1.Pod // latest object from the informer
	status v1.PodStatus
	creds  map[string]credential
}

func (k *kubeletSim) newPodWorker(parent context.Context, pod *v1.Pod) *podWorker {
	ctx, cancel := context.WithCancel(parent)
	return &podWorker{
		k:      k,
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		dirty:  make(chan struct{}, 1),
		rec:    k.recorders[pod.Spec.NodeName],
		node:   pod.Spec.NodeName,
		base:   pod.DeepCopy(),
		pod:    pod.DeepCopy(),
	}
}

func (w *podWorker) setPod(p *v1.Pod) {
	w.mu.Lock()
	w.pod = p.DeepCopy()
	w.mu.Unlock()
}

func containerRef(pod *v1.Pod, name string, init bool) *v1.ObjectReference {
	field := fmt.Sprintf("spec.containers{%s}", name)
	if init {
		field = fmt.Sprintf("spec.initContainers{%s}", name)
	}
	return &v1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: field,
	}
}

func (w *podWorker) event(c *v1.Container, init bool, typ, reason, format string, args ...any) {
	w.mu.Lock()
	pod := w.pod
	w.mu.Unlock()
	w.rec.Eventf(containerRef(pod, c.Name, init), typ, reason, format, args...)
}

func (w *podWorker) podDesc() string {
	return fmt.Sprintf("%s_%s(%s)", w.base.Name, w.base.Namespace, w.base.UID)
}

func (w *podWorker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

func (w *podWorker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// update mutates one container status under the lock and schedules a push.
func (w *podWorker) update(init bool, idx int, f func(cs *v1.ContainerStatus)) {
	w.mu.Lock()
	if init {
		f(&w.status.InitContainerStatuses[idx])
	} else {
		f(&w.status.ContainerStatuses[idx])
	}
	w.recomputeLocked()
	w.mu.Unlock()
	w.markDirty()
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isSidecar(c *v1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
}

func (w *podWorker) run() {
	defer close(w.done)
	pod := w.base
	now := metav1.Now()
	podIP := w.k.allocateIP(w.node)
	if pod.Spec.HostNetwork {
		podIP = "127.0.0.1"
	}
	w.creds = w.pullSecretCreds(pod)

	w.mu.Lock()
	w.status = v1.PodStatus{
		Phase:     v1.PodPending,
		HostIP:    "127.0.0.1",
		HostIPs:   []v1.HostIP{{IP: "127.0.0.1"}},
		PodIP:     podIP,
		PodIPs:    []v1.PodIP{{IP: podIP}},
		StartTime: &now,
	}
	initReason := "PodInitializing"
	mainReason := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		mainReason = "PodInitializing"
	}
	for _, c := range pod.Spec.InitContainers {
		w.status.InitContainerStatuses = append(w.status.InitContainerStatuses, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: ptr.To(false),
			State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: initReason}},
		})
	}
	for _, c := range pod.Spec.Containers {
		w.status.ContainerStatuses = append(w.status.ContainerStatuses, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: ptr.To(false),
			State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: mainReason}},
		})
	}
	w.recomputeLocked()
	w.mu.Unlock()
	w.markDirty()

	pushDone := make(chan struct{})
	go func() {
		defer close(pushDone)
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-w.dirty:
				// Not cancelled with the worker: an aborted request only
				// produces apiserver error logs.
				ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 15*time.Second)
				w.push(ctx)
				cancel()
			}
		}
	}()

	var wg sync.WaitGroup
	// Init containers in order; sidecars keep running in the background.
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if isSidecar(c) {
			started := make(chan struct{})
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				w.runContainer(c, true, i, true, started)
			}(i)
			select {
			case <-started:
			case <-w.ctx.Done():
			}
		} else if !w.runContainer(c, true, i, false, nil) {
			break
		}
		if w.ctx.Err() != nil || w.terminal() {
			break
		}
	}
	if w.ctx.Err() == nil && !w.terminal() && w.initDone() {
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				w.runContainer(c, false, i, pod.Spec.RestartPolicy == v1.RestartPolicyAlways, nil)
			}(i)
		}
	}
	// Wait until the pod is terminal or the worker is cancelled.
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		if w.terminal() {
			break
		}
		select {
		case <-w.ctx.Done():
			break loop
		case <-waitDone:
			if !w.terminal() {
				<-w.ctx.Done()
			}
			break loop
		case <-tick.C:
		}
	}
	terminal := w.terminal()
	w.cancel()
	<-pushDone
	wg.Wait()
	if terminal {
		// Sidecars are stopped once the pod is done.
		w.mu.Lock()
		now := metav1.Now()
		for i := range w.status.InitContainerStatuses {
			cs := &w.status.InitContainerStatuses[i]
			if cs.State.Running != nil {
				cs.State = v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
					StartedAt: cs.State.Running.StartedAt, FinishedAt: now, ContainerID: cs.ContainerID}}
				cs.Ready, cs.Started = false, ptr.To(false)
			}
		}
		w.recomputeLocked()
		w.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.push(ctx)
	}
}

func (w *podWorker) terminal() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status.Phase == v1.PodSucceeded || w.status.Phase == v1.PodFailed
}

func (w *podWorker) initDone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.initDoneLocked()
}

func (w *podWorker) initDoneLocked() bool {
	for i, c := range w.base.Spec.InitContainers {
		if i >= len(w.status.InitContainerStatuses) {
			return false
		}
		cs := w.status.InitContainerStatuses[i]
		if isSidecar(&c) {
			if cs.State.Running == nil && cs.LastTerminationState.Terminated == nil {
				return false
			}
			continue
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			return false
		}
	}
	return true
}

// pullImage resolves the container's image against the registry, retrying
// with ErrImagePull / ImagePullBackOff like a kubelet until it succeeds or
// the worker is cancelled.
func (w *podWorker) pullImage(c *v1.Container, init bool, idx int) *imageInfo {
	backoff := w.k.cfg.backoffBase
	for {
		ref, perr := parseImageRef(c.Image)
		full := c.Image
		if perr == nil {
			full = ref.String()
		}
		present := w.k.imageSeen(w.node, full, false)
		policy := c.ImagePullPolicy
		quiet := present && policy != v1.PullAlways
		if policy == v1.PullNever && !present {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
			w.update(init, idx, func(cs *v1.ContainerStatus) {
				cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: msg}}
			})
			w.event(c, init, v1.EventTypeWarning, "ErrImageNeverPull", "%s", msg)
			if !w.sleep(backoff) {
				return nil
			}
			backoff = w.nextBackoff(backoff)
			continue
		}
		if !quiet {
			w.event(c, init, v1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
		}
		start := time.Now()
		info, err := w.k.reg.Resolve(w.ctx, c.Image, w.creds)
		if w.ctx.Err() != nil {
			return nil
		}
		if err == nil {
			// Simulated transfer time: part of the configured ready delay.
			if !quiet && !w.sleep(w.k.cfg.readyDelay/2) {
				return nil
			}
			if quiet {
				w.event(c, init, v1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
			} else {
				d := time.Since(start).Round(time.Millisecond)
				w.event(c, init, v1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", c.Image, d, d, info.Size)
			}
			w.k.imageSeen(w.node, full, true)
			return info
		}
		errText := err.Error()
		w.update(init, idx, func(cs *v1.ContainerStatus) {
			cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ErrImagePull", Message: errText}}
		})
		w.event(c, init, v1.EventTypeWarning, "Failed", "Failed to pull image %q: %s", c.Image, errText)
		w.event(c, init, v1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		if !w.sleep(minDur(w.k.cfg.pullHold, backoff)) {
			return nil
		}
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		w.update(init, idx, func(cs *v1.ContainerStatus) {
			cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: msg}}
		})
		w.event(c, init, v1.EventTypeNormal, "BackOff", "%s", msg)
		w.event(c, init, v1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
		if !w.sleep(backoff) {
			return nil
		}
		backoff = w.nextBackoff(backoff)
	}
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func (w *podWorker) nextBackoff(b time.Duration) time.Duration {
	n := b * 2
	if n > w.k.cfg.backoffMax {
		n = w.k.cfg.backoffMax
	}
	return n
}

// runContainer simulates one container. keepRunning means the container is
// restarted whatever its exit (restartPolicy Always or a sidecar). It
// returns true when the container completed successfully (run-to-completion
// containers) and false otherwise. started is closed once it is running.
func (w *podWorker) runContainer(c *v1.Container, init bool, idx int, keepRunning bool, started chan struct{}) bool {
	signalStarted := func() {
		if started != nil {
			select {
			case <-started:
			default:
				close(started)
			}
		}
	}
	defer signalStarted()
	// keepRunning: a service container (regular container of a
	// restartPolicy=Always pod, or a sidecar). Otherwise the container runs
	// to completion and is only restarted after failures, if the pod's
	// restartPolicy allows it.
	restartOnFailure := keepRunning || w.base.Spec.RestartPolicy != v1.RestartPolicyNever
	backoff := w.k.cfg.backoffBase
	for runs := 1; ; runs++ {
		info := w.pullImage(c, init, idx)
		if info == nil {
			return false
		}
		behavior := strings.ToLower(strings.TrimSpace(info.Labels[behaviorLabel]))
		if behavior == "crashonce" {
			// Exits 1 on its first run only, like an app whose database is still starting.
			behavior = ""
			if runs == 1 {
				behavior = "fail"
			}
		}
		containerID := "containerd://" + randomID()
		startedAt := metav1.Now()
		w.event(c, init, v1.EventTypeNormal, "Created", "Created container: %s", c.Name)
		w.event(c, init, v1.EventTypeNormal, "Started", "Started container %s", c.Name)
		w.update(init, idx, func(cs *v1.ContainerStatus) {
			cs.Image = info.Ref.String()
			cs.ImageID = info.ImageID()
			cs.ContainerID = containerID
			cs.State = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: startedAt}}
			cs.Started = ptr.To(true)
			cs.Ready = false
		})
		signalStarted()

		var exitCode int32
		switch behavior {
		case "crashloop", "fail":
			if !w.sleep(w.k.cfg.crashRuntime) {
				return false
			}
			exitCode = 1
		case "unready":
			<-w.ctx.Done()
			return false
		default:
			if !w.sleep(w.k.cfg.readyDelay - w.k.cfg.readyDelay/2) {
				return false
			}
			if keepRunning {
				w.update(init, idx, func(cs *v1.ContainerStatus) { cs.Ready = true })
				<-w.ctx.Done()
				return false
			}
			exitCode = 0
		}

		term := &v1.ContainerStateTerminated{ExitCode: exitCode, StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: containerID, Reason: "Completed"}
		if exitCode != 0 {
			term.Reason = "Error"
		}
		restart := keepRunning || (restartOnFailure && exitCode != 0)
		if !restart {
			w.update(init, idx, func(cs *v1.ContainerStatus) {
				cs.State = v1.ContainerState{Terminated: term}
				cs.Started = ptr.To(false)
				cs.Ready = init && exitCode == 0
			})
			return exitCode == 0
		}
		msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", backoff, c.Name, w.podDesc())
		w.update(init, idx, func(cs *v1.ContainerStatus) {
			cs.LastTerminationState = v1.ContainerState{Terminated: term}
			cs.State = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: msg}}
			cs.RestartCount++
			cs.Started = ptr.To(false)
			cs.Ready = false
		})
		w.event(c, init, v1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.Name, w.podDesc())
		if !w.sleep(backoff) {
			return false
		}
		backoff = w.nextBackoff(backoff)
	}
}

// recomputeLocked derives phase and conditions from the container states,
// following the kubelet's rules.
func (w *podWorker) recomputeLocked() {
	st := &w.status
	pod := w.pod
	if st.Phase != v1.PodSucceeded && st.Phase != v1.PodFailed {
		st.Phase = w.phaseLocked()
	}
	now := metav1.Now()
	var unreadyNames, incompleteInit []string
	for i, c := range pod.Spec.InitContainers {
		if i >= len(st.InitContainerStatuses) {
			continue
		}
		cs := st.InitContainerStatuses[i]
		if isSidecar(&c) {
			if !cs.Ready {
				unreadyNames = append(unreadyNames, c.Name)
			}
			if cs.State.Running == nil && cs.LastTerminationState.Terminated == nil {
				incompleteInit = append(incompleteInit, c.Name)
			}
			continue
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			incompleteInit = append(incompleteInit, c.Name)
		}
	}
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unreadyNames = append(unreadyNames, cs.Name)
		}
	}
	mk := func(t v1.PodConditionType, ok bool, reason, msg string) v1.PodCondition {
		s := v1.ConditionFalse
		if ok {
			s = v1.ConditionTrue
			reason, msg = "", ""
		}
		c := v1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: now}
		for _, old := range st.Conditions {
			if old.Type == t && old.Status == s {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		c.ObservedGeneration = pod.Generation
		return c
	}
	list := func(n []string) string { return "[" + strings.Join(n, " ") + "]" }
	terminal := st.Phase == v1.PodSucceeded || st.Phase == v1.PodFailed

	initCond := mk(v1.PodInitialized, len(incompleteInit) == 0, "ContainersNotInitialized", "containers with incomplete status: "+list(incompleteInit))
	var crCond, readyCond v1.PodCondition
	if terminal {
		crCond = mk(v1.ContainersReady, false, "PodCompleted", "")
		readyCond = mk(v1.PodReady, false, "PodCompleted", "")
	} else {
		crCond = mk(v1.ContainersReady, len(unreadyNames) == 0, "ContainersNotReady", "containers with unready status: "+list(unreadyNames))
		readyCond = mk(v1.PodReady, len(unreadyNames) == 0, "ContainersNotReady", "containers with unready status: "+list(unreadyNames))
		if len(unreadyNames) == 0 {
			var missing []string
			for _, g := range pod.Spec.ReadinessGates {
				ok := false
				for _, pc := range pod.Status.Conditions {
					if pc.Type == g.ConditionType && pc.Status == v1.ConditionTrue {
						ok = true
					}
				}
				if !ok {
					missing = append(missing, string(g.ConditionType))
				}
			}
			if len(missing) > 0 {
				readyCond = mk(v1.PodReady, false, "ReadinessGatesNotReady", "corresponding condition of pod readiness gate "+fmt.Sprintf("%q", missing[0])+" does not exist.")
			}
		}
	}
	st.Conditions = []v1.PodCondition{
		mk(v1.PodReadyToStartContainers, !terminal, "", ""),
		initCond,
		readyCond,
		crCond,
		mk(v1.PodScheduled, true, "", ""),
	}
	st.ObservedGeneration = pod.Generation
}

func (w *podWorker) phaseLocked() v1.PodPhase {
	st := &w.status
	spec := w.pod.Spec
	// Init containers.
	for i, c := range spec.InitContainers {
		if i >= len(st.InitContainerStatuses) {
			return v1.PodPending
		}
		cs := st.InitContainerStatuses[i]
		if isSidecar(&c) {
			continue
		}
		if cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 && spec.RestartPolicy == v1.RestartPolicyNever {
			return v1.PodFailed
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			return v1.PodPending
		}
	}
	var running, waiting, stopped, succeeded, failed int
	for _, cs := range st.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			} else {
				failed++
			}
		case cs.State.Waiting != nil:
			if t := cs.LastTerminationState.Terminated; t != nil {
				stopped++
				if t.ExitCode == 0 {
					succeeded++
				} else {
					failed++
				}
			} else {
				waiting++
			}
		}
	}
	switch {
	case waiting > 0:
		return v1.PodPending
	case running > 0:
		return v1.PodRunning
	case stopped > 0 && stopped == len(st.ContainerStatuses):
		switch spec.RestartPolicy {
		case v1.RestartPolicyAlways:
			return v1.PodRunning
		case v1.RestartPolicyOnFailure:
			if failed > 0 {
				return v1.PodRunning
			}
			return v1.PodSucceeded
		default:
			if failed > 0 {
				return v1.PodFailed
			}
			return v1.PodSucceeded
		}
	}
	return v1.PodPending
}

// push sends the computed status with a strategic-merge patch on
// pods/status (conditions merge by type, container statuses are replaced).
func (w *podWorker) push(ctx context.Context) {
	w.mu.Lock()
	pod := w.pod
	st := w.status.DeepCopy()
	w.mu.Unlock()
	// Conditions are merged by type: clear reason/message explicitly
	// (null deletes in a strategic-merge patch) when a condition has none.
	raw, err := json.Marshal(st)
	if err != nil {
		klog.Errorf("marshal status: %v", err)
		return
	}
	var stMap map[string]any
	if err := json.Unmarshal(raw, &stMap); err != nil {
		klog.Errorf("unmarshal status: %v", err)
		return
	}
	if conds, ok := stMap["conditions"].([]any); ok {
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok {
				for _, k := range []string{"reason", "message"} {
					if _, set := m[k]; !set {
						m[k] = nil
					}
				}
			}
		}
	}
	patch := map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   stMap,
	}
	data, err := json.Marshal(patch)
	if err != nil {
		klog.Errorf("marshal status patch: %v", err)
		return
	}
	for attempt := 0; attempt < 5; attempt++ {
		_, err = w.k.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{}, "status")
		if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) || ctx.Err() != nil {
			return
		}
		time.Sleep(time.Duration(math.Min(float64(200*(attempt+1)), 1000)) * time.Millisecond)
	}
	if err != nil {
		klog.Warningf("updating status of pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// pullSecretCreds reads the pod's imagePullSecrets (dockerconfigjson or
// dockercfg) into host -> credential.
func (w *podWorker) pullSecretCreds(pod *v1.Pod) map[string]credential {
	out := map[string]credential{}
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := w.k.client.CoreV1().Secrets(pod.Namespace).Get(w.ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		var auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if data, ok := s.Data[v1.DockerConfigJsonKey]; ok {
			var cfg struct {
				Auths json.RawMessage `json:"auths"`
			}
			if json.Unmarshal(data, &cfg) == nil {
				_ = json.Unmarshal(cfg.Auths, &auths)
			}
		} else if data, ok := s.Data[v1.DockerConfigKey]; ok {
			_ = json.Unmarshal(data, &auths)
		}
		for host, a := range auths {
			user, pass := a.Username, a.Password
			if a.Auth != "" {
				if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					if u, p, ok := strings.Cut(string(dec), ":"); ok {
						user, pass = u, p
					}
				}
			}
			host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
			host = strings.TrimSuffix(strings.SplitN(host, "/", 2)[0], "/")
			if _, exists := out[host]; !exists {
				out[host] = credential{user: user, pass: pass}
			}
		}
	}
	return out
}

package main

// A simulated kubelet: it registers nodes, keeps their leases fresh and
// drives the status of the pods bound to them from the images the
// containers name. Nothing is ever run: the OCI registry answer (manifest
// and image config labels) decides what a container "does".
//
// This file: the simulator, its pod informers and pod termination. Nodes
// are in kubelet_node.go, the per-pod worker in kubelet_pod.go, image
// pulls and containers in kubelet_container.go, pod status in
// kubelet_status.go.

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

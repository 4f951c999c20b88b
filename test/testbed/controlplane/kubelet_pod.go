package main

// The per-pod worker: it runs the pod's containers in order and pushes
// the status they produce.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

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
	var podIP string
	if len(pod.Status.PodIPs) > 0 {
		// A pod this node already started, seen again after a restart of the simulator: a
		// kubelet keeps the sandbox, its IP and start time. A new IP would also be refused:
		// status.podIPs merges by ip, so the patch would carry two IPs of one family.
		podIP = pod.Status.PodIPs[0].IP
		if pod.Status.StartTime != nil {
			now = *pod.Status.StartTime
		}
	} else if pod.Spec.HostNetwork {
		podIP = "127.0.0.1"
	} else {
		podIP = w.k.allocateIP(w.node)
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

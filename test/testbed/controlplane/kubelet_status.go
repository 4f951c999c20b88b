package main

// Pod status: phase and conditions derived from the container states
// with the kubelet's rules, and the patch that publishes them.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

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
		// An error, not a warning: a pod whose status cannot be written stalls every rollout on it.
		klog.Errorf("updating status of pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

package main

// Simulated nodes: the Node object, registration, lease and status heartbeats.

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

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

package main

// One simulated container: image pull (with the kubelet's ErrImagePull /
// ImagePullBackOff cycle and pull secrets) and the run/restart loop driven
// by the image's behavior label.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

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

package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// imageRef is a parsed container image reference, normalised the way
// containerd normalises it (docker.io/library/..., default tag latest).
type imageRef struct {
	Domain string // host[:port]
	Path   string // repository path inside the registry
	Tag    string
	Digest string
}

// String is the fully qualified reference a kubelet reports in status.image.
func (r imageRef) String() string {
	s := r.Domain + "/" + r.Path
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Reference is what the manifest is requested by (digest wins over tag).
func (r imageRef) Reference() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

func parseImageRef(image string) (imageRef, error) {
	var r imageRef
	rest := strings.TrimSpace(image)
	if rest == "" {
		return r, errors.New("empty image reference")
	}
	if i := strings.Index(rest, "@"); i >= 0 {
		r.Digest = rest[i+1:]
		rest = rest[:i]
		if !strings.Contains(r.Digest, ":") {
			return r, fmt.Errorf("invalid digest %q", r.Digest)
		}
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i+1:], "/") {
		r.Tag = rest[i+1:]
		rest = rest[:i]
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		first := rest[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			r.Domain, r.Path = first, rest[i+1:]
		}
	}
	if r.Domain == "" {
		r.Domain, r.Path = "docker.io", rest
		if !strings.Contains(r.Path, "/") {
			r.Path = "library/" + r.Path
		}
	}
	if r.Path == "" || strings.ToLower(r.Path) != r.Path {
		return r, fmt.Errorf("invalid reference format: repository name must be lowercase")
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r, nil
}

// isLoopbackHost reports whether a registry host[:port] is on this machine.
// Only such registries are ever contacted.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// imageInfo is the result of resolving an image like a kubelet pull would.
type imageInfo struct {
	Ref    imageRef
	Digest string // digest of the manifest (or index) the reference resolved to
	Labels map[string]string
	Size   int64
}

// ImageID is what a kubelet reports in containerStatuses[].imageID.
func (i *imageInfo) ImageID() string {
	return i.Ref.Domain + "/" + i.Ref.Path + "@" + i.Digest
}

// pullError carries a containerd/CRI-like error text.
type pullError struct {
	code string // gRPC code name: NotFound, Unknown, ...
	msg  string
}

func (e *pullError) Error() string {
	return fmt.Sprintf("rpc error: code = %s desc = %s", e.code, e.msg)
}

type credential struct{ user, pass string }

type cacheEntry struct {
	info    *imageInfo
	err     error
	expires time.Time
}

// registryClient resolves images against OCI distribution registries that
// listen on loopback, with a short-lived cache per reference.
type registryClient struct {
	http  *http.Client
	creds map[string]credential
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cacheEntry
}

func newRegistryClient(creds map[string]credential, ttl time.Duration) *registryClient {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !isLoopbackHost(addr) {
				return nil, fmt.Errorf("dial tcp %s: testbed only contacts loopback registries", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
	}
	return &registryClient{
		http:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
		creds: creds,
		ttl:   ttl,
		cache: map[string]cacheEntry{},
	}
}

func (c *registryClient) credFor(domain string, extra map[string]credential) (credential, bool) {
	candidates := []string{domain}
	if h, p, err := net.SplitHostPort(domain); err == nil {
		switch h {
		case "localhost":
			candidates = append(candidates, net.JoinHostPort("127.0.0.1", p))
		case "127.0.0.1":
			candidates = append(candidates, net.JoinHostPort("localhost", p))
		}
	}
	for _, m := range []map[string]credential{extra, c.creds} {
		for _, k := range candidates {
			if cr, ok := m[k]; ok {
				return cr, true
			}
		}
	}
	return credential{}, false
}

// Resolve asks the registry for the image the way a pull would start:
// manifest (following an index to linux/amd64), then the config blob.
// pullCreds are credentials from the pod's imagePullSecrets (may be nil).
func (c *registryClient) Resolve(ctx context.Context, image string, pullCreds map[string]credential) (*imageInfo, error) {
	ref, err := parseImageRef(image)
	if err != nil {
		return nil, &pullError{code: "InvalidArgument", msg: fmt.Sprintf("failed to pull and unpack image %q: %v", image, err)}
	}
	cr, hasCred := c.credFor(ref.Domain, pullCreds)
	key := ref.String()
	if hasCred {
		key += "|" + cr.user + ":" + cr.pass
	}
	c.mu.Lock()
	if e, ok := c.cache[key]; ok && time.Now().Before(e.expires) {
		c.mu.Unlock()
		return e.info, e.err
	}
	c.mu.Unlock()

	info, err := c.resolve(ctx, ref, cr, hasCred)
	if ctx.Err() != nil {
		return info, err
	}
	c.mu.Lock()
	c.cache[key] = cacheEntry{info: info, err: err, expires: time.Now().Add(c.ttl)}
	if len(c.cache) > 2048 {
		now := time.Now()
		for k, e := range c.cache {
			if now.After(e.expires) {
				delete(c.cache, k)
			}
		}
	}
	c.mu.Unlock()
	return info, err
}

var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	} `json:"platform,omitempty"`
}

type manifestDoc struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
}

func (c *registryClient) resolve(ctx context.Context, ref imageRef, cr credential, hasCred bool) (*imageInfo, error) {
	named := ref.String()
	fail := func(code, format string, a ...any) error {
		return &pullError{code: code, msg: fmt.Sprintf("failed to pull and unpack image %q: ", named) + fmt.Sprintf(format, a...)}
	}
	if !isLoopbackHost(ref.Domain) {
		host := ref.Domain
		if host == "docker.io" {
			host = "registry-1.docker.io"
		}
		return nil, fail("Unknown", "failed to resolve reference %q: failed to do request: Head %q: dial tcp: lookup %s: no such host",
			named, fmt.Sprintf("https://%s/v2/%s/manifests/%s", host, ref.Path, ref.Reference()), hostOnly(host))
	}
	base := "http://" + ref.Domain + "/v2/" + ref.Path
	a := &authState{client: c, cred: cr, hasCred: hasCred}

	body, digest, mediaType, status, err := a.get(ctx, base+"/manifests/"+ref.Reference(), manifestAccept)
	if err != nil {
		return nil, fail("Unknown", "failed to resolve reference %q: failed to do request: Head %q: %v", named, base+"/manifests/"+ref.Reference(), unwrapURLError(err))
	}
	switch {
	case status == http.StatusNotFound:
		return nil, fail("NotFound", "failed to resolve reference %q: %s: not found", named, named)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if !hasCred {
			return nil, fail("Unknown", "failed to resolve reference %q: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials", named)
		}
		return nil, fail("Unknown", "failed to resolve reference %q: unexpected status from HEAD request to %s: %d %s", named, base+"/manifests/"+ref.Reference(), status, http.StatusText(status))
	case status != http.StatusOK:
		return nil, fail("Unknown", "failed to resolve reference %q: unexpected status from HEAD request to %s: %d %s", named, base+"/manifests/"+ref.Reference(), status, http.StatusText(status))
	}
	info := &imageInfo{Ref: ref, Digest: digest}

	var doc manifestDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fail("Unknown", "failed to parse manifest %s: %v", digest, err)
	}
	if doc.MediaType == "" {
		doc.MediaType = mediaType
	}
	if len(doc.Manifests) > 0 || strings.Contains(doc.MediaType, "index") || strings.Contains(doc.MediaType, "manifest.list") {
		if len(doc.Manifests) == 0 {
			return nil, fail("NotFound", "no match for platform in manifest: not found")
		}
		chosen := doc.Manifests[0]
		for _, m := range doc.Manifests {
			if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == "amd64" {
				chosen = m
				break
			}
		}
		u := base + "/manifests/" + chosen.Digest
		body, _, _, status, err = a.get(ctx, u, manifestAccept)
		if err != nil {
			return nil, fail("Unknown", "failed to do request: Get %q: %v", u, unwrapURLError(err))
		}
		if status != http.StatusOK {
			return nil, fail("NotFound", "failed to copy: httpReadSeeker: failed open: content at %s not found: not found", u)
		}
		doc = manifestDoc{}
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fail("Unknown", "failed to parse manifest %s: %v", chosen.Digest, err)
		}
	}
	if doc.Config.Digest == "" {
		return nil, fail("Unknown", "manifest %s has no config", digest)
	}
	u := base + "/blobs/" + doc.Config.Digest
	cfgBody, _, _, status, err := a.get(ctx, u, "application/vnd.oci.image.config.v1+json, application/vnd.docker.container.image.v1+json, */*")
	if err != nil {
		return nil, fail("Unknown", "failed to do request: Get %q: %v", u, unwrapURLError(err))
	}
	if status != http.StatusOK {
		return nil, fail("NotFound", "failed to extract layer: content at %s not found: not found", u)
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := json.Unmarshal(cfgBody, &cfg); err != nil {
		return nil, fail("Unknown", "failed to parse image config %s: %v", doc.Config.Digest, err)
	}
	info.Labels = cfg.Config.Labels
	if info.Labels == nil {
		info.Labels = map[string]string{}
	}
	info.Size = doc.Config.Size
	for _, l := range doc.Layers {
		info.Size += l.Size
	}
	return info, nil
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// authState performs requests against one repository, answering Basic and
// Bearer (token service) challenges with the configured credential.
type authState struct {
	client  *registryClient
	cred    credential
	hasCred bool
	header  string // Authorization header value once known
}

func (a *authState) get(ctx context.Context, u, accept string) (body []byte, digest, mediaType string, status int, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, "", "", 0, err
		}
		req.Header.Set("Accept", accept)
		req.Header.Set("User-Agent", "containerd/testbed-kubelet")
		if a.header != "" {
			req.Header.Set("Authorization", a.header)
		}
		resp, err := a.client.http.Do(req)
		if err != nil {
			return nil, "", "", 0, err
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return nil, "", "", 0, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && a.hasCred {
			if err := a.answerChallenge(ctx, resp.Header.Get("WWW-Authenticate")); err != nil {
				return nil, "", "", resp.StatusCode, nil
			}
			continue
		}
		digest = resp.Header.Get("Docker-Content-Digest")
		if digest == "" && resp.StatusCode == http.StatusOK {
			sum := sha256.Sum256(body)
			digest = "sha256:" + hex.EncodeToString(sum[:])
		}
		mediaType = resp.Header.Get("Content-Type")
		if i := strings.Index(mediaType, ";"); i >= 0 {
			mediaType = mediaType[:i]
		}
		return body, digest, mediaType, resp.StatusCode, nil
	}
	return nil, "", "", http.StatusUnauthorized, nil
}

func (a *authState) answerChallenge(ctx context.Context, challenge string) error {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(a.cred.user+":"+a.cred.pass))
	scheme, params := parseChallenge(challenge)
	switch strings.ToLower(scheme) {
	case "basic", "":
		a.header = basic
		return nil
	case "bearer":
		realm := params["realm"]
		ru, err := url.Parse(realm)
		if err != nil || !isLoopbackHost(ru.Host) {
			return fmt.Errorf("token realm %q is not a loopback address", realm)
		}
		q := ru.Query()
		if s := params["service"]; s != "" {
			q.Set("service", s)
		}
		if s := params["scope"]; s != "" {
			q.Set("scope", s)
		}
		ru.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ru.String(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", basic)
		resp, err := a.client.http.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("token service answered %s", resp.Status)
		}
		var tok struct {
			Token       string `json:"token"`
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
			return err
		}
		t := tok.Token
		if t == "" {
			t = tok.AccessToken
		}
		a.header = "Bearer " + t
		return nil
	}
	return fmt.Errorf("unsupported auth scheme %q", scheme)
}

func parseChallenge(h string) (string, map[string]string) {
	params := map[string]string{}
	h = strings.TrimSpace(h)
	sp := strings.IndexByte(h, ' ')
	if sp < 0 {
		return h, params
	}
	scheme, rest := h[:sp], h[sp+1:]
	for len(rest) > 0 {
		rest = strings.TrimLeft(rest, " ,")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		k := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = rest[eq+1:]
		var v string
		if strings.HasPrefix(rest, "\"") {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				v, rest = rest[1:], ""
			} else {
				v, rest = rest[1:1+end], rest[2+end:]
			}
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				v, rest = rest, ""
			} else {
				v, rest = rest[:end], rest[end:]
			}
		}
		params[k] = v
	}
	return scheme, params
}

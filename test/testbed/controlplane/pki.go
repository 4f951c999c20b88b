package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the PEM material of the control plane: generated on a fresh start,
// loaded again by a restart that keeps the state (--keep-state).
type pki struct {
	dir string

	caCertPEM, caKeyPEM        []byte
	servingCertPEM, servingKey []byte
	adminCertPEM, adminKeyPEM  []byte
	saKeyPEM, saPubPEM         []byte
	caCert                     *x509.Certificate
	caKey                      *ecdsa.PrivateKey
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// loadPKI reads what generatePKI wrote below dir; ok is false when any file is missing.
func loadPKI(dir string) (p *pki, ok bool, err error) {
	p = &pki{dir: dir}
	targets := map[string]*[]byte{
		"ca.crt": &p.caCertPEM, "ca.key": &p.caKeyPEM,
		"serving.crt": &p.servingCertPEM, "serving.key": &p.servingKey,
		"admin.crt": &p.adminCertPEM, "admin.key": &p.adminKeyPEM,
		"sa.key": &p.saKeyPEM, "sa.pub": &p.saPubPEM,
	}
	for name, target := range targets {
		data, err := os.ReadFile(p.path(name))
		if os.IsNotExist(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		*target = data
	}
	certBlock, _ := pem.Decode(p.caCertPEM)
	keyBlock, _ := pem.Decode(p.caKeyPEM)
	if certBlock == nil || keyBlock == nil {
		return nil, false, fmt.Errorf("%s: ca.crt or ca.key is not PEM", dir)
	}
	if p.caCert, err = x509.ParseCertificate(certBlock.Bytes); err != nil {
		return nil, false, err
	}
	if p.caKey, err = x509.ParseECPrivateKey(keyBlock.Bytes); err != nil {
		return nil, false, err
	}
	return p, true, nil
}

// generatePKI creates a CA, a serving certificate for the loopback apiserver,
// an admin client certificate (group system:masters) and the service account
// signing key pair, and writes them below dir.
func generatePKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{dir: dir}
	now := time.Now().Add(-time.Hour)
	notAfter := now.Add(10 * 365 * 24 * time.Hour)

	caKey, caKeyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "testbed-ca"},
		NotBefore:             now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	p.caCert, _ = x509.ParseCertificate(caDER)
	p.caKey = caKey
	p.caCertPEM, p.caKeyPEM = certPEM(caDER), caKeyPEM

	issue := func(tmpl *x509.Certificate) ([]byte, []byte, error) {
		k, kPEM, err := newKey()
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber = serial()
		tmpl.NotBefore, tmpl.NotAfter = now, notAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.BasicConstraintsValid = true
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &k.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		return certPEM(der), kPEM, nil
	}

	p.servingCertPEM, p.servingKey, err = issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP(serviceIP)},
	})
	if err != nil {
		return nil, err
	}
	p.adminCertPEM, p.adminKeyPEM, err = issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "testbed-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}

	saKey, saKeyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	p.saKeyPEM = saKeyPEM
	p.saPubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	files := map[string][]byte{
		"ca.crt":      p.caCertPEM,
		"ca.key":      p.caKeyPEM,
		"serving.crt": p.servingCertPEM,
		"serving.key": p.servingKey,
		"admin.crt":   p.adminCertPEM,
		"admin.key":   p.adminKeyPEM,
		"sa.key":      p.saKeyPEM,
		"sa.pub":      p.saPubPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(p.path(name), data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return p, nil
}

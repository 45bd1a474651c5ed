package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTLSPair writes a self-signed certificate for 127.0.0.1 and its key,
// as PEM files in dir, and returns their paths.
func writeTLSPair(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestRunTLSCertFiles serves HTTPS with the certificate and key of
// -tls-cert and -tls-key: a client that trusts that certificate gets
// answers.
func TestRunTLSCertFiles(t *testing.T) {
	t.Parallel()
	cert, key := writeTLSPair(t, t.TempDir())
	creds, _, _ := startRun(t, "-nodes", "10", "-tls-cert", cert, "-tls-key", key)
	if !strings.HasPrefix(creds.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %q, want https on 127.0.0.1", creds.URL)
	}
	creds.CAFile = cert
	info, err := clientFor(t, creds, 0).GetAccountInfo(context.Background())
	if err != nil || info.Username != "demo1" {
		t.Fatalf("have %+v, %v; want demo1's account info over TLS", info, err)
	}
}

// TestRunTLSFileErrors gives -tls-cert and -tls-key files that are missing
// or hold no PEM: a usage error that names the flag and the path.
func TestRunTLSFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeTLSPair(t, dir)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		cert, key string
		want      []string
	}{
		{missing, key, []string{"-tls-cert", missing}},
		{cert, missing, []string{"-tls-key", missing}},
		{junk, key, []string{"-tls-cert", "-tls-key"}},
		{cert, junk, []string{"-tls-cert", "-tls-key"}},
		{key, cert, []string{"-tls-cert", "-tls-key"}},
	} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-nodes", "0", "-tls-cert", tc.cert, "-tls-key", tc.key}, os.Stdout, os.Stderr)
		if err == nil || !isUsageError(err) {
			t.Errorf("-tls-cert %s -tls-key %s: have %v, want a usage error", tc.cert, tc.key, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("-tls-cert %s -tls-key %s: %q does not name %s", tc.cert, tc.key, err, w)
			}
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("the error quotes the key file: %v", err)
		}
	}
}

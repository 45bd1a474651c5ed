package seattlersa_test

import (
	"errors"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Keys are plain decimal strings; parsing accepts any white space and leading
// zeros, String writes the canonical form.
func ExampleParsePublicKey() {
	pub, err := seattlersa.ParsePublicKey("  017\t3233\n")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pub)

	_, err = seattlersa.ParsePublicKey("3233 17")
	fmt.Println(err, errors.Is(err, seattlersa.ErrInvalidKey))
	// Output:
	// 17 3233
	// seattlersa: invalid public key: want 0 < e < n true
}

func ExampleParsePrivateKey() {
	priv, err := seattlersa.ParsePrivateKey("2753 61 53")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(priv.N())

	_, err = seattlersa.ParsePrivateKey("2753 60 53") // 60 is not prime
	fmt.Println(err)
	// Output:
	// 3233
	// seattlersa: invalid private key
}

// A seeded reader gives the same key every time, which suits tests and
// fixtures; pass nil to use crypto/rand.
func ExampleGenerateKey() {
	seed := rand.NewChaCha8([32]byte{1})
	pub, priv, err := seattlersa.GenerateKey(seed, 1024)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pub.E, pub.N.BitLen(), seattlersa.BlockSize(pub), priv.N().Cmp(pub.N) == 0)
	// Output:
	// 65537 1024 126 true
}

func ExampleEncrypt() {
	pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{2}), 512)
	if err != nil {
		log.Fatal(err)
	}
	msg := make([]byte, 100) // 62 bytes per block under a 512-bit key
	copy(msg, "two blocks")
	text := seattlersa.Encrypt(pub, msg)

	plain, err := seattlersa.Decrypt(priv, text)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q %d\n", plain[:10], len(plain))
	// Output:
	// "two blocks" 100
}

// The server side of get_encrypted_api_key and the client side that recovers
// the key.
func ExampleEncryptAPIKey() {
	pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{3}), 1024)
	if err != nil {
		log.Fatal(err)
	}
	apiKey := seattlersa.NewAPIKey(rand.NewChaCha8([32]byte{4}))
	fmt.Println(apiKey)

	ciphertext, err := seattlersa.EncryptAPIKey(nil, pub, apiKey)
	if err != nil {
		log.Fatal(err)
	}
	got, err := seattlersa.DecryptAPIKey(priv, ciphertext)
	fmt.Println(got == apiKey, err)

	// Another key pair cannot read it.
	_, other, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{5}), 1024)
	if err != nil {
		log.Fatal(err)
	}
	_, err = seattlersa.DecryptAPIKey(other, ciphertext)
	fmt.Println(errors.Is(err, seattlersa.ErrKeyMismatch))

	// A 256-bit key cannot hold the payload in one block.
	small, _, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{6}), 256)
	if err != nil {
		log.Fatal(err)
	}
	_, err = seattlersa.EncryptAPIKey(nil, small, apiKey)
	fmt.Println(err)
	// Output:
	// 9Z130I6WMAK2UJLHPG7RD48EYVQN5CTX
	// true <nil>
	// true
	// seattlersa: public key too small to encrypt the API key in one block
}

// A node manager request is signed over its SHA-1 digest; the signature
// field starts with a space. A private key string has no e, so the public
// key that goes into the request is derived from it.
func ExampleSign() {
	priv, err := seattlersa.ParsePrivateKey("13007492819394379409 3509145229 3835978637")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		log.Fatal(err)
	}
	msg := []byte("ReadVesselLog|v2\n!" + pub.String() + "!3913056000.12!3913059600.12!None!None")
	sig, err := seattlersa.Sign(priv, msg) // a 64-bit toy key: four blocks
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n%q\n", pub, sig)
	fmt.Println(seattlersa.Verify(pub, msg, sig), seattlersa.Verify(pub, msg, sig+" "))
	fmt.Println(seattlersa.VerifyLax(pub, msg, sig+" "))
	// Output:
	// 65537 13461006132574472873
	// " 5798070412621783576 5699829804390804240 10289935333726158318 6722040456370916845"
	// <nil> seattlersa: bad signature: text after the last block
	// <nil>
}

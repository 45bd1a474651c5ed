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

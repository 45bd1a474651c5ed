// Package seattlersa implements Seattle's raw-RSA schemes: the one the
// Seattle Clearinghouse uses to hand a user's API key to whoever holds the
// matching private key (the get_encrypted_api_key call), and the one that
// signs every request to a node manager (Sign, Verify, VerifyLax).
//
// It is textbook RSA with a one-byte marker, not PKCS#1, and it offers no
// protection beyond what the wire format needs: use it only to interoperate
// with the clearinghouse.
//
// Keys travel as decimal strings: a public key is "<e> <n>" and a private key
// is "<d> <p> <q>", with n = p×q. [ParsePublicKey] and [ParsePrivateKey] read
// them and the String methods write them back in canonical form (single
// spaces, no signs, no leading zeros).
//
// [Encrypt] splits a message into [BlockSize]-byte chunks, prefixes each with
// the byte 0x01 and writes every c = m^e mod n as " c" (a space, then the
// decimal number). [Decrypt] reverses this. [EncryptAPIKey] and
// [DecryptAPIKey] add the clearinghouse payload on top: 20 random letters and
// digits, "!", then the API key, in a single block.
//
// Typical client use, with the private key string the user registered:
//
//	priv, err := seattlersa.ParsePrivateKey(privateKeyString)
//	if err != nil {
//		return err
//	}
//	// ciphertext is the string returned by get_encrypted_api_key.
//	apiKey, err := seattlersa.DecryptAPIKey(priv, ciphertext)
//	if errors.Is(err, seattlersa.ErrKeyMismatch) {
//		// The key pair is not the one stored for this account.
//	}
//
// And the server side:
//
//	pub, priv, err := seattlersa.GenerateKey(nil, 1024) // nil: crypto/rand
//	if err != nil {
//		return err
//	}
//	// Store pub.String() as the user's public key and hand priv.String() to
//	// the user; keep apiKey.
//	apiKey := seattlersa.NewAPIKey(nil)
//	ciphertext, err := seattlersa.EncryptAPIKey(nil, pub, apiKey)
//	if errors.Is(err, seattlersa.ErrKeyTooSmall) {
//		// The user's modulus is under 433 bits: fault 100.
//	}
//
// Node manager requests are signed over their SHA-1 digest with the same
// block transform, the exponents swapped (docs/nodemanager-api.md §3.3):
//
//	sig, err := seattlersa.Sign(priv, []byte(signedText)) // " s1 s2 …"
//	err = seattlersa.Verify(pub, []byte(signedText), sig) // exactly Sign's form
//	err = seattlersa.VerifyLax(pub, []byte(signedText), sig) // as the node checked
//
// A private key string has no e; PrivateKey.PublicKey derives the public
// key when e is 65537, as for every key Seattle's tools made.
//
// Sizes are bounded so that no key string can make a caller work for long:
// a modulus (and the exponents) of at most [MaxModulusBits] bits, key
// strings of at most [MaxKeyStringBytes] bytes, and ciphertext tokens no
// longer than such a modulus. Larger input is refused before any number is
// parsed or any primality test runs.
//
// Error messages never contain private key material.
package seattlersa

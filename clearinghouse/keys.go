package clearinghouse

import (
	"context"
	"errors"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Seattle RSA keys, as used by get_encrypted_api_key. They are the types of
// package seattlersa, which holds the scheme itself.
type (
	PublicKey  = seattlersa.PublicKey
	PrivateKey = seattlersa.PrivateKey
)

// ParsePublicKey parses a public key string "<e> <n>".
func ParsePublicKey(s string) (*PublicKey, error) { return seattlersa.ParsePublicKey(s) }

// ParsePrivateKey parses a private key string "<d> <p> <q>".
func ParsePrivateKey(s string) (*PrivateKey, error) { return seattlersa.ParsePrivateKey(s) }

// Encrypt encrypts msg in the raw Seattle form " c1 c2 ...".
func Encrypt(pub *PublicKey, msg []byte) string { return seattlersa.Encrypt(pub, msg) }

// Decrypt reverses Encrypt.
func Decrypt(priv *PrivateKey, text string) ([]byte, error) { return seattlersa.Decrypt(priv, text) }

// DecryptAPIKey extracts the API key from a get_encrypted_api_key result.
func DecryptAPIKey(priv *PrivateKey, ciphertext string) (string, error) {
	return seattlersa.DecryptAPIKey(priv, ciphertext)
}

// mismatchMsg is the original client's message for a key pair that is
// not the account's.
const mismatchMsg = "The provided private key does not appear to correspond to this account's public key: encrypted API key could not be decrypted."

// GetEncryptedAPIKey returns the API key of username encrypted with the
// account's public key. It needs no authentication.
func (c *Client) GetEncryptedAPIKey(ctx context.Context, username string) (string, error) {
	var ct string
	if err := c.call(ctx, "get_encrypted_api_key", true, &ct, username); err != nil {
		return "", err
	}
	return ct, nil
}

// FetchAPIKey obtains the account's API key with the client's private key
// and makes the client use it. Calls that need the key do this on their
// own when the client has none; call it to fail early, with your own
// context. A private key that does not match the account gives
// ErrAuthentication.
func (c *Client) FetchAPIKey(ctx context.Context) error {
	if c.privateKey == nil {
		return invalidArgument("no private key to fetch the API key with")
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if c.currentAPIKey() != "" {
		return nil // fetched while we waited
	}
	ct, err := c.GetEncryptedAPIKey(ctx, c.username)
	if err != nil {
		return err
	}
	key, err := seattlersa.DecryptAPIKey(c.privateKey, ct)
	switch {
	case errors.Is(err, seattlersa.ErrKeyMismatch):
		return &Error{Method: "get_encrypted_api_key", Kind: ErrAuthentication, Msg: mismatchMsg, Err: err}
	case err != nil:
		return &Error{Method: "get_encrypted_api_key", Kind: ErrCommunication, Msg: "the encrypted API key is malformed", Err: err}
	}
	c.setAPIKey(key)
	return nil
}

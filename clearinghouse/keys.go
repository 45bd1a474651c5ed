package clearinghouse

import (
	"context"
	"errors"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// mismatchMsg is the original client's message for a key pair that is
// not the account's.
const mismatchMsg = "The provided private key does not appear to correspond to this account's public key: encrypted API key could not be decrypted."

// GetEncryptedAPIKey returns the API key of username encrypted with the
// account's public key. It needs no authentication. Decrypt it with
// seattlersa.DecryptAPIKey, or let FetchAPIKey do both steps.
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

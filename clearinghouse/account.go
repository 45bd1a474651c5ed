package clearinghouse

import (
	"context"
)

// AccountInfo describes the account, as get_account_info returns it.
type AccountInfo struct {
	Username        string `xmlrpc:"user_name"`
	UserPort        int    `xmlrpc:"user_port"`        // the port every vessel acquired by type includes
	MaxVessels      int    `xmlrpc:"max_vessels"`      // total credits, not reduced by vessels held
	UserAffiliation string `xmlrpc:"user_affiliation"` // free text given at registration
}

// GetAccountInfo returns the account's name, port, credits and affiliation.
func (c *Client) GetAccountInfo(ctx context.Context) (*AccountInfo, error) {
	auth, err := c.auth(ctx)
	if err != nil {
		return nil, err
	}
	var info AccountInfo
	if err := c.call(ctx, "get_account_info", true, &info, auth); err != nil {
		return nil, err
	}
	return &info, nil
}

// GetPublicKey returns the account's public key, "<e> <n>".
func (c *Client) GetPublicKey(ctx context.Context) (string, error) {
	auth, err := c.auth(ctx)
	if err != nil {
		return "", err
	}
	var key string
	if err := c.call(ctx, "get_public_key", true, &key, auth); err != nil {
		return "", err
	}
	return key, nil
}

// SetPublicKey replaces the account's public key, authenticating with the
// password. The server keeps the string exactly as given. The client
// remembers the password (and up to three earlier ones) only to keep it
// out of the errors it returns.
func (c *Client) SetPublicKey(ctx context.Context, password, publicKey string) error {
	c.rememberPassword(password)
	pwauth := map[string]any{"username": c.username, "password": password}
	return c.call(ctx, "set_public_key", false, nil, pwauth, publicKey)
}

// RegenerateAPIKey asks for a new API key, authenticating with the
// password, and makes the client use it from then on. The old key stops
// working at once; calls already in flight with it may fail with
// ErrAuthentication. As with SetPublicKey, the password, and the old key,
// are remembered only to keep them out of errors.
func (c *Client) RegenerateAPIKey(ctx context.Context, password string) (string, error) {
	c.rememberPassword(password)
	pwauth := map[string]any{"username": c.username, "password": password}
	var key string
	if err := c.call(ctx, "regenerate_api_key", false, &key, pwauth); err != nil {
		return "", err
	}
	if key == "" {
		return "", &Error{Method: "regenerate_api_key", Kind: ErrCommunication, Msg: "the server returned an empty API key"}
	}
	c.setAPIKey(key)
	return key, nil
}

package conformance

import (
	"context"
	"errors"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// Client: the project's client library against the target (contract §12.2).
func clientChecks() []check {
	return []check{
		{"ReadOnly", needs{}, checkClientReadOnly},
		{"Errors", needs{}, checkClientErrors},
		{"AcquireErrors", needs{vessels: 1, expectsFaults: true}, checkClientAcquireErrors},
		{"Flow", needs{vessels: 1}, checkClientFlow},
		{"AccountChanges", needs{controls: true}, checkClientAccountChanges},
	}
}

// libClient returns a client library instance for a.
func (s *session) libClient(t T, a *acct, key string) *clearinghouse.Client {
	t.Helper()
	c, err := clearinghouse.New(a.name, clearinghouse.WithAPIKey(key),
		clearinghouse.WithURL(s.url()), clearinghouse.WithHTTPClient(s.httpClient()))
	if err != nil {
		s.fatalf(t, "clearinghouse.New: %v", err)
	}
	return c
}

func checkClientReadOnly(t T, s *session) {
	a := s.main()
	c := s.libClient(t, a, s.key(a))
	info, err := c.GetAccountInfo(s.ctx(t))
	if err != nil {
		s.fatalf(t, "GetAccountInfo: %v", err)
	}
	raw := s.accountInfo(t, a)
	if info.Username != raw.UserName || int64(info.UserPort) != raw.UserPort ||
		int64(info.MaxVessels) != raw.MaxVessels || info.UserAffiliation != raw.Affil {
		s.errorf(t, "GetAccountInfo %+v, the wire says %+v", *info, raw)
	}
	key, err := c.GetPublicKey(s.ctx(t))
	if err != nil {
		s.fatalf(t, "GetPublicKey: %v", err)
	}
	if rawKey := s.mustCall(t, "get_public_key", s.auth(a)); key != rawKey {
		s.errorf(t, "GetPublicKey differs from get_public_key")
	}
	held, err := c.GetResourceInfo(s.ctx(t))
	if err != nil {
		s.fatalf(t, "GetResourceInfo: %v", err)
	}
	if rawHeld := s.holding(t, a); len(held) != len(rawHeld) {
		s.errorf(t, "GetResourceInfo lists %d vessels, get_resource_info %d", len(held), len(rawHeld))
	}
}

// checkClientErrors: faults come back as the client's error kinds with
// code and string (§12.2), and never carry the API key.
func checkClientErrors(t T, s *session) {
	a := s.main()
	bad := s.libClient(t, a, "conformance-wrong-key-"+s.runID)
	_, err := bad.GetAccountInfo(s.ctx(t))
	var f *xmlrpc.Fault
	var ce *clearinghouse.Error
	switch {
	case !errors.Is(err, clearinghouse.ErrAuthentication) || !errors.Is(err, clearinghouse.ErrClearinghouse):
		s.errorf(t, "GetAccountInfo with a wrong key: %v, want ErrAuthentication", err)
	case !errors.As(err, &f) || f.Code != 101:
		s.errorf(t, "GetAccountInfo with a wrong key: no fault 101 inside %v", err)
	case !errors.As(err, &ce) || ce.Code != 101 || ce.Msg != f.String:
		s.errorf(t, "GetAccountInfo with a wrong key: the *clearinghouse.Error does not carry the fault: %v", err)
	}

	good := s.libClient(t, a, s.key(a))
	err = good.RenewResources(s.ctx(t), []clearinghouse.Handle{"nocolon"})
	if !errors.Is(err, clearinghouse.ErrInvalidRequest) {
		s.errorf(t, "RenewResources([nocolon]): %v, want ErrInvalidRequest", err)
	}
	if err != nil && strings.Contains(err.Error(), s.key(a)) {
		t.Error("an error message of the client library contains the API key")
	}
	if err := good.ReleaseResources(s.ctx(t), nil); !errors.Is(err, clearinghouse.ErrInvalidArgument) || errors.Is(err, clearinghouse.ErrClearinghouse) {
		s.errorf(t, "ReleaseResources(nil): %v, want a local ErrInvalidArgument", err)
	}
}

// checkClientAcquireErrors: acquire_resources faults come back as
// ErrInvalidRequest with the fault inside (§12.2). A server that wrongly
// accepts these requests would hand out a vessel: these calls need a
// vessel of budget, and what they wrongly get is released at once.
func checkClientAcquireErrors(t T, s *session) {
	a := s.main()
	good := s.libClient(t, a, s.key(a))
	var f *xmlrpc.Fault
	_, err := s.libAcquire(t, a, "AcquireResources(bogus, 1)", 1, true, func(ctx context.Context) ([]clearinghouse.Vessel, error) {
		return good.AcquireResources(ctx, "bogus", 1)
	})
	if !errors.Is(err, clearinghouse.ErrInvalidRequest) || !errors.As(err, &f) || f.Code != 102 {
		s.errorf(t, "AcquireResources(bogus, 1): %v, want ErrInvalidRequest with fault 102", err)
	}
	_, err = s.libAcquire(t, a, "AcquireResources(random, 0)", 1, true, func(ctx context.Context) ([]clearinghouse.Vessel, error) {
		return good.AcquireResources(ctx, clearinghouse.Random, 0)
	})
	if !errors.Is(err, clearinghouse.ErrInvalidRequest) {
		s.errorf(t, "AcquireResources(random, 0): %v, want ErrInvalidRequest from the server", err)
	}
	if err != nil && strings.Contains(err.Error(), s.key(a)) {
		t.Error("an error message of the client library contains the API key")
	}
}

// libAcquire makes a client-library call that may give a vessels, with
// the budget's bookkeeping (see acquiring): it claims mayTake vessels of
// budget, settles the outcome, and when the call must fail
// (expectFault), gives back at once what a wrong success gave.
func (s *session) libAcquire(t T, a *acct, what string, mayTake int, expectFault bool, call func(ctx context.Context) ([]clearinghouse.Vessel, error)) ([]clearinghouse.Vessel, error) {
	t.Helper()
	done := s.claim(t, a, mayTake)
	defer done()
	vs, err := call(s.ctx(t))
	hs := make([]string, len(vs))
	for i, v := range vs {
		hs[i] = string(v.Handle)
	}
	// A local ErrInvalidArgument sent nothing; a fault changed nothing.
	known := err == nil || isFault(err) || errors.Is(err, clearinghouse.ErrInvalidArgument)
	s.settle(t, a, what, hs, err, known)
	if err == nil && expectFault {
		s.giveBack(t, a, what, hs)
	}
	s.stopCheck(t, err)
	return vs, err
}

// checkClientFlow: the client library's example flow: acquire, renew,
// list, release.
func checkClientFlow(t T, s *session) {
	a := s.main()
	c := s.libClient(t, a, s.key(a))
	vs, err := s.libAcquire(t, a, "AcquireRandom(1)", 1, false, func(ctx context.Context) ([]clearinghouse.Vessel, error) {
		return c.AcquireRandom(ctx, 1)
	})
	if err != nil {
		if errors.Is(err, clearinghouse.ErrUnableToAcquire) && !s.mock {
			s.skipf(t, "the deployment cannot satisfy random 1 now: %v", err)
		}
		s.fatalf(t, "AcquireRandom(1): %v", err)
	}
	if len(vs) != 1 {
		s.fatalf(t, "AcquireRandom(1) returned %d vessels", len(vs))
	}
	if err := c.RenewResources(s.ctx(t), clearinghouse.Handles(vs)); err != nil {
		s.fatalf(t, "RenewResources: %v", err)
	}
	held, err := c.GetResourceInfo(s.ctx(t))
	if err != nil {
		s.fatalf(t, "GetResourceInfo: %v", err)
	}
	found := false
	for _, v := range held {
		if v.Handle == vs[0].Handle {
			found = true
			if v.ExpiresIn.Seconds() > renewLease || v.ExpiresIn.Seconds() < float64(renewLease-s.slack) {
				s.errorf(t, "GetResourceInfo: the renewed vessel expires in %v", v.ExpiresIn)
			}
			if v.IsActive == nil || !*v.IsActive {
				s.errorf(t, "GetResourceInfo: IsActive %v, want true", v.IsActive)
			}
		}
	}
	if !found {
		s.errorf(t, "GetResourceInfo lacks the acquired vessel")
	}
	if err := c.ReleaseResources(s.ctx(t), clearinghouse.Handles(vs)); err != nil {
		s.fatalf(t, "ReleaseResources: %v", err)
	}
	s.disown(a, string(vs[0].Handle))
}

// checkClientAccountChanges: RegenerateAPIKey replaces the client's key;
// password failures are ErrAuthentication, a bad public key
// ErrInvalidRequest, and no error message shows the password (§12.2).
func checkClientAccountChanges(t T, s *session) {
	a := s.newAccount(t, 1)
	c := s.libClient(t, a, s.key(a))
	key, err := c.RegenerateAPIKey(s.ctx(t), a.password)
	if err != nil {
		s.fatalf(t, "RegenerateAPIKey: %v", err)
	}
	s.setKey(a, key)
	if info, err := c.GetAccountInfo(s.ctx(t)); err != nil || info.Username != a.name {
		s.errorf(t, "GetAccountInfo with the regenerated key: %v", err)
	}
	wrong := "wrong-" + a.password
	s.addPasswords(wrong)
	_, err = c.RegenerateAPIKey(s.ctx(t), wrong)
	if !errors.Is(err, clearinghouse.ErrAuthentication) {
		s.errorf(t, "RegenerateAPIKey with a wrong password: %v, want ErrAuthentication", err)
	}
	if err != nil && strings.Contains(err.Error(), wrong) {
		t.Error("the error of RegenerateAPIKey contains the password")
	}
	err = c.SetPublicKey(s.ctx(t), a.password, "not a key")
	if !errors.Is(err, clearinghouse.ErrInvalidRequest) {
		s.errorf(t, "SetPublicKey with a bad key: %v, want ErrInvalidRequest", err)
	}
	if err != nil && strings.Contains(err.Error(), a.password) {
		t.Error("the error of SetPublicKey contains the password")
	}
}

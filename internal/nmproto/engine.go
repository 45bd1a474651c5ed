package nmproto

import (
	"errors"
	"math/big"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// The node side: what a node manager decides for a request before any API
// function runs (docs/nodemanager-api.md §6), in the original's order and
// with its texts.

// The texts of the node's refusals.
const (
	TextUnknownCall             = "Unknown Call"
	TextUnknownVessel           = "Unknown Vessel"
	TextInsufficientPermissions = "Insufficient Permissions"
	TextInternalError           = "Internal Error"
	TextBadSignaturePrefix      = "Bad Signature on '"
	TextIllegalSequencePrefix   = "Illegal sequence id on '"
	TextSignatureProblemPrefix  = "Signature problem: "
)

// The reasons a "Signature problem: " reply lists, separated by spaces.
const (
	ReasonNotDestined        = "Not destined for this node"
	ReasonInvalidSequence    = "Invalid sequence transition"
	ReasonTimestampsOrder    = "Timestamps out of order"
	ReasonTimestampsMatch    = "Timestamps match"
	ReasonExpired            = "Expired signature"
	ReasonBadSignature       = "Bad signature"
	ReasonMalformed          = "Malformed signed data"
	ReasonPublicKeysMismatch = "Public keys do not match"
)

// DefaultEchoLimit is how much of a request the engine repeats in a "Bad
// Signature on '…'" or "Illegal sequence id on '…'" reply unless told
// otherwise: 8 KiB, more than a request with 4096-bit keys and no bulk
// argument needs. The original repeated all of it, uploaded file
// included.
const DefaultEchoLimit = 8 << 10

// maxKeyDigits is the number of decimal digits of a number of
// seattlersa.MaxModulusBits bits; longer key integers are not read.
const maxKeyDigits = 1234

// Access is what the engine needs to know about a vessel.
type Access struct {
	OwnerKey string   // "e n"
	UserKeys []string // "e n" each
	// OldMetadata is the trailer of the last signed request the vessel
	// accepted ("!pub!ts!exp!seq!dest!sig"), if HasOldMetadata; a new
	// vessel has none.
	OldMetadata    string
	HasOldMetadata bool
}

// Vessels looks up a vessel by name.
type Vessels interface {
	Access(vessel string) (Access, bool)
}

// VesselTable is a Vessels held in a map.
type VesselTable map[string]Access

// Access returns the entry for vessel.
func (t VesselTable) Access(vessel string) (Access, bool) {
	a, ok := t[vessel]
	return a, ok
}

// Engine decides requests for one node.
type Engine struct {
	// NodeKey is the node's identity, its public key string exactly as its
	// GetVessels Nodekey line shows it; a destination must name it. Empty
	// means no identity: only destination None is accepted.
	NodeKey string
	// Strict refuses, as a bad signature, any signature that is not
	// exactly what an original client makes (seattlersa.Verify). The
	// default is the original's lax check (seattlersa.VerifyLax).
	Strict bool
	// EchoLimit bounds the request text repeated in a reply: 0 means
	// DefaultEchoLimit, a negative value no bound (the original).
	EchoLimit int
}

// Decision is the engine's verdict on a request.
type Decision struct {
	// Call is the call named by the request (zero for an unknown one).
	Call Call
	// Dispatch is true when the API function runs with Args; otherwise
	// Reply is the node's answer.
	Dispatch bool
	Args     []string
	Reply    Reply
	// StoreMetadata is true when a signed request passed every check:
	// Metadata (its trailer) becomes the OldMetadata of Vessel. It holds
	// even when the call then fails, as the original stored it before
	// calling the API function.
	StoreMetadata bool
	Vessel        string
	Metadata      string
}

// errInternal stands for an exception the original did not catch: the
// node answers "Internal Error".
var errInternal = errors.New("nmproto: internal error")

// Decide returns the node's verdict on request (the payload of one
// message) at node time now (seconds since 1900, NTPTime), with vessels
// as the vessel table. It only reads vessels. The checks and their order
// are the original's (docs/nodemanager-api.md §6).
func (e *Engine) Decide(request string, now float64, vessels Vessels) Decision {
	name, _, _ := strings.Cut(request, "|")
	call, ok := LookupCall(name)
	if !ok {
		return refuse(Call{}, TextUnknownCall)
	}
	if call.Permission == Public {
		// Sent unsigned; any trailer stays in the last argument.
		args := strings.SplitN(request, "|", call.Args+1)[1:]
		if len(args) != call.Args {
			return refuse(call, TextInternalError)
		}
		return Decision{Call: call, Dispatch: true, Args: args}
	}
	nl := strings.LastIndexByte(request, '\n')
	if nl < 0 {
		return refuse(call, TextInternalError)
	}
	requestData, requestTrailer := request[:nl], request[nl+1:]
	parts := strings.SplitN(requestData, "|", 3)
	if len(parts) < 2 {
		return refuse(call, TextInternalError)
	}
	vessel := parts[1]
	access, ok := vessels.Access(vessel)
	if !ok {
		return refuse(call, TextUnknownVessel)
	}
	if text, err := e.check(call, request, now, access); err != nil {
		return refuse(call, TextInternalError)
	} else if text != "" {
		return refuse(call, text)
	}
	d := Decision{Call: call, StoreMetadata: true, Vessel: vessel, Metadata: requestTrailer}
	d.Args = strings.SplitN(requestData, "|", call.Args+1)[1:]
	if len(d.Args) != call.Args {
		d.Args = nil
		d.Reply = Failure(TextInternalError)
		return d
	}
	d.Dispatch = true
	return d
}

func refuse(c Call, text string) Decision {
	return Decision{Call: c, Reply: Failure(text)}
}

// signedFields are a trailer's fields as the original's signeddata_split
// reads them.
type signedFields struct {
	key      pubKey
	time     optFloat
	sequence *sequence
	dest     string // "None" stays "None"
}

type optFloat struct {
	v    float64
	none bool
}

type sequence struct {
	tag string
	n   pyInt
}

// check runs the signature checks of the original's
// ensure_is_correctly_signed. It returns the refusal text, "" when the
// request is to be trusted, or errInternal.
func (e *Engine) check(call Call, request string, now float64, access Access) (string, error) {
	bang := strings.LastIndexByte(request, '!')
	if bang < 0 {
		return "", errInternal
	}
	signedPart, signature := request[:bang], request[bang+1:]
	raw := rsplit(signedPart, '!', 5)
	if len(raw) != 6 {
		return "", errInternal
	}
	rawKey, rawExp, rawSeq := raw[1], raw[3], raw[4]

	// Expiry first: float() of the field, which must be a number.
	exp, err := ParseFloat(rawExp)
	if err != nil {
		return "", errInternal
	}
	if !(exp > now) {
		return e.echo(TextBadSignaturePrefix, request), nil
	}

	// A sequence on a vessel with no previous request must be number 0.
	if rawSeq != None {
		colon := strings.LastIndexByte(rawSeq, ':')
		if colon < 0 {
			return "", errInternal
		}
		if !access.HasOldMetadata || access.OldMetadata == "" {
			n, err := parsePyInt(rawSeq[colon+1:])
			if err != nil {
				return "", errInternal
			}
			if !n.isZero() {
				return e.echo(TextIllegalSequencePrefix, request), nil
			}
		}
	}

	// The signature.
	good, err := e.verify(rawKey, signedPart, signature)
	if err != nil {
		return "", err
	}
	if !good {
		return e.echo(TextBadSignaturePrefix, request), nil
	}

	// The trailer's fields, parsed (a bad one is an exception).
	fullSplit := rsplit(request, '!', 6)
	newFields, err := parseSignedFields(fullSplit[1], fullSplit[2], fullSplit[3], fullSplit[4], fullSplit[5])
	if err != nil {
		return "", err
	}

	// The signer must hold an allowed key.
	allowed := []string{access.OwnerKey}
	if call.Permission == User {
		allowed = append(allowed, access.UserKeys...)
	}
	if !keyIn(newFields.key, allowed) {
		return TextInsufficientPermissions, nil
	}

	// Replay, order and destination, against the vessel's last request.
	reasons, err := e.trust(newFields, access)
	if err != nil {
		return "", err
	}
	if len(reasons) > 0 {
		return TextSignatureProblemPrefix + strings.Join(reasons, " "), nil
	}
	return "", nil
}

// echo returns prefix + the request (clipped to the echo limit) + "'".
func (e *Engine) echo(prefix, request string) string {
	limit := e.EchoLimit
	if limit == 0 {
		limit = DefaultEchoLimit
	}
	if limit > 0 {
		request = textclip.Clip(request, limit)
	}
	return prefix + request + "'"
}

// verify checks the signature the way the original's
// signeddata_issignedcorrectly did: the key field must be two integers
// with e < n and every signature token an integer, or the node failed
// with an exception (errInternal); then the lax RSA check, or the strict
// one when e.Strict. Keys and tokens over the bounds of package
// seattlersa are reported as a bad signature.
func (e *Engine) verify(rawKey, signedPart, signature string) (bool, error) {
	key, err := parseKey(rawKey)
	if errors.Is(err, errTooLong) {
		return false, nil
	}
	if err != nil {
		return false, errInternal
	}
	if key.e.Cmp(key.n) >= 0 {
		return false, errInternal // "Invalid public key" from the key object
	}
	tokens, ok := longTokens(signature)
	if !ok {
		return false, errInternal
	}
	if tokens > 0 && key.e.Sign() < 0 {
		return false, errInternal // pow() with a negative exponent
	}
	if key.e.Sign() == 0 || key.n.BitLen() > seattlersa.MaxModulusBits {
		return false, nil // x^0 recovers nothing; or over the bound
	}
	pub := &seattlersa.PublicKey{E: key.e, N: key.n}
	msg := []byte(signedPart)
	switch err := seattlersa.VerifyLax(pub, msg, signature); {
	case errors.Is(err, seattlersa.ErrMalformedSignature):
		return false, errInternal
	case err != nil:
		return false, nil
	}
	if e.Strict && seattlersa.Verify(pub, msg, signature) != nil {
		return false, nil
	}
	return true, nil
}

// trust is the original's signeddata_shouldtrustmeta (or, for old
// metadata that is a whole request, signeddata_shouldtrust): the reasons
// not to trust the request, or errInternal.
func (e *Engine) trust(fresh signedFields, access Access) ([]string, error) {
	var reasons []string
	comments := e.comments(fresh)
	reasons = append(reasons, comments...)
	if !access.HasOldMetadata {
		return reasons, nil
	}
	old, err := parseOldMetadata(access.OldMetadata)
	if err != nil {
		return nil, err
	}
	reasons = append(reasons, comments...) // the original asks twice
	if !goodTransition(old.sequence, fresh.sequence) {
		reasons = append(reasons, ReasonInvalidSequence)
	}
	o, n := old.time, fresh.time
	switch {
	case (n.none && !o.none) || o.none || o.v > n.v:
		reasons = append(reasons, ReasonTimestampsOrder)
	case o.v == n.v:
		reasons = append(reasons, ReasonTimestampsMatch)
	case o.v < n.v:
	default:
		return nil, errInternal // NaN: the original's assertion fails
	}
	return reasons, nil
}

// comments is the original's signeddata_getcomments for a request whose
// signature and expiry have already passed: only the destination is left.
func (e *Engine) comments(f signedFields) []string {
	if f.dest == None {
		return nil
	}
	if e.NodeKey != "" {
		for rest := f.dest; ; {
			d, more, found := strings.Cut(rest, ":")
			if d == e.NodeKey {
				return nil
			}
			if !found {
				break
			}
			rest = more
		}
	}
	return []string{ReasonNotDestined}
}

// parseOldMetadata reads a vessel's stored trailer as the original did:
// normally "!pub!ts!exp!seq!dest!sig"; if its key does not parse, as a
// whole request (what older node managers stored).
func parseOldMetadata(meta string) (signedFields, error) {
	p := rsplit(meta, '!', 5)
	if len(p) != 6 {
		return signedFields{}, errInternal
	}
	rawKey := p[0]
	if rawKey != "" {
		rawKey = rawKey[1:]
	}
	if _, err := parseKey(rawKey); err == nil {
		return parseSignedFields(rawKey, p[1], p[2], p[3], p[4])
	}
	q := rsplit(meta, '!', 6)
	if len(q) != 7 {
		return signedFields{}, errInternal
	}
	return parseSignedFields(q[1], q[2], q[3], q[4], q[5])
}

// parseSignedFields converts trailer fields as signeddata_split does; any
// failure is an exception there.
func parseSignedFields(rawKey, rawTime, rawExp, rawSeq, rawDest string) (signedFields, error) {
	var f signedFields
	var err error
	if f.key, err = parseKey(rawKey); err != nil {
		return f, errInternal
	}
	if f.time, err = parseOptFloat(rawTime); err != nil {
		return f, errInternal
	}
	if _, err = parseOptFloat(rawExp); err != nil {
		return f, errInternal
	}
	if rawSeq != None {
		p := strings.Split(rawSeq, ":")
		if len(p) != 2 {
			return f, errInternal
		}
		n, err := parsePyInt(p[1])
		if err != nil {
			return f, errInternal
		}
		f.sequence = &sequence{tag: p[0], n: n}
	}
	f.dest = rawDest
	return f, nil
}

func parseOptFloat(s string) (optFloat, error) {
	if s == None {
		return optFloat{none: true}, nil
	}
	v, err := ParseFloat(s)
	return optFloat{v: v}, err
}

// goodTransition is the original's signeddata_has_good_sequence_transition.
func goodTransition(old, fresh *sequence) bool {
	switch {
	case fresh == nil:
		return true
	case old == nil:
		return fresh.n.isZero()
	case old.tag == fresh.tag:
		return old.n.next() == fresh.n
	default:
		return fresh.n.isZero()
	}
}

// pubKey is a public key as the original's rsa_string_to_publickey reads
// it: two integers, compared by value.
type pubKey struct{ e, n *big.Int }

// parseKey reads "e n": exactly two white-space separated integers.
// Integers with more than maxKeyDigits significant digits give errTooLong.
func parseKey(s string) (pubKey, error) {
	f, ok := fieldsAtMost(s, 2)
	if !ok || len(f) != 2 {
		return pubKey{}, errNotANumber
	}
	e, err := parsePyLong(f[0], maxKeyDigits)
	if err != nil {
		return pubKey{}, err
	}
	n, err := parsePyLong(f[1], maxKeyDigits)
	if err != nil {
		return pubKey{}, err
	}
	return pubKey{e, n}, nil
}

// keyIn reports whether k equals (by value) one of the keys in list; a
// list entry that does not parse matches nothing.
func keyIn(k pubKey, list []string) bool {
	for _, s := range list {
		if o, err := parseKey(s); err == nil && o.e.Cmp(k.e) == 0 && o.n.Cmp(k.n) == 0 {
			return true
		}
	}
	return false
}

// SameKey reports whether a and b are the same public key by value, as
// the node compares them ("65537 0123" is "65537 123"). Strings that are
// not keys are never the same.
func SameKey(a, b string) bool {
	k, err := parseKey(a)
	return err == nil && keyIn(k, []string{b})
}
